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

"""PeriodicRunner: the service's periodic timer.

It owns what a tick is in seconds: ticks fall on a drift-free grid of
``periodic_interval``, and between two ticks the timer also wakes for each
spacing task at its own time. It knows whether a pass is running, reports
a pass that stalls, holds back a reload until the pass ends, and saves the
tasks' views for ``novalite-manage task list`` after each pass.
"""

import functools
import math
import threading

from oslo_log import log as logging

from novalite import concurrency
from novalite import loopingcall
from novalite.periodic import render

LOG = logging.getLogger(__name__)

#: Seconds the timer waits when it wakes while an action held back for
#: the pass runs (a reload, say), before it tries the pass again.
ACTION_RETRY_SECONDS = 0.05


class PeriodicRunner:
    """Runs a TaskSet's passes on a timer.

    :param tasks: the manager's TaskSet.
    :param context: the context each task is called with.
    :param interval: seconds per tick (``periodic_interval``).
    :param clock: the clock seam.
    :param stall_threshold: seconds of a pass after which (and after each
        further threshold) the stall is logged.
    :param run_tick: called with the context and ``raise_on_error`` for a
        pass that is a tick (the manager's ``periodic_tasks``, so that a
        manager that overrides it is honoured); ``tasks.run_pass`` by
        default.
    :param run_spacing: likewise between ticks (the manager's
        ``run_due_spacing_tasks``).
    :param store: called with the rows of ``periodic_task_stats`` after a
        pass in which a task ran or a schedule changed; may raise, and is
        then called again after the next pass.
    """

    def __init__(self, tasks, context, interval, clock, stall_threshold,
                 store=None, run_tick=None, run_spacing=None):
        self.tasks = tasks
        self._run_tick = run_tick or tasks.run_pass
        self._run_spacing = run_spacing or functools.partial(
            tasks.run_pass, tick=False)
        self.context = context
        self.interval = interval
        self.clock = clock
        self.stall_threshold = stall_threshold
        self._store = store
        self.timer = None
        self._next_tick_at = None
        #: Monotonic time of the next pass, once the timer has started.
        self.next_pass_at = None
        self._pass_started = None
        self._stall_reported = 0
        self._after_pass = []
        self._acting = False
        #: Guards the pass's start and end against ``when_idle``, which a
        #: signal's thread calls while the runner's thread may be starting
        #: or ending a pass (native threads; under eventlet nothing
        #: switches in between).
        self._guard = threading.Lock()
        self._saved = None

    # The timer --------------------------------------------------------------

    def start(self, initial_delay):
        """Start the timer; the first pass (a tick) in ``initial_delay``."""
        self.log_schedule(initial_delay)
        self.tasks.stopping = False
        self.next_pass_at = self.clock.monotonic() + initial_delay
        self.timer = loopingcall.DynamicLoopingCall(self.run_pass)
        self.timer.clock = self.clock
        self.timer.start(initial_delay=initial_delay,
                         periodic_interval_max=self.interval,
                         stop_on_exception=False)
        return self.timer

    def stop(self, graceful_timeout):
        """Stop the timer; let a running pass finish within
        ``graceful_timeout`` seconds (0: wait for it), then abandon it."""
        if self.timer is None:
            return
        self.tasks.stopping = True
        self.timer.stop()
        deadline = self.clock.monotonic() + (graceful_timeout or 0)
        try:
            self.timer.wait(graceful_timeout or None)
        except BaseException as exc:  # a killed or failed timer ended
            LOG.debug("Periodic timer ended with %r", exc)
        if not self.timer.ended:
            LOG.warning("A periodic task was still running after %g s; "
                        "abandoning it", graceful_timeout)
            self.timer.kill()
        for name, run in self.tasks.abandoned_runs().items():
            left = (max(deadline - self.clock.monotonic(), 0.001)
                    if graceful_timeout else None)
            if not concurrency.wait_at_most(run, left):
                LOG.warning("The run of periodic task %s abandoned at its "
                            "timeout still runs; it ends with the process",
                            name)

    def run_pass(self, raise_on_error=False):
        """One wake-up of the timer: a tick if its time has come, else the
        spacing tasks that are due.

        :returns: seconds until the next tick or spacing task.
        """
        clock = self.clock
        now = clock.monotonic()
        with self._guard:
            if self._acting:
                return ACTION_RETRY_SECONDS
            self._pass_started = now
        if self._next_tick_at is None:
            self._next_tick_at = now
        self._stall_reported = 0
        try:
            if now >= self._next_tick_at:
                idle = self._run_tick(self.context, raise_on_error)
                behind = clock.monotonic() - self._next_tick_at
                self._next_tick_at += (math.floor(behind / self.interval)
                                      + 1) * self.interval
            else:
                idle = self._run_spacing(self.context, raise_on_error)
        except Exception:
            self._end_pass()
            raise
        except BaseException:
            # Abandoned (killed at stop): nothing more may wait on it.
            self._pass_started = None
            raise
        self._end_pass()
        now = clock.monotonic()
        wait = max(min(idle, self._next_tick_at - now), 0.0)
        self.next_pass_at = now + wait
        return wait

    def _end_pass(self):
        """Carry out what waited for the pass, then save the views; the
        pass counts as running until both are done, and until nothing more
        waits."""
        with self._guard:
            self._acting = True
        try:
            while True:
                while True:
                    with self._guard:
                        if not self._after_pass:
                            break
                        action, what = self._after_pass.pop(0)
                    self._carry_out(action, what)
                self.save_stats()
                with self._guard:
                    if not self._after_pass:
                        self._acting = False
                        self._pass_started = None
                        return
        except BaseException:
            with self._guard:
                self._acting = False
                self._pass_started = None
            raise

    @staticmethod
    def _carry_out(action, what):
        try:
            action()
        except Exception:
            LOG.exception("What waited for the periodic pass failed (%s)",
                          what)

    # While a pass runs ------------------------------------------------------

    def when_idle(self, action, what):
        """Call ``action()`` now, or when the running pass ends, so that a
        task never sees its settings or its manager change under it; no
        pass starts while the action runs, even if it yields.

        :param what: what the action does, for the log lines.
        """
        with self._guard:
            idle = self._pass_started is None and not self._acting
            if idle:
                self._acting = True
            else:
                self._after_pass.append((action, what))
        if idle:
            try:
                self._carry_out(action, what)
            finally:
                self._run_queued_then_rest()
            return
        LOG.info("A periodic pass is running (%s); %s when it ends",
                 self.tasks.current_task or "between tasks", what)

    def _run_queued_then_rest(self):
        """After an action run outside a pass: carry out what another
        thread queued meanwhile, then let passes start again."""
        while True:
            with self._guard:
                if not self._after_pass:
                    self._acting = False
                    return
                action, what = self._after_pass.pop(0)
            self._carry_out(action, what)

    def check_stall(self):
        """Log when the running pass has taken another threshold's time."""
        started = self._pass_started
        if started is None:
            return
        stalled = self.clock.monotonic() - started
        threshold = self.stall_threshold
        if stalled >= (self._stall_reported + 1) * threshold:
            self._stall_reported = int(stalled // threshold)
            LOG.warning("periodic loop stalled for %g s (running: %s)",
                        round(stalled, 1),
                        self.tasks.current_task or "between tasks")

    # Settings and views -----------------------------------------------------

    def apply(self, settings_by_task, announce=True):
        """Give each task its effective settings; log what changed."""
        for name, settings in settings_by_task.items():
            if self.tasks.configure(name, settings) and announce:
                LOG.info("Periodic task %s.%s is now: %s", self.tasks.owner,
                         name, render.schedule(settings, self.interval))

    @property
    def tick_seconds(self):
        return self.interval

    @property
    def next_tick_at(self):
        """Monotonic time of the next tick, once the timer has started."""
        if self._next_tick_at is None:
            return self.next_pass_at  # the first pass is a tick
        return self._next_tick_at

    def views(self):
        """The tasks' TaskViews, which know their next runs in time."""
        return self.tasks.views(timing=self)

    def log_schedule(self, first_delay):
        """Log, once, when every task runs."""
        LOG.info("Periodic timer: a tick every %g s, first tick in %.1f s",
                 self.interval, first_delay)
        for view in self.views():
            LOG.info("Periodic task %s: %s", view.full_name, view.schedule)

    def forget_saved_stats(self):
        """Save the views after the next pass even if nothing changed (the
        rows saved before are gone)."""
        self._saved = None

    def save_stats(self):
        """Hand the views to ``store`` when a task ran or a schedule
        changed. A failing store only delays it to the next pass."""
        if self._store is None:
            return
        views = self.views()
        signature = [(view.name, view.schedule, view.runs) for view in views]
        if signature == self._saved:
            return
        rows = [{"task": view.name, "schedule": view.schedule,
                 "runs": view.runs, "failures": view.failures,
                 "timeouts": view.timeouts, "last_start": view.last_start,
                 "last_duration": view.last_duration,
                 "next_due": view.next_run, "last_error": view.last_error}
                for view in views]
        try:
            self._store(rows)
        except Exception as exc:
            LOG.debug("Task statistics not saved this time: %s", exc)
        else:
            self._saved = signature
