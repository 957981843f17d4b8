# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Service: runs a manager with its heartbeat and periodic timers.

``Service.start()`` readies the database (and, with a ``transport_url``,
checks that the broker answers), then follows nova's order:
``init_host()``, the ``services`` row, ``pre_start_hook()``, the RPC
server, the heartbeat timer, the periodic timer (at the host's phase of
the fuzzy delay), ``post_start_hook()``, then systemd's ``READY=1``.
``serve()`` and ``wait()`` run it under signals (``novalite.launcher``).

The service composes its parts and gives them one life cycle: the
manager, the heartbeat (``novalite.heartbeat``), the periodic runner
(``novalite.periodic.runner``) and, on a message bus, the RPC server that
consumes on ``<topic>``, ``<topic>.<host>`` and the topic's fanout, with
the manager and ``BaseRPCAPI`` as endpoints (``novalite.rpc``).
"""

import functools
import hashlib
import os
import sys

from oslo_log import log as oslo_logging
from oslo_utils import importutils

from novalite import baserpc
from novalite import concurrency
from novalite import conf as novalite_conf
from novalite import config
from novalite import context
from novalite.db import api as db_api
from novalite.db import file_guard
from novalite.db import migration
from novalite import exception
from novalite import heartbeat
from novalite import launcher
from novalite.periodic import runner
from novalite.periodic import sections
from novalite import rpc
from novalite import systemd
from novalite import version

LOG = oslo_logging.getLogger(__name__)
CONF = novalite_conf.CONF

#: The options naming the manager of each novalite service: one config
#: file may tune the periodic tasks of all of them.
FLEET_MANAGER_OPTIONS = ("compute_manager", "scheduler_manager")

#: Seconds a stopping service waits for its broker connections to close
#: once graceful_shutdown_timeout is spent (a broker that stopped answering
#: would hold them for a minute).
TRANSPORT_CLOSE_SECONDS = 5.0


class Service:
    """A manager on one host, kept alive in the database by a heartbeat.

    Attributes the service does not have are looked up on its manager.
    """

    def __init__(self, host, binary, topic, manager, report_interval=None,
                 periodic_enable=None, periodic_interval=None,
                 periodic_fuzzy_delay=None, *, conf=None, db=None,
                 clock=None, transport=None):
        self.conf = conf if conf is not None else CONF
        self.host = host
        self.binary = binary
        self.topic = topic
        self.manager_class_name = manager
        self._clock = clock if clock is not None else concurrency.CLOCK
        self.db = db if db is not None else db_api.Database.from_conf(
            self.conf)
        self._owns_transport = (transport is None
                                and rpc.is_configured(self.conf))
        if self._owns_transport:
            transport = rpc.get_transport(self.conf)
        self.transport = transport
        self.rpcserver = None
        try:
            manager_class = importutils.import_class(manager)
        except (ImportError, ValueError) as exc:
            raise exception.InvalidManager(name=manager, reason=exc)
        self.manager = manager_class(host=host, service_name=topic,
                                     conf=self.conf, clock=self._clock,
                                     db=self.db, transport=self.transport)
        self.report_interval = report_interval
        self.periodic_enable = periodic_enable
        self.periodic_interval = periodic_interval
        self.periodic_fuzzy_delay = periodic_fuzzy_delay
        self.service_id = None
        #: True from the moment start() has finished its work (just before
        #: READY=1) until stop() begins.
        self.ready = False
        self.heartbeat = heartbeat.Heartbeat(self)
        self.periodic_runner = runner.PeriodicRunner(
            self.manager.periodic, context.get_admin_context(),
            periodic_interval, self._clock,
            self.conf.periodic_stall_threshold,
            store=functools.partial(self.db.task_stats_save, host, binary),
            run_tick=self.manager.periodic_tasks,
            run_spacing=self.manager.run_due_spacing_tasks)
        self.timers = []
        #: Config names of the other services' tasks (their sections may
        #: share this service's files).
        self.fleet_tasks = frozenset()
        self._watchdog = None
        self._database_file = file_guard.FileGuard(self.db.engine)
        self._reopening = False

    def __getattr__(self, key):
        manager = self.__dict__.get("manager")
        if manager is None:
            raise AttributeError(key)
        return getattr(manager, key)

    @classmethod
    def create(cls, host=None, binary=None, topic=None, manager=None,
               report_interval=None, periodic_enable=None,
               periodic_interval=None, periodic_fuzzy_delay=None, *,
               conf=None, db=None, clock=None, transport=None):
        """A Service with what is not given taken from the configuration.

        :param binary: defaults to the program's name (``novalite-compute``).
        :param topic: defaults to the binary without ``novalite-``.
        :param manager: defaults to the option ``<name>_manager``, the name
            being the binary without ``novalite-``, as nova did: a topic
            configured apart (``compute_topic``) runs the same manager.
        """
        conf = conf if conf is not None else CONF
        binary = binary or os.path.basename(sys.argv[0])
        name = binary.rpartition("novalite-")[2]
        topic = topic or name
        if manager is None:
            option = "%s_manager" % name
            if option not in conf:
                raise exception.InvalidManager(
                    name=option, reason="no such option: which manager runs "
                    "%s is unknown" % binary)
            manager = conf[option]

        def given(value, option):
            return value if value is not None else conf[option]

        service = cls(host or conf.host, binary, topic, manager,
                      given(report_interval, "report_interval"),
                      given(periodic_enable, "periodic_enable"),
                      given(periodic_interval, "periodic_interval"),
                      given(periodic_fuzzy_delay, "periodic_fuzzy_delay"),
                      conf=conf, db=db, clock=clock, transport=transport)
        service.fleet_tasks = sections.fleet_task_names(conf, [
            option for option in FLEET_MANAGER_OPTIONS
            if option != "%s_manager" % name])
        service.periodic_runner.apply(sections.effective_settings(
            service.manager.periodic, config.config_files(conf),
            service.fleet_tasks), announce=False)
        return service

    # Start and stop ---------------------------------------------------------

    def start(self):
        LOG.info("Starting %(topic)s node %(host)s (version %(version)s)",
                 {"topic": self.topic, "host": self.host,
                  "version": version.version_info.version_string()})
        migration.prepare(self.db.engine)
        self._database_file.remember()
        if self.transport is not None:
            rpc.probe(self.conf)
        self.heartbeat.refuse_a_live_twin()
        self.manager.init_host()
        self.service_id = self.db.service_get_or_create(
            self.host, self.binary, self.topic,
            self.manager.target.version).id
        self.manager.pre_start_hook()
        self._start_consuming()
        self._watchdog = systemd.watchdog_interval()
        if self._watchdog and self.report_interval * 2 > self._watchdog:
            LOG.warning("report_interval (%g s) is more than half of "
                        "systemd's WatchdogSec (%g s): systemd may kill a "
                        "healthy service", self.report_interval,
                        self._watchdog)
        if self.report_interval:
            self.timers += self.heartbeat.start(self.report_interval,
                                                self._heartbeat_delay())
        if self.periodic_enable:
            self.timers.append(self.periodic_runner.start(
                self.periodic_fuzzy_delay * self.phase))
        self.manager.post_start_hook()
        self.ready = True
        systemd.ready("%s running on %s" % (self.binary, self.host))
        LOG.info("%(binary)s on %(host)s is ready (%(backend)s, "
                 "%(database)s database, %(bus)s)",
                 {"binary": self.binary, "host": self.host,
                  "backend": concurrency.BACKEND,
                  "database": self.db.engine.url.get_backend_name(),
                  "bus": rpc.describe(self.conf)})

    def _start_consuming(self):
        if self.transport is None:
            return
        target = rpc.Target(topic=self.topic, server=self.host)
        self.rpcserver = rpc.get_server(
            self.transport, target,
            [self.manager, baserpc.BaseRPCAPI(self)])
        self.rpcserver.start()
        LOG.debug("Consuming on %(topic)s, %(topic)s.%(host)s and the "
                  "%(topic)s fanout", {"topic": self.topic,
                                       "host": self.host})

    @property
    def phase(self):
        """This host's place in [0, 1), the same at every start.

        Hosts restarted together start their heartbeats and first periodic
        passes at their own phase of the interval instead of all at once:
        nova's heartbeats started one interval after start and stayed in
        step forever, and its random fuzzy delay clumps as randomness does.
        """
        return host_phase(self.host, self.binary)

    def _heartbeat_delay(self):
        return self.report_interval * (1 + self.phase)

    def stop(self, graceful_timeout=None):
        """Stop the timers and the consuming at once, then let a running
        task and the RPC calls in flight finish, within one budget.

        oslo.messaging's ``stop()`` cancels the consumers at once but waits
        for its poll loop to notice (up to 5 s on idle queues, longer while
        it backs off from a broker that is gone), and closing the
        transport can wait on a broker that stopped answering: both go on
        in threads (greenthreads) of their own, waited for only as long as the
        budget allows (the transport gets ``TRANSPORT_CLOSE_SECONDS`` more
        once it is spent), so that a stop never outlasts systemd's
        ``TimeoutStopSec``.

        :param graceful_timeout: seconds the task and the calls may still
            take, together; ``graceful_shutdown_timeout`` by default, 0
            waits forever.
        """
        self.ready = False
        systemd.stopping()
        for timer in self.timers:
            timer.stop()
        consuming = (concurrency.spawn(self.rpcserver.stop)
                     if self.rpcserver is not None else None)
        if graceful_timeout is None:
            graceful_timeout = self.conf.graceful_shutdown_timeout
        deadline = self._clock.monotonic() + graceful_timeout

        def left():
            if not graceful_timeout:
                return None
            return max(deadline - self._clock.monotonic(), 0.001)

        self.periodic_runner.stop(graceful_timeout)
        if consuming is not None and self._finished(
                consuming, left(), "stop consuming"):
            self._finished(concurrency.spawn(self.rpcserver.wait), left(),
                           "let the RPC calls in flight finish")
        self.heartbeat.close()
        if self.service_id is not None:
            self.heartbeat.note_clean_stop()
        self.manager.cleanup_host()
        if self._owns_transport:
            self._finished(
                concurrency.spawn(self.transport.cleanup),
                None if left() is None else max(left(),
                                                 TRANSPORT_CLOSE_SECONDS),
                "close its connections to the broker")
        LOG.info("Stopped %s on %s", self.binary, self.host)

    def _finished(self, thread, timeout, what):
        """Whether a spawned ``thread`` ended within ``timeout`` s (None:
        forever); if not, say so and leave it."""
        try:
            if concurrency.wait_at_most(thread, timeout):
                return True
        except Exception:
            LOG.exception("%s could not %s", self.binary, what)
            return True
        LOG.warning("%s did not %s within graceful_shutdown_timeout (%g s); "
                    "stopping without waiting longer", self.binary, what,
                    self.conf.graceful_shutdown_timeout)
        return False

    def kill(self):
        """Stop, then delete the service's row, as nova's kill() did."""
        self.stop()
        try:
            if self.service_id is not None:
                self.db.service_destroy(self.service_id)
        except Exception:
            LOG.exception("Could not delete the service row of %s on %s",
                          self.binary, self.host)

    def wait(self):
        for timer in self.timers:
            self._wait_for(timer)

    @staticmethod
    def _wait_for(timer):
        try:
            timer.wait()
        except BaseException as exc:  # a killed or failed timer has ended
            LOG.debug("Timer ended with %r", exc)

    # Timers ----------------------------------------------------------------

    def periodic_tasks(self, raise_on_error=False):
        """One wake-up of the periodic timer (``PeriodicRunner.run_pass``).

        :returns: seconds until the next tick or spacing task.
        """
        return self.periodic_runner.run_pass(raise_on_error)

    @property
    def clock(self):
        return self._clock

    @property
    def model_disconnected(self):
        """True while the heartbeat cannot reach the database."""
        return self.heartbeat.model_disconnected

    def report_state(self):
        """One heartbeat from the event loop (nova's name for it)."""
        self.heartbeat.report_state()

    def event_loop_ran(self):
        """The heartbeat saw the event loop run: report a stalled periodic
        pass, and tell systemd's watchdog."""
        if self._watchdog:
            systemd.watchdog()
        self.periodic_runner.check_stall()
        self._reopen_a_lost_database_file()

    def _reopen_a_lost_database_file(self):
        """If the SQLite file was deleted, replaced or truncated under the
        service, say so loudly and start again on the file now at its path
        (migrated afresh if it is new), instead of writing on into a file
        nobody can see. Done between periodic passes, when no task holds
        a connection to the lost file."""
        what = self._database_file.changed()
        if what is None or self._reopening:
            return
        self._reopening = True
        LOG.error("The SQLite database %s was %s while %s ran; reopening "
                  "it (what was written since is lost)",
                  self._database_file.path, what, self.binary)
        concurrency.spawn(self.periodic_runner.when_idle,
                           functools.partial(self._reopen_database, what),
                           "the database is reopened")

    def _reopen_database(self, what):
        moved = self._database_file.set_aside(what)
        if moved:
            LOG.warning("The truncated SQLite file is kept as %s", moved)
        self.db.dispose()
        try:
            migration.prepare(self.db.engine)
        except Exception:
            LOG.exception("Could not recreate the SQLite database %s; "
                          "trying again at the next heartbeat",
                          self._database_file.path)
        else:
            self._database_file.remember()
            self.periodic_runner.forget_saved_stats()
            LOG.warning("Reopened the SQLite database %s",
                        self._database_file.path)
        finally:
            self._reopening = False

    # Configuration ----------------------------------------------------------

    def reset(self):
        """Re-read the configuration files and apply them (SIGHUP).

        Every file and task section is checked before anything changes;
        then oslo.config applies the mutable options, and once no periodic
        pass is running the tasks get their new settings and the manager's
        ``reset()`` is called.

        :raises ConfigError: and nothing has changed.
        """
        files = config.config_files(self.conf)
        config.check_files(files, self.conf)
        settings = sections.effective_settings(self.manager.periodic, files,
                                               self.fleet_tasks)
        self.conf.mutate_config_files()

        def apply():
            self.periodic_runner.apply(settings)
            self.manager.periodic.set_run_external(
                self.conf.run_external_periodic_tasks)
            self.manager.reset()
            self.periodic_runner.save_stats()

        self.periodic_runner.when_idle(apply, "the new settings apply")


def host_phase(host, binary):
    """A place in [0, 1) for ``binary`` on ``host``: a hash of both, so the
    same after every restart and spread evenly over many hosts."""
    digest = hashlib.sha256(("%s:%s" % (host, binary)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


_launcher = None


def serve(service, conf=None):
    """Start ``service`` under signal handling; once per process."""
    global _launcher
    if _launcher is not None:
        raise RuntimeError("serve() can only be called once")
    _launcher = launcher.Launcher(service, conf)
    _launcher.start()


def wait():
    """Wait until the served service is stopped; return the exit status."""
    return _launcher.wait()
