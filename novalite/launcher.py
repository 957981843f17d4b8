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


"""Run one service under signals until it is told to stop."""

import os
import signal
import threading

from oslo_log import log as logging

from novalite import concurrency
from novalite import conf as novalite_conf
from novalite import config
from novalite import early_signals
from novalite import reports
from novalite import systemd

LOG = logging.getLogger(__name__)
CONF = novalite_conf.CONF


class Launcher:
    """Runs one service until SIGTERM or SIGINT.

    Signal handlers do nothing but wake the hub: Python writes each
    signal's number to a pipe (``signal.set_wakeup_fd``), and one
    greenthread reads the pipe and acts. So a signal never interrupts a
    task halfway, every sleep wakes at once, and a burst of SIGHUPs is
    read in one go and served by one reload.

    * SIGTERM, SIGINT: stop gracefully; ``wait()`` returns 0.
    * SIGHUP: ``service.reset()``, which re-reads and applies the service's
      own configuration; a bad file changes nothing.
    * SIGUSR2: write a Guru Meditation Report to stderr (or ``log_dir``).

    Signals are served from before ``service.start()``. SIGTERM or SIGINT
    during start-up (a database that does not answer, say) ends the
    process at once with status 0, as before the launcher existed
    (``novalite.early_signals``): a start-up cut anywhere is what the next
    start reconciles, like a crash, while interrupting it at an arbitrary
    point would leave half-started parts to stop. A SIGHUP during
    start-up, or held by ``early_signals`` before the launcher existed, is
    applied once start-up is done; a held SIGUSR2 writes its report then.
    """

    STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
    HANDLED = STOP_SIGNALS + (signal.SIGHUP, signal.SIGUSR2)

    def __init__(self, service, conf=None):
        self.service = service
        self.conf = conf if conf is not None else CONF
        self._stopped = concurrency.new_event()
        self._read_fd = self._write_fd = None
        self._previous_handlers = {}
        self._previous_wakeup_fd = -1
        self._starting = False
        self._reload_when_started = False
        #: On native threads the signals are served while start() runs:
        #: a SIGHUP is either deferred before start() has returned, or
        #: served after, never lost in between.
        self._start_guard = threading.Lock()

    def start(self):
        """Start the service with its signals served."""
        self._install_signal_handlers()
        reports.register(self.service.periodic_runner)
        self._starting = True
        concurrency.spawn(self._serve_signals)
        try:
            self.service.start()
        finally:
            with self._start_guard:
                self._starting = False
                reload_now = self._reload_when_started
        if reload_now and not self._stopped.ready():
            self.reload()

    def wait(self):
        """Block until a stop signal; stop the service; return 0."""
        name = self._stopped.wait()
        LOG.info("Caught %s, stopping %s", name, self.service.binary)
        self.service.stop()
        self.service.wait()
        self._restore_signal_handlers()
        return 0

    def _install_signal_handlers(self):
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write_fd)
        for signum in self.HANDLED:
            self._previous_handlers[signum] = signal.signal(
                signum, _wake_only)
        held = early_signals.take()
        if held:
            os.write(self._write_fd, bytes(held))

    def _restore_signal_handlers(self):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        os.close(self._read_fd)
        os.close(self._write_fd)

    def _serve_signals(self):
        while True:
            concurrency.wait_readable(self._read_fd)
            try:
                received = set(os.read(self._read_fd, 4096))
            except BlockingIOError:
                continue
            for signum in self.STOP_SIGNALS:
                if signum in received:
                    name = signal.Signals(signum).name
                    if not self.service.ready:
                        LOG.info("Caught %s during start-up; exiting at "
                                 "once", name)
                        early_signals.exit_now(signum, when="during start-up")
                    self._stopped.send(name)
                    return
            if signal.SIGHUP in received:
                with self._start_guard:
                    defer = self._starting
                    if defer:
                        self._reload_when_started = True
                if not defer:
                    self.reload()
            if signal.SIGUSR2 in received:
                try:
                    reports.write(self.service.binary, self.conf.log_dir)
                except Exception:
                    LOG.exception("Could not write the Guru Meditation "
                                  "Report")

    def reload(self):
        """Re-read the configuration; keep the running one if it is bad."""
        systemd.reloading()
        LOG.info("Caught SIGHUP, reloading the configuration")
        problem = None
        try:
            self.service.reset()
        except config.ConfigError as exc:
            problem = exc
        except Exception:
            LOG.exception("Reload failed; the previous configuration stays "
                          "in force")
        if problem is not None:
            # Said outside the except block: oslo.log would add the
            # exception's text again to an ERROR logged inside one.
            LOG.error("Configuration not reloaded, the previous one stays "
                      "in force: %s", problem)
        systemd.ready()


def _wake_only(signum, frame):
    """Python writes the signal to the wakeup pipe; nothing else to do."""
