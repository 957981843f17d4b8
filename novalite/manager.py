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

"""Managers: the objects a Service runs, and their periodic tasks.

A manager declares periodic tasks with ``@periodic_task``; ``ManagerMeta``
collects them per class; each instance schedules them on its own
``TaskSchedule``; the service calls ``periodic_tasks()`` once per tick.

Faithful to nova's seed (``_periodic_tasks``, ``_ticks_to_skip``, the
countdown and its log lines), with its long-standing bugs fixed: the empty
call ``@periodic_task()`` works, a subclass override replaces its parent's
task instead of running twice, and countdowns belong to instances.
"""

import logging as std_logging

from oslo_log import log as logging

from novalite import conf
from novalite import exception
from novalite import greenthreads
from novalite.scheduler import rpcapi as scheduler_rpcapi
from novalite import task_schedule

LOG = logging.getLogger(__name__)
CONF = conf.CONF


def periodic_task(_function=None, *, ticks_between_runs=None, spacing=None,
                  run_immediately=False, enabled=True,
                  external_process_ok=False, name=None, timeout=0):
    """Mark a manager method as a periodic task.

    Usable bare (``@periodic_task``) or called, with keyword arguments only.
    It records the settings on the function and nothing else: no clock and
    no option is read here, so importing a module fixes no interval.

    :param ticks_between_runs: ticks skipped between two runs; the task
        first runs on tick N+1, then every N+1 ticks.
    :param spacing: seconds between runs instead; 0 runs every tick and a
        negative value disables the task. Excludes ``ticks_between_runs``.
    :param run_immediately: run at the first pass instead of after a
        full spacing or countdown.
    :param enabled: False keeps the task declared but never run.
    :param external_process_ok: the task may run in an external process
        instead; it runs here only if ``run_external_periodic_tasks``.
    :param name: the task's name; the method's name by default.
    :param timeout: seconds after which a run is interrupted; 0: never.
    :raises InvalidPeriodicTask: for bad or conflicting arguments, when the
        class is defined.
    """
    settings = task_schedule.TaskSettings(
        spacing=spacing, ticks_between_runs=ticks_between_runs,
        run_immediately=run_immediately, enabled=enabled, timeout=timeout,
        external_process_ok=external_process_ok)

    def decorator(function):
        task_name = name if name is not None else function.__name__
        settings.check(task_name)
        task_schedule.check_task_name(task_name)
        function._periodic_task = True
        function._periodic_name = task_name
        function._periodic_settings = settings
        function._ticks_between_runs = settings.ticks
        function._periodic_spacing = spacing
        function._periodic_run_immediately = run_immediately
        function._periodic_enabled = enabled
        function._periodic_external_ok = external_process_ok
        function._periodic_timeout = timeout
        return function

    if _function is not None:
        if not callable(_function):
            raise exception.InvalidPeriodicTask(
                name=repr(_function),
                reason="periodic_task takes keyword arguments only")
        return decorator(_function)
    return decorator


class ManagerMeta(type):
    """Collect each class's periodic tasks into ``_periodic_tasks``.

    Every class gets its own copy of its parent's list and
    ``_ticks_to_skip`` dict, so defining a subclass never changes the
    parent. A decorated method with the name of an inherited task replaces
    that entry in place: the task keeps its position and runs once.
    """

    def __init__(cls, names, bases, dict_):
        super().__init__(names, bases, dict_)
        tasks = list(getattr(cls, "_periodic_tasks", ()))
        ticks_to_skip = dict(getattr(cls, "_ticks_to_skip", {}))
        for value in dict_.values():
            if not getattr(value, "_periodic_task", False):
                continue
            name = value._periodic_name
            entry = (name, value)
            for index, (old_name, old_function) in enumerate(tasks):
                if (old_name == name
                        or old_function.__name__ == value.__name__):
                    ticks_to_skip.pop(old_name, None)
                    tasks[index] = entry
                    break
            else:
                tasks.append(entry)
            ticks_to_skip[name] = value._ticks_between_runs
        seen = {}
        for name, _function in tasks:
            key = task_schedule.config_name(name)
            if key in seen:
                raise exception.DuplicatePeriodicTask(name=name,
                                                      owner=cls.__name__)
            seen[key] = name
        cls._periodic_tasks = tasks
        cls._ticks_to_skip = ticks_to_skip


class Manager(metaclass=ManagerMeta):
    """Base class of the managers a Service runs.

    :param host: this host's name; ``CONF.host`` by default.
    :param service_name: the service this manager belongs to.
    :param conf: the configuration to read; the global CONF by default.
    :param clock: the clock seam (monotonic, time, wait, deadline).
    :param db: the Database the manager may use; the service hands its own.
    """

    def __init__(self, host=None, service_name="undefined", *, conf=None,
                 clock=None, db=None):
        self.conf = conf if conf is not None else CONF
        self.db = db
        self.host = host if host is not None else self.conf.host
        self.service_name = service_name
        self._clock = clock if clock is not None else greenthreads.CLOCK
        #: The full name of the task running now, or None.
        self.current_task = None
        self._schedule = task_schedule.TaskSchedule(
            type(self).__name__,
            run_external=self.conf.run_external_periodic_tasks)
        for name, function in self._periodic_tasks:
            # Bound through getattr so that a plain (undecorated) override
            # in a subclass runs with the task's inherited schedule.
            self._schedule.add(name, getattr(self, function.__name__),
                               function._periodic_settings)

    # Periodic tasks ---------------------------------------------------------

    def periodic_tasks(self, context, raise_on_error=False):
        """Run one tick: the tick tasks whose countdown ended and the
        spacing tasks whose time has come.

        An exception in one task is logged and the other tasks still run,
        unless ``raise_on_error`` is true.

        :returns: seconds until the next spacing task is due (inf if none).
        """
        return self._run_due_tasks(context, raise_on_error, tick=True)

    def run_due_spacing_tasks(self, context, raise_on_error=False):
        """Run the spacing tasks due now without counting a tick.

        The service calls this between ticks, so that a spacing task runs
        at its own spacing rather than at the next tick after it.

        :returns: as ``periodic_tasks``.
        """
        return self._run_due_tasks(context, raise_on_error, tick=False)

    def _run_due_tasks(self, context, raise_on_error, tick):
        clock = self._clock
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
                if debug:
                    LOG.debug("Running periodic task %s", state.full_name)
                now = self._run_task(state, context, raise_on_error, now)
        finally:
            schedule.finish_pass()
        return schedule.seconds_until_next_due(clock.monotonic())

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
                with self._clock.deadline(timeout, expired):
                    state.method(context)
            else:
                state.method(context)
        except exception.PeriodicTaskTimedOut as exc:
            if exc is not expired:
                raise
            timed_out = True
        except Exception as exc:
            error = exc
        finally:
            self.current_task = None
        end = self._clock.monotonic()
        self._schedule.record_run(state, start, end, error, timed_out)
        if timed_out:
            LOG.error("Periodic task %s timed out after %g s and was "
                      "interrupted", state.full_name, timeout)
        elif error is not None:
            if raise_on_error:
                raise error
            LOG.error("Error during %s: %s", state.full_name, error,
                      exc_info=error)
        return end

    def add_periodic_task(self, task):
        """Add a task to this instance only; the class and other instances
        keep their tasks.

        :param task: a callable decorated with ``@periodic_task``, called
            with the context on each run.
        :raises InvalidPeriodicTask: if ``task`` is not decorated.
        :raises DuplicatePeriodicTask: if the name is taken.
        """
        if not getattr(task, "_periodic_task", False):
            raise exception.InvalidPeriodicTask(
                name=getattr(task, "__name__", repr(task)),
                reason="decorate it with @periodic_task first")
        self._schedule.add(task._periodic_name, task, task._periodic_settings)

    def periodic_task_settings(self, name):
        """The effective TaskSettings of a task (by name or config name)."""
        return self._schedule.get(name).settings

    def default_periodic_task_settings(self, name):
        """The TaskSettings the task was declared with."""
        return self._schedule.get(name).default_settings

    def configure_periodic_task(self, name, settings):
        """Apply new TaskSettings to one task of this instance.

        Unchanged settings change nothing, so re-applying a reloaded
        configuration leaves countdowns and grids where they were.
        """
        self._schedule.configure(name, settings)

    def set_run_external_periodic_tasks(self, run_external):
        self._schedule.set_run_external(run_external)

    def periodic_task_stats(self):
        """Each task's schedule and record, as a list of plain dicts.

        Keys: name, full_name, spacing, ticks_between_runs, run_immediately,
        enabled, disabled_reason, timeout, runs, failures (timeouts
        included), timeouts, last_start, last_duration, last_error, next_due
        (spacing tasks) and ticks_until_next_run (tick tasks). Times are
        wall-clock epoch seconds.
        """
        return self._schedule.stats(self._clock.monotonic(),
                                    self._clock.time())

    # Hooks ------------------------------------------------------------------

    def init_host(self):
        """Prepare the host before the service starts serving.

        Called once, before the service record exists. Child classes
        override this to reconcile their view of the host (nova's compute
        manager resumes and cleans up instances here).
        """

    def pre_start_hook(self):
        """Called after the service record exists, before any timer starts.

        Child classes override this for work that needs the service record
        but must finish before periodic tasks run.
        """

    def post_start_hook(self):
        """Called after every timer has started, just before READY.

        Child classes override this for work that must follow start-up.
        """

    def cleanup_host(self):
        """Called once when the service stops, after its timers stopped.

        Child classes override this to release what init_host took.
        """

    def reset(self):
        """Called on SIGHUP, after the configuration was re-read.

        Child classes override this to drop caches and reload what they
        built from options.
        """


class SchedulerDependentManager(Manager):
    """A manager whose host capabilities the scheduler depends on.

    The subclass reports its capabilities with
    ``update_service_capabilities``; every tick the last capabilities are
    published to the scheduler API.
    """

    def __init__(self, host=None, service_name="undefined", **kwargs):
        self.last_capabilities = None
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()
        super().__init__(host, service_name, **kwargs)

    def update_service_capabilities(self, capabilities):
        """Remember ``capabilities`` to publish at the next tick."""
        self.last_capabilities = capabilities

    @periodic_task
    def _publish_service_capabilities(self, context):
        """Send the last capabilities, if any, to the scheduler API."""
        if self.last_capabilities:
            LOG.debug("Notifying schedulers of capabilities ...")
            self.scheduler_rpcapi.update_service_capabilities(
                context, self.service_name, self.host, self.last_capabilities)
