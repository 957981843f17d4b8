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

"""TaskSet: the periodic tasks of one manager instance, and a pass over them.

A pass runs the tasks that are due, in declaration order, each under its
``timeout``; an error is logged and the other due tasks still run. Every
run is recorded in the schedule, which also decides when the task is next
due. Plain Python: waiting and deadlines go through the clock seam.
"""

import logging as std_logging

from oslo_log import log as logging

from novalite import exception
from novalite.periodic import schedule as task_schedule
from novalite.periodic import view as task_view

LOG = logging.getLogger("novalite.manager")


class TaskSet:
    """The tasks of one manager, their schedule and their record.

    :param owner: the class name used in ``<Class>.<task>`` log names.
    :param clock: the clock seam (monotonic, time, wait, deadline).
    :param run_external: run tasks marked ``external_process_ok`` here.
    """

    def __init__(self, owner, clock, run_external=True):
        self.owner = owner
        self.clock = clock
        self._schedule = task_schedule.TaskSchedule(owner, run_external)
        #: The full name of the task running now, or None.
        self.current_task = None
        #: task name -> its run left behind at its timeout by a backend
        #: whose deadlines cannot interrupt (native threads).
        self._abandoned = {}
        #: Set when the service stops: a pass then starts no further task.
        self.stopping = False

    def __len__(self):
        return len(self._schedule)

    @property
    def run_external(self):
        return self._schedule.run_external

    def add(self, name, method, settings):
        """Schedule ``method(context)`` as task ``name``.

        :raises InvalidPeriodicTask: for unsound settings.
        :raises DuplicatePeriodicTask: if the name is taken.
        """
        self._schedule.add(name, method, settings)

    def settings(self, name):
        """The effective TaskSettings of a task (by name or config name).

        :raises PeriodicTaskNotFound: if there is no such task.
        """
        return self._schedule.get(name).settings

    def declared(self):
        """``{task name: the TaskSettings it was declared with}``."""
        return {state.name: state.default_settings
                for state in self._schedule}

    def configure(self, name, settings):
        """Give one task new settings; return True if they changed.

        Unchanged settings change nothing, so re-applying a reloaded
        configuration leaves countdowns and grids where they were.
        """
        state = self._schedule.get(name)
        if state.settings == settings:
            return False
        self._schedule.configure(name, settings)
        return True

    def set_run_external(self, run_external):
        self._schedule.set_run_external(run_external)

    def views(self, timing=None):
        """One TaskView per task, in declaration order (see TaskView for
        ``timing``)."""
        return [task_view.TaskView(state, self._schedule, self.clock, timing)
                for state in self._schedule]

    def seconds_until_next_due(self):
        """Seconds until the next spacing task is due; inf if none is."""
        return self._schedule.seconds_until_next_due(self.clock.monotonic())

    def run_pass(self, context, raise_on_error=False, tick=True):
        """Run the due tasks: with ``tick``, count a tick and run the tick
        tasks whose countdown ended too.

        :returns: seconds until the next spacing task is due (inf if none).
        """
        clock = self.clock
        schedule = self._schedule
        now = clock.monotonic()
        due = schedule.pop_due(now, tick)
        debug = LOG.isEnabledFor(std_logging.DEBUG)
        if debug and tick:
            for state, ticks_left in schedule.waiting_tick_tasks():
                LOG.debug("Skipping %s, %d ticks left until next run",
                          state.full_name, ticks_left)
        try:
            for state in due:
                if self.stopping:
                    break  # the tasks not run stay due (finish_pass)
                if self._still_inside(state):
                    schedule.record_skip(state, now)
                    continue
                if debug:
                    LOG.debug("Running periodic task %s", state.full_name)
                now = self._run_task(state, context, raise_on_error, now)
        finally:
            schedule.finish_pass()
        return schedule.seconds_until_next_due(clock.monotonic())

    def abandoned_runs(self):
        """``{full task name: run}`` of the runs abandoned at their
        timeout that have not ended."""
        return {self._schedule.get(name).full_name: run
                for name, run in self._abandoned.items() if not run.ready()}

    def _still_inside(self, state):
        """Whether the task's run abandoned at its timeout still runs: then
        it is not started again, so that two copies never run at once."""
        run = self._abandoned.get(state.name)
        if run is None:
            return False
        if not run.ready():
            LOG.warning("Periodic task %s is still inside the run abandoned "
                        "at its timeout; not started again until it ends",
                        state.full_name)
            return True
        del self._abandoned[state.name]
        LOG.info("The run of periodic task %s abandoned at its timeout has "
                 "ended", state.full_name)
        return False

    def _run_task(self, state, context, raise_on_error, start):
        """Run one task, record it and return the monotonic end time."""
        error = expired = None
        timed_out = False
        timeout = state.settings.timeout
        self.current_task = state.full_name
        try:
            if timeout:
                expired = exception.PeriodicTaskTimedOut(state.full_name,
                                                         timeout)
                self.clock.call_within(timeout, expired, state.method,
                                       context)
            else:
                state.method(context)
        except exception.PeriodicTaskTimedOut as exc:
            if exc is not expired:
                raise
            timed_out = True
            if exc.abandoned_run is not None:
                self._abandoned[state.name] = exc.abandoned_run
        except Exception as exc:
            error = exc
        finally:
            self.current_task = None
        end = self.clock.monotonic()
        failing_runs = state.failing_runs
        self._schedule.record_run(state, start, end, error, timed_out)
        if timed_out:
            LOG.error("Periodic task %s timed out after %g s and was %s",
                      state.full_name, timeout,
                      "interrupted" if expired.abandoned_run is None else
                      "abandoned (it runs on in its thread, and is not "
                      "started again until it ends)")
        elif error is not None:
            if raise_on_error:
                raise error
            self._log_error(state, error)
        elif failing_runs:
            LOG.info("Periodic task %s ran without error again, after %d "
                     "failed run(s) (last: %s)", state.full_name,
                     failing_runs, state.last_error)
        return end

    @staticmethod
    def _log_error(state, error):
        """The traceback at the first failure and when the error changes;
        then one line with the count, so that a task failing every run (a
        database gone for an hour) does not fill the disk with the same
        traceback."""
        repeats = state.same_error_runs
        if repeats == 1:
            LOG.error("Error during %s: %s", state.full_name, error,
                      exc_info=error)
        else:
            LOG.error("Error during %s: %s (the same error %d times in a "
                      "row; its traceback was logged the first time)",
                      state.full_name, error, repeats)
