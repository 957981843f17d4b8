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

"""TaskView: what one periodic task is doing, read-only.

Like futurist's ``periodics.Watcher``, a view reads its task's live state
on each access and cannot change it. Every consumer (the start-up log, the
statistics saved for ``novalite-manage task list``, the Guru Meditation
report, tests) reads the same view instead of joining dicts by name.
"""

from novalite.periodic import render


class TaskView:
    """The settings, record and next run of one task.

    :param timing: what the service's runner knows and a bare manager
        does not, read on each access: ``next_pass_at`` and
        ``next_tick_at`` (monotonic seconds, or None) and ``tick_seconds``.
        Without it a tick task's next run is known in ticks only, and a
        spacing task that waits for its first pass has no next run yet.
    """

    __slots__ = ("_state", "_schedule", "_clock", "_timing")

    def __init__(self, state, schedule, clock, timing=None):
        self._state = state
        self._schedule = schedule
        self._clock = clock
        self._timing = timing

    def _wall(self, monotonic):
        clock = self._clock
        return render.utc(monotonic + clock.time() - clock.monotonic())

    def __repr__(self):
        return "<TaskView %s: %s, %d runs>" % (self.full_name, self.schedule,
                                               self.runs)

    name = property(lambda self: self._state.name)
    full_name = property(lambda self: self._state.full_name,
                         doc="``<Class>.<task>``, as the log names it")
    settings = property(lambda self: self._state.settings,
                        doc="the effective TaskSettings")
    default_settings = property(lambda self: self._state.default_settings,
                                doc="the TaskSettings it was declared with")
    enabled = property(lambda self: self._state.active,
                       doc="False while disabled or left to another process")
    disabled_reason = property(lambda self: self._state.inactive_reason)
    runs = property(lambda self: self._state.runs)
    failures = property(lambda self: self._state.failures,
                        doc="failed runs, timeouts included")
    timeouts = property(lambda self: self._state.timeouts)
    last_duration = property(lambda self: self._state.last_duration,
                             doc="seconds the last run took")
    last_error = property(lambda self: self._state.last_error)
    failing_runs = property(lambda self: self._state.failing_runs,
                            doc="failed runs in a row up to the last run")

    @property
    def schedule(self):
        """The schedule as people read it (``render.schedule``)."""
        return render.schedule(self.settings, self._timing and
                               self._timing.tick_seconds)

    @property
    def last_start(self):
        """When the last run started, a naive UTC datetime, or None."""
        start = self._state.last_start
        return None if start is None else self._wall(start)

    @property
    def ticks_until_next_run(self):
        """For an enabled tick task: 1 means the next tick. Else None."""
        state = self._state
        if not state.active or not state.settings.is_tick_task:
            return None
        return self._schedule.ticks_left(state)

    @property
    def waits_for_first_pass(self):
        """True for an enabled spacing task whose grid is not anchored
        yet: it is anchored at the next pass, and first runs then (with
        ``run_immediately``) or one spacing later."""
        state = self._state
        return (state.active and not state.settings.is_tick_task
                and state.anchor is None)

    @property
    def next_run(self):
        """When the task next runs, a naive UTC datetime; None if it is
        disabled or the time is not known (see ``timing``)."""
        state = self._state
        timing = self._timing
        if not state.active:
            return None
        settings = state.settings
        if settings.is_tick_task:
            if timing is None or timing.next_tick_at is None:
                return None
            due = timing.next_tick_at + max(
                self.ticks_until_next_run - 1, 0) * timing.tick_seconds
        elif state.anchor is None:
            if timing is None or timing.next_pass_at is None:
                return None
            due = timing.next_pass_at + (
                0 if settings.run_immediately else settings.spacing)
        else:
            due = state.due
        return self._wall(due)

    @property
    def next_run_text(self):
        """``next_run`` for people, with what is known when it is not."""
        when = self.next_run
        if when is not None:
            return render.timestamp(when)
        if self.ticks_until_next_run is not None:
            return "in %d tick(s)" % self.ticks_until_next_run
        if self.waits_for_first_pass:
            return ("at the first pass" if self.settings.run_immediately
                    else "%g s after the first pass" % self.settings.spacing)
        return "-"
