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

"""When each periodic task of one manager is due: plain Python, no eventlet.

Two kinds of task share one schedule:

* tick tasks run every (N+1)th tick, N being ``ticks_between_runs``, exactly
  as nova's ``_ticks_to_skip`` countdown did;
* spacing tasks run on a grid ``anchor + k * spacing`` of monotonic time, so
  a late run never pushes the next one back and an overrun skips the slots
  it covered instead of bursting through them.

Both wait in heaps, so a tick where nothing is due costs a couple of heap
peeks, whatever the number of tasks. Entries made stale by reconfiguration
stay in the heaps and are dropped when they surface (a token tells).
"""

import heapq
import math
import operator

from novalite import exception
from novalite.periodic import settings as task_settings
_by_order = operator.attrgetter("order")
_order_of_entry = operator.itemgetter(1)


def _pop_until(heap, limit, popped):
    """Move the live entries due at ``limit`` from ``heap`` to ``popped``.

    Pops one by one while few are due; once many are (a pass where most
    tasks run), one linear partition and a heapify beat k log n pops.
    """
    many = max(len(heap) >> 3, 64)
    taken = 0
    while heap and heap[0][0] <= limit:
        if taken == many:
            rest = []
            for entry in heap:
                if entry[0] > limit:
                    rest.append(entry)
                elif entry[2] == entry[3].token:
                    popped.append(entry)
            heap[:] = rest
            heapq.heapify(heap)
            return
        entry = heapq.heappop(heap)
        if entry[2] == entry[3].token:
            popped.append(entry)
        taken += 1


class TaskState:
    """One task of one manager instance: its settings, place and record."""

    __slots__ = ("name", "full_name", "method", "order", "settings",
                 "default_settings",
                 "active", "inactive_reason", "anchor", "due", "token",
                 "runs", "failures", "timeouts", "last_start",
                 "last_duration", "last_error", "failing_runs",
                 "same_error_runs")

    def __init__(self, name, full_name, method, order, settings):
        self.name = name
        self.full_name = full_name
        self.method = method
        self.order = order
        self.settings = settings
        self.default_settings = settings
        self.active = False
        self.inactive_reason = None
        self.anchor = None
        self.due = None
        self.token = 0
        self.runs = 0
        self.failures = 0
        self.timeouts = 0
        self.last_start = None
        self.last_duration = None
        self.last_error = None
        self.failing_runs = 0
        self.same_error_runs = 0


class TaskSchedule:
    """The tasks of one manager and when each is next due.

    :param owner: the class name used in ``<Class>.<task>`` log names.
    :param run_external: whether tasks marked ``external_process_ok`` run
        here (the ``run_external_periodic_tasks`` option).
    """

    def __init__(self, owner, run_external=True):
        self.owner = owner
        self.run_external = run_external
        self.tick = 0
        self._tasks = {}
        self._tick_heap = []
        self._spacing_heap = []
        self._unanchored = []
        self._requeue_ticks = []
        self._requeue_spacing = []
        self._popped = []
        self._next_order = 0

    def __iter__(self):
        return iter(sorted(self._tasks.values(), key=_by_order))

    def __len__(self):
        return len(self._tasks)

    def get(self, name):
        """The task called ``name``; its config name also finds it."""
        state = self._tasks.get(name)
        if state is None:
            for candidate in self._tasks.values():
                if task_settings.config_name(candidate.name) == name:
                    return candidate
            raise exception.PeriodicTaskNotFound(owner=self.owner, name=name)
        return state

    def add(self, name, method, settings):
        settings.check(name)
        key = task_settings.config_name(name)
        for existing in self._tasks.values():
            if task_settings.config_name(existing.name) == key:
                raise exception.DuplicatePeriodicTask(name=name,
                                                      owner=self.owner)
        state = TaskState(name, "%s.%s" % (self.owner, name), method,
                          self._next_order, settings)
        self._next_order += 1
        self._tasks[name] = state
        self._activate(state)
        return state

    def configure(self, name, settings):
        """Give a task new settings, keeping its grid and its record.

        A spacing task keeps its anchor, so it is next due at the first
        point of the new grid after its last run: shortening a long spacing
        makes an overdue task run at the next pass, not after a full wait.
        """
        state = self.get(name)
        settings.check(state.name)
        old = state.settings
        if settings == old:
            return state
        state.settings = settings
        keeps_grid = (state.active and state.anchor is not None
                      and self._inactive_reason(settings) is None
                      and not old.is_tick_task and not settings.is_tick_task)
        if keeps_grid:
            last_end = (None if state.last_start is None
                        else state.last_start + state.last_duration)
            self._place_on_grid(state, last_end)
        else:
            self._activate(state)
        return state

    def set_run_external(self, run_external):
        if run_external == self.run_external:
            return
        self.run_external = run_external
        for state in self._tasks.values():
            if state.settings.external_process_ok:
                self._activate(state)

    def _activate(self, state):
        """(Re)enter a task into the schedule as if it were new."""
        state.token += 1
        state.anchor = state.due = None
        settings = state.settings
        reason = self._inactive_reason(settings)
        state.active = reason is None
        state.inactive_reason = reason
        if reason is not None:
            return
        if settings.is_tick_task:
            wait = 1 if settings.run_immediately else settings.ticks + 1
            self._push_tick(state, self.tick + wait)
        else:
            self._unanchored.append((state, state.token))

    def _inactive_reason(self, settings):
        if not settings.enabled:
            return "disabled"
        if settings.spacing is not None and settings.spacing < 0:
            return "disabled by a negative spacing"
        if settings.external_process_ok and not self.run_external:
            return "left to an external process"
        return None

    def _push_tick(self, state, due_tick):
        state.due = due_tick
        heapq.heappush(self._tick_heap,
                       (due_tick, state.order, state.token, state))

    def _push_spacing(self, state, due):
        state.due = due
        heapq.heappush(self._spacing_heap,
                       (due, state.order, state.token, state))

    def _place_on_grid(self, state, after):
        """Next due at the first grid point later than ``after``."""
        state.token += 1
        spacing = state.settings.spacing
        if after is None:
            slots = 0 if state.settings.run_immediately else 1
        else:
            slots = math.floor((after - state.anchor) / spacing) + 1
        self._push_spacing(state, state.anchor + max(slots, 0) * spacing)

    def _anchor_new(self, now):
        for state, token in self._unanchored:
            if state.token == token:
                state.anchor = now
                self._place_on_grid(state, None)
        self._unanchored.clear()

    def pop_due(self, now, tick):
        """Remove and return the tasks due now, in declaration order.

        Call ``finish_pass()`` when the pass ends, however it ends.

        :param tick: count this pass as a tick; tick tasks run only then.
        """
        if self._unanchored:
            self._anchor_new(now)
        popped = self._popped
        if tick:
            self.tick += 1
            _pop_until(self._tick_heap, self.tick, popped)
        _pop_until(self._spacing_heap, now, popped)
        if len(popped) > 1:
            popped.sort(key=_order_of_entry)
        return [entry[3] for entry in popped]

    def finish_pass(self):
        """Requeue the tasks that ran.

        A task popped but not run, because an exception cut the pass
        short, goes back as it was: still due, its countdown untouched.
        """
        for entry in self._popped:
            state = entry[3]
            if entry[2] == state.token:
                heap = (self._tick_heap if state.settings.is_tick_task
                        else self._spacing_heap)
                heapq.heappush(heap, entry)
        self._popped.clear()
        self.requeue()

    def waiting_tick_tasks(self):
        """``(state, ticks_left)`` for each active tick task not due."""
        for state in self:
            if (state.active and state.settings.is_tick_task
                    and state.due > self.tick):
                yield state, state.due - self.tick

    def record_run(self, state, start, end, error=None, timed_out=False):
        """Count a finished run and work out when the task is next due.

        The task re-enters its heap at the next ``requeue()``, once per
        pass, which is much cheaper than one push per run when most tasks
        ran.
        """
        state.runs += 1
        state.last_start = start
        state.last_duration = end - start
        if timed_out or error is not None:
            message = ("timed out after %g s" % state.settings.timeout
                       if timed_out else
                       "%s: %s" % (type(error).__name__, error))
            if state.failing_runs and message == state.last_error:
                state.same_error_runs += 1
            else:
                state.same_error_runs = 1
            state.failures += 1
            state.failing_runs += 1
            state.timeouts += timed_out
            state.last_error = message
        else:
            state.failing_runs = state.same_error_runs = 0
        self._reschedule(state, end)

    def record_skip(self, state, now):
        """A due task that was not started (its last run, abandoned at its
        timeout, is still inside it): due again as if it had run, not
        counted as a run."""
        self._reschedule(state, now)

    def _reschedule(self, state, end):
        """Work out when the task that ended at ``end`` is next due."""
        if not state.active:
            return
        settings = state.settings
        token = state.token = state.token + 1
        if settings.is_tick_task:
            due = state.due = self.tick + settings.ticks + 1
            self._requeue_ticks.append((due, state.order, token, state))
        else:
            spacing = settings.spacing
            anchor = state.anchor
            due = state.due = anchor + (
                ((end - anchor) // spacing) + 1) * spacing
            self._requeue_spacing.append((due, state.order, token, state))

    def requeue(self):
        """Put the tasks that ran back into their heaps."""
        for heap, pending in ((self._tick_heap, self._requeue_ticks),
                              (self._spacing_heap, self._requeue_spacing)):
            if not pending:
                continue
            if len(pending) > len(heap) // 4:
                heap.extend(pending)
                heapq.heapify(heap)
            else:
                for entry in pending:
                    heapq.heappush(heap, entry)
            pending.clear()

    def seconds_until_next_due(self, now):
        """Seconds until the next spacing task is due; inf if there is none
        (0 while a new spacing task waits for the pass that anchors it).

        Tick tasks are not counted: they run when the caller ticks.
        """
        self.requeue()
        if self._unanchored:
            return 0.0
        heap = self._spacing_heap
        while heap and heap[0][2] != heap[0][3].token:
            heapq.heappop(heap)
        if not heap:
            return math.inf
        return max(heap[0][0] - now, 0.0)

    def ticks_left(self, state):
        """Ticks until an active tick task next runs (1: the next tick)."""
        return max(state.due - self.tick, 0)
