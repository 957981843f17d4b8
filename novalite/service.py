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

``Service.start()`` readies the database, then follows nova's order:
``init_host()``, the ``services`` row, ``pre_start_hook()``, the heartbeat
timer, the periodic timer (at the host's phase of the fuzzy delay),
``post_start_hook()``, then systemd's ``READY=1``.
``serve()`` and ``wait()`` run it under signals (``novalite.launcher``).
"""

import datetime
import hashlib
import math
import os
import sys

import eventlet
from oslo_log import log as oslo_logging
from oslo_utils import importutils

from novalite import conf as novalite_conf
from novalite import config
from novalite import context
from novalite.db import api as db_api
from novalite.db import migration
from novalite import exception
from novalite import greenthreads
from novalite import heartbeat
from novalite import launcher
from novalite import loopingcall
from novalite import systemd
from novalite import version

LOG = oslo_logging.getLogger(__name__)
CONF = novalite_conf.CONF


class Service:
    """A manager on one host, kept alive in the database by a heartbeat.

    Attributes the service does not have are looked up on its manager.
    """

    def __init__(self, host, binary, topic, manager, report_interval=None,
                 periodic_enable=None, periodic_interval=None,
                 periodic_fuzzy_delay=None, *, conf=None, db=None,
                 clock=None):
        self.conf = conf if conf is not None else CONF
        self.host = host
        self.binary = binary
        self.topic = topic
        self.manager_class_name = manager
        self._clock = clock if clock is not None else greenthreads.CLOCK
        self.db = db if db is not None else db_api.Database.from_conf(
            self.conf)
        try:
            manager_class = importutils.import_class(manager)
        except (ImportError, ValueError) as exc:
            raise exception.InvalidManager(name=manager, reason=exc)
        self.manager = manager_class(host=host, service_name=topic,
                                     conf=self.conf, clock=self._clock,
                                     db=self.db)
        self.report_interval = report_interval
        self.periodic_enable = periodic_enable
        self.periodic_interval = periodic_interval
        self.periodic_fuzzy_delay = periodic_fuzzy_delay
        self.service_id = None
        self.heartbeat = heartbeat.Heartbeat(self)
        self.timers = []
        self._periodic = None
        self._next_tick = None
        self._saved_stats = None
        self._watchdog = None
        self._pass_started = None
        self._pending_reload = None
        self._stall_reported = 0
        self._context = context.get_admin_context()

    def __getattr__(self, key):
        manager = self.__dict__.get("manager")
        if manager is None:
            raise AttributeError(key)
        return getattr(manager, key)

    @classmethod
    def create(cls, host=None, binary=None, topic=None, manager=None,
               report_interval=None, periodic_enable=None,
               periodic_interval=None, periodic_fuzzy_delay=None, *,
               conf=None, db=None, clock=None):
        """A Service with what is not given taken from the configuration.

        :param binary: defaults to the program's name (``novalite-compute``).
        :param topic: defaults to the binary without ``novalite-``.
        :param manager: defaults to the option ``<topic>_manager``.
        """
        conf = conf if conf is not None else CONF
        binary = binary or os.path.basename(sys.argv[0])
        topic = topic or binary.rpartition("novalite-")[2]
        if manager is None:
            option = "%s_manager" % topic
            if option not in conf:
                raise exception.InvalidManager(
                    name=option, reason="no such option: which manager runs "
                    "topic %r is unknown" % topic)
            manager = conf[option]

        def given(value, option):
            return value if value is not None else conf[option]

        service = cls(host or conf.host, binary, topic, manager,
                      given(report_interval, "report_interval"),
                      given(periodic_enable, "periodic_enable"),
                      given(periodic_interval, "periodic_interval"),
                      given(periodic_fuzzy_delay, "periodic_fuzzy_delay"),
                      conf=conf, db=db, clock=clock)
        service.apply_task_settings(
            config.task_settings(service.manager, config.config_files(conf)),
            announce=False)
        return service

    # Start and stop ---------------------------------------------------------

    def start(self):
        LOG.info("Starting %(topic)s node %(host)s (version %(version)s)",
                 {"topic": self.topic, "host": self.host,
                  "version": version.version_info.version_string()})
        migration.prepare(self.db.engine)
        self.manager.init_host()
        self.service_id = self.db.service_get_or_create(
            self.host, self.binary, self.topic).id
        self.manager.pre_start_hook()
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
            delay = self.periodic_fuzzy_delay * self.phase
            self.log_schedule(delay)
            self._periodic = loopingcall.DynamicLoopingCall(
                self.periodic_tasks)
            self._periodic.clock = self._clock
            self._periodic.start(initial_delay=delay,
                                 periodic_interval_max=self.periodic_interval,
                                 stop_on_exception=False)
            self.timers.append(self._periodic)
        self.manager.post_start_hook()
        systemd.ready("%s running on %s" % (self.binary, self.host))

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
        """Stop the timers and let a running task finish.

        :param graceful_timeout: seconds the running task may still take;
            ``graceful_shutdown_timeout`` by default, 0 waits forever.
        """
        systemd.stopping()
        for timer in self.timers:
            timer.stop()
        if graceful_timeout is None:
            graceful_timeout = self.conf.graceful_shutdown_timeout
        if self._periodic is not None:
            with eventlet.Timeout(graceful_timeout or None, False):
                self._wait_for(self._periodic)
            if not self._periodic.ended:
                LOG.warning("A periodic task was still running after %g s; "
                            "abandoning it", graceful_timeout)
                self._periodic.kill()
        self.heartbeat.close()
        self.manager.cleanup_host()
        LOG.info("Stopped %s on %s", self.binary, self.host)

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
        """One wake-up of the periodic timer.

        Ticks fall on a grid of ``periodic_interval``; between two ticks
        the timer also wakes for each spacing task at its own time.

        :returns: seconds until the next tick or spacing task.
        """
        clock = self._clock
        now = clock.monotonic()
        interval = self.periodic_interval
        if self._next_tick is None:
            self._next_tick = now
        self._pass_started = now
        self._stall_reported = 0
        try:
            if now >= self._next_tick:
                idle = self.manager.periodic_tasks(self._context,
                                                   raise_on_error)
                behind = clock.monotonic() - self._next_tick
                self._next_tick += (math.floor(behind / interval) + 1
                                    ) * interval
            else:
                idle = self.manager.run_due_spacing_tasks(self._context,
                                                          raise_on_error)
        finally:
            self._pass_started = None
            if self._pending_reload is not None:
                pending, self._pending_reload = self._pending_reload, None
                self.reload(pending)
            self.save_task_stats()
        return max(min(idle, self._next_tick - clock.monotonic()), 0.0)

    def save_task_stats(self):
        """Write the tasks' statistics to ``periodic_task_stats`` when
        a task ran or a schedule changed, for ``novalite-manage task
        list``. A database outage only delays it."""
        rows = []
        for row in self.manager.periodic_task_stats():
            settings = self.manager.periodic_task_settings(row["name"])
            next_due = row["next_due"]
            if row["ticks_until_next_run"] is not None and (
                    self._next_tick is not None):
                next_due = self._clock.time() + max(
                    self._next_tick - self._clock.monotonic(), 0) + (
                    row["ticks_until_next_run"] - 1) * self.periodic_interval
            rows.append({
                "task": row["name"], "schedule": self._describe(settings),
                "runs": row["runs"], "failures": row["failures"],
                "timeouts": row["timeouts"],
                "last_start": _to_datetime(row["last_start"]),
                "last_duration": row["last_duration"],
                "next_due": _to_datetime(next_due),
                "last_error": row["last_error"],
            })
        signature = [(r["task"], r["schedule"], r["runs"]) for r in rows]
        if signature == self._saved_stats:
            return
        try:
            self.db.task_stats_save(self.host, self.binary, rows)
        except Exception as exc:
            LOG.debug("Task statistics not saved this time: %s", exc)
        else:
            self._saved_stats = signature

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
        self._check_periodic_stall()
        if self._watchdog:
            systemd.watchdog()

    def _check_periodic_stall(self):
        """Log when the running pass has taken another threshold's time."""
        started = self._pass_started
        if started is None:
            return
        threshold = self.conf.periodic_stall_threshold
        stalled = self._clock.monotonic() - started
        if stalled >= (self._stall_reported + 1) * threshold:
            self._stall_reported = int(stalled // threshold)
            LOG.warning("periodic loop stalled for %g s (running: %s)",
                        round(stalled, 1),
                        self.manager.current_task or "between tasks")

    # Configuration ----------------------------------------------------------

    def apply_task_settings(self, settings_by_task, announce=True):
        """Give each task its effective settings; log what changed."""
        for name, settings in settings_by_task.items():
            if self.manager.periodic_task_settings(name) != settings:
                self.manager.configure_periodic_task(name, settings)
                if announce:
                    LOG.info("Periodic task %s is now: %s",
                             self._full_name(name), self._describe(settings))

    def reload(self, settings_by_task):
        """Apply a re-read configuration (SIGHUP), then reset the manager.

        During a periodic pass this waits for the pass to end, so that a
        task never sees its settings or its manager change under it.
        """
        if self._pass_started is not None:
            LOG.info("A periodic pass is running (%s); the new settings "
                     "apply when it ends",
                     self.manager.current_task or "between tasks")
            self._pending_reload = settings_by_task
            return
        self.apply_task_settings(settings_by_task)
        self.manager.set_run_external_periodic_tasks(
            self.conf.run_external_periodic_tasks)
        self.manager.reset()
        self.save_task_stats()

    def log_schedule(self, first_delay=None):
        """Log, once, when every task runs."""
        LOG.info("Periodic timer: a tick every %g s, first tick in %.1f s",
                 self.periodic_interval, first_delay or 0)
        for row in self.manager.periodic_task_stats():
            settings = self.manager.periodic_task_settings(row["name"])
            LOG.info("Periodic task %s: %s", row["full_name"],
                     self._describe(settings))

    def _full_name(self, name):
        return "%s.%s" % (type(self.manager).__name__, name)

    def _describe(self, settings):
        text = settings.describe()
        if settings.enabled and settings.is_tick_task and not (
                settings.spacing is not None and settings.spacing < 0):
            text += " (%g s)" % ((settings.ticks + 1) * self.periodic_interval)
        return text


def host_phase(host, binary):
    """A place in [0, 1) for ``binary`` on ``host``: a hash of both, so the
    same after every restart and spread evenly over many hosts."""
    digest = hashlib.sha256(("%s:%s" % (host, binary)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def _to_datetime(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).replace(tzinfo=None)


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
