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

"""Manager.periodic_tasks: countdown, grid, errors, timeouts, statistics."""

import datetime
import functools

import pytest

from novalite import exception
from novalite import manager
from novalite.periodic import render
from novalite.periodic import settings as task_settings


def make_manager(clock, **task_kwargs_by_name):
    """A manager with one recording task per keyword: name=decorator kwargs.

    Each task records the fake time of its runs in ``manager.runs[name]``,
    then calls ``manager.work[name]()`` if a test gave it work to do.
    """
    namespace = {}
    for name, kwargs in task_kwargs_by_name.items():
        def task(self, context, _name=name):
            self.runs[_name].append(self._clock.monotonic())
            self.work.get(_name, lambda: None)()
        task.__name__ = name
        namespace[name] = manager.periodic_task(**kwargs)(task)

    cls = type("Recorder", (manager.Manager,), namespace)
    instance = cls(host="host1", clock=clock)
    instance.runs = {name: [] for name in task_kwargs_by_name}
    instance.work = {}
    return instance


def views(mgr):
    return {view.name: view for view in mgr.periodic_task_views()}


def wall(clock, monotonic):
    """A fake monotonic time as the naive UTC datetime a view shows."""
    return render.utc(monotonic + clock.time() - clock.monotonic())


@pytest.mark.parametrize("ticks", [0, 1, 2, 3, 4, 5])
def test_countdown_matches_the_seed(clock, ticks):
    mgr = make_manager(clock, task={"ticks_between_runs": ticks})
    ran_on = []
    for call in range(1, 4 * (ticks + 1) + 1):
        before = len(mgr.runs["task"])
        mgr.periodic_tasks(None)
        if len(mgr.runs["task"]) > before:
            ran_on.append(call)
    period = ticks + 1
    assert ran_on == [period, 2 * period, 3 * period, 4 * period]


def test_countdown_logs_the_seed_lines(clock, debug_log):
    mgr = make_manager(clock, task={"ticks_between_runs": 2})
    for _ in range(3):
        mgr.periodic_tasks(None)
    messages = [r.getMessage() for r in debug_log.records]
    assert messages.count("Skipping Recorder.task, 2 ticks left until "
                          "next run") == 1
    assert messages.count("Skipping Recorder.task, 1 ticks left until "
                          "next run") == 1
    assert messages.count("Running periodic task Recorder.task") == 1


def test_run_immediately_tick_task_runs_first_then_counts_down(clock):
    mgr = make_manager(clock, task={"ticks_between_runs": 2,
                                    "run_immediately": True})
    ran = []
    for call in range(1, 8):
        before = len(mgr.runs["task"])
        mgr.periodic_tasks(None)
        if len(mgr.runs["task"]) > before:
            ran.append(call)
    assert ran == [1, 4, 7]


def test_tasks_of_one_tick_run_in_declaration_order(clock):
    order = []

    class Ordered(manager.Manager):
        @manager.periodic_task(spacing=5, run_immediately=True)
        def zeta(self, context):
            order.append("zeta")

        @manager.periodic_task
        def alpha(self, context):
            order.append("alpha")

    Ordered(host="h", clock=clock).periodic_tasks(None)
    assert order == ["zeta", "alpha"]


def test_spacing_task_first_runs_after_one_spacing(clock):
    mgr = make_manager(clock, task={"spacing": 10})
    start = clock.now
    mgr.periodic_tasks(None)
    assert mgr.runs["task"] == []
    clock.advance(9.9)
    mgr.periodic_tasks(None)
    assert mgr.runs["task"] == []
    clock.advance(0.1)
    mgr.periodic_tasks(None)
    assert mgr.runs["task"] == [start + 10]


def test_spacing_grid_is_not_pushed_back_by_late_runs(clock):
    mgr = make_manager(clock, task={"spacing": 10, "run_immediately": True})
    start = clock.now
    mgr.periodic_tasks(None)
    for late in (3, 7, 1, 9.5):
        clock.now = start + 10 * (len(mgr.runs["task"])) + late
        mgr.periodic_tasks(None)
    slots = [round(t - start, 6) for t in mgr.runs["task"]]
    assert slots == [0, 13, 27, 31, 49.5]
    assert views(mgr)["task"].next_run == wall(clock, start + 50)


def test_overrun_skips_covered_slots_without_a_burst(clock):
    mgr = make_manager(clock, slow={"spacing": 10, "run_immediately": True})
    start = clock.now
    mgr.work["slow"] = functools.partial(clock.advance, 35)
    mgr.periodic_tasks(None)
    assert clock.now == start + 35
    for _ in range(5):
        mgr.periodic_tasks(None)
    assert len(mgr.runs["slow"]) == 1
    clock.now = start + 40
    mgr.periodic_tasks(None)
    assert len(mgr.runs["slow"]) == 2


def test_return_value_is_seconds_until_the_next_spacing_task(clock):
    mgr = make_manager(clock, a={"spacing": 30, "run_immediately": True},
                       b={"spacing": 12}, tick={})
    assert mgr.periodic_tasks(None) == pytest.approx(12)
    clock.advance(5)
    assert mgr.periodic_tasks(None) == pytest.approx(7)
    clock.advance(7)
    assert mgr.periodic_tasks(None) == pytest.approx(12)


def test_run_due_spacing_tasks_does_not_count_a_tick(clock):
    mgr = make_manager(clock, tick={"ticks_between_runs": 1},
                       spaced={"spacing": 1})
    clock.advance(1)
    mgr.run_due_spacing_tasks(None)
    assert len(mgr.runs["spaced"]) == 0  # anchored at this first pass
    clock.advance(1)
    mgr.run_due_spacing_tasks(None)
    assert len(mgr.runs["spaced"]) == 1
    assert mgr.runs["tick"] == []
    mgr.periodic_tasks(None)
    mgr.periodic_tasks(None)
    assert len(mgr.runs["tick"]) == 1


class Failing(manager.Manager):
    def __init__(self, *args, **kwargs):
        self.ran = []
        super().__init__(*args, **kwargs)

    @manager.periodic_task
    def broken(self, context):
        raise ValueError("disk on fire")

    @manager.periodic_task
    def healthy(self, context):
        self.ran.append("healthy")


def test_an_error_is_logged_and_the_other_tasks_still_run(clock, debug_log):
    mgr = Failing(host="h", clock=clock)
    mgr.periodic_tasks(None)
    assert mgr.ran == ["healthy"]
    errors = [r for r in debug_log.records
              if r.getMessage() == "Error during Failing.broken: disk on fire"]
    assert len(errors) == 1
    assert errors[0].exc_info and errors[0].exc_info[0] is ValueError


def test_a_task_failing_every_run_logs_its_traceback_once(clock,
                                                          debug_log):
    """A task that fails on every run must not log the same traceback
    each time (158 MB in five minutes in the soak): the traceback at the
    first failure and when the error changes, then one line with the
    count, and one line when the task works again."""
    mgr = make_manager(clock, flaky={})
    error = ValueError("disk on fire")

    def fail():
        raise error

    mgr.work["flaky"] = fail
    for _ in range(9):
        mgr.periodic_tasks(None)
    error = OSError("disk gone")
    mgr.periodic_tasks(None)
    mgr.periodic_tasks(None)
    mgr.work["flaky"] = lambda: None
    mgr.periodic_tasks(None)
    mgr.periodic_tasks(None)
    lines = [(r.getMessage(), bool(r.exc_info)) for r in debug_log.records
             if "Recorder.flaky" in r.getMessage() and r.levelname != "DEBUG"]
    again = " in a row; its traceback was logged the first time)"
    assert lines == [("Error during Recorder.flaky: disk on fire", True)] + [
        ("Error during Recorder.flaky: disk on fire (the same error %d times"
         % count + again, False) for count in range(2, 10)] + [
        ("Error during Recorder.flaky: disk gone", True),
        ("Error during Recorder.flaky: disk gone (the same error 2 times"
         + again, False),
        ("Periodic task Recorder.flaky ran without error again, after 11 "
         "failed run(s) (last: OSError: disk gone)", False),
    ]
    view = mgr.periodic_task_views()[0]
    assert view.failures == 11 and view.failing_runs == 0


def test_raise_on_error_raises_and_keeps_the_record(clock):
    mgr = Failing(host="h", clock=clock)
    with pytest.raises(ValueError, match="disk on fire"):
        mgr.periodic_tasks(None, raise_on_error=True)
    broken = views(mgr)["broken"]
    assert broken.failures == 1
    assert broken.last_error == "ValueError: disk on fire"
    mgr.periodic_tasks(None)  # still scheduled after raising
    assert broken.runs == 2  # a view reads the live record


def test_tasks_cut_off_by_raise_on_error_stay_due(clock):
    class CutShort(Failing):
        @manager.periodic_task(spacing=3600, run_immediately=True)
        def healthy(self, context):
            self.ran.append("healthy")

    mgr = CutShort(host="h", clock=clock)
    with pytest.raises(ValueError):
        mgr.periodic_tasks(None, raise_on_error=True)
    assert mgr.ran == []
    mgr.run_due_spacing_tasks(None)
    assert mgr.ran == ["healthy"]


class Hanging(manager.Manager):
    def __init__(self, *args, **kwargs):
        self.ran = []
        super().__init__(*args, **kwargs)

    @manager.periodic_task(timeout=5)
    def hangs(self, context):
        self.ran.append("hangs-start")
        try:
            self._clock.advance(3600)
        except Exception:  # a task's own handler must not catch the timeout
            self.ran.append("swallowed")
        self.ran.append("hangs-end")

    @manager.periodic_task(timeout=5)
    def quick(self, context):
        self._clock.advance(1)
        self.ran.append("quick")


def test_timeout_interrupts_the_task_and_the_others_go_on(clock, debug_log):
    mgr = Hanging(host="h", clock=clock)
    start = clock.now
    mgr.periodic_tasks(None)
    assert mgr.ran == ["hangs-start", "quick"]
    assert clock.now == start + 5 + 1
    assert ("Periodic task Hanging.hangs timed out after 5 s and was "
            "interrupted") in debug_log.messages
    stats = views(mgr)
    assert stats["hangs"].timeouts == 1
    assert stats["hangs"].failures == 1
    assert stats["hangs"].last_error == "timed out after 5 s"
    assert stats["hangs"].last_duration == pytest.approx(5)
    assert stats["quick"].failures == 0


def test_a_timeout_is_not_raised_even_with_raise_on_error(clock):
    mgr = Hanging(host="h", clock=clock)
    mgr.periodic_tasks(None, raise_on_error=True)
    assert mgr.ran == ["hangs-start", "quick"]


def test_views_show_settings_record_and_next_run(clock):
    mgr = make_manager(clock, spaced={"spacing": 60, "timeout": 2},
                       counted={"ticks_between_runs": 3})
    clock.advance(60)
    mgr.periodic_tasks(None)
    clock.advance(60)
    mgr.periodic_tasks(None)
    spaced, counted = mgr.periodic_task_views()
    assert spaced.full_name == "Recorder.spaced"
    assert spaced.runs == 1
    assert spaced.failures == spaced.timeouts == 0
    assert spaced.last_start == wall(clock, clock.now)
    assert spaced.last_duration == 0
    assert spaced.next_run == wall(clock, clock.now + 60)
    assert spaced.settings.spacing == 60 and spaced.settings.timeout == 2
    assert spaced.schedule == "every 60 s, timeout 2 s"
    assert counted.runs == 0 and counted.last_start is None
    assert counted.ticks_until_next_run == 2
    assert counted.next_run is None  # a bare manager's ticks have no time
    assert counted.next_run_text == "in 2 tick(s)"
    assert counted.settings.ticks_between_runs == 3
    assert isinstance(spaced.last_start, datetime.datetime)


def test_views_are_read_only(clock):
    view = make_manager(clock, task={}).periodic_task_views()[0]
    with pytest.raises(AttributeError):
        view.runs = 5
    with pytest.raises(AttributeError):
        view.anything = 1


def test_a_new_spacing_task_is_not_shown_as_due_before_its_first_pass(
        clock):
    mgr = make_manager(clock, task={"spacing": 600})
    view = views(mgr)["task"]
    assert view.waits_for_first_pass and view.next_run is None
    assert view.next_run_text == "600 s after the first pass"
    mgr.periodic_tasks(None)  # the first pass anchors the grid
    assert not view.waits_for_first_pass
    assert view.next_run == wall(clock, clock.now + 600)
    settings = mgr.periodic_task_settings("task")
    mgr.configure_periodic_task("task", settings.replace("task", spacing=-1))
    mgr.configure_periodic_task("task", settings.replace("task", spacing=30))
    assert view.waits_for_first_pass
    assert view.next_run_text == "30 s after the first pass"


def test_periodic_tasks_returns_a_finite_idle_time(clock):
    """A caller written for oslo.service sleeps for what periodic_tasks()
    returns: with only tick tasks it must still wake for the next tick."""
    mgr = make_manager(clock, ticking={}, rare={"spacing": 3600})
    assert mgr.periodic_tasks(None) == task_settings.DEFAULT_IDLE_SECONDS
    only_ticks = make_manager(clock, ticking={})
    assert only_ticks.periodic_tasks(None) == 60
    soon = make_manager(clock, soon={"spacing": 5})
    soon.periodic_tasks(None)
    assert soon.periodic_tasks(None) == 5


def test_disabled_tasks_never_run(clock):
    mgr = make_manager(clock, off={"enabled": False},
                       negative={"spacing": -1}, on={})
    for _ in range(3):
        clock.advance(100)
        mgr.periodic_tasks(None)
    assert mgr.runs["off"] == [] and mgr.runs["negative"] == []
    assert len(mgr.runs["on"]) == 3
    rows = views(mgr)
    assert rows["off"].enabled is False and rows["off"].next_run is None
    assert rows["negative"].disabled_reason == (
        "disabled by a negative spacing")


def test_external_tasks_follow_run_external_periodic_tasks(clock, config):
    config.config(run_external_periodic_tasks=False)
    mgr = make_manager(clock, external={"external_process_ok": True},
                       local={})
    mgr.periodic_tasks(None)
    assert mgr.runs["external"] == [] and len(mgr.runs["local"]) == 1
    mgr.periodic.set_run_external(True)
    mgr.periodic_tasks(None)
    assert len(mgr.runs["external"]) == 1


def test_add_periodic_task_touches_only_that_instance(clock):
    mgr = make_manager(clock, base={})
    other = type(mgr)(host="host2", clock=clock)
    extra_runs = []

    @manager.periodic_task(ticks_between_runs=1)
    def extra(context):
        extra_runs.append(context)

    mgr.add_periodic_task(extra)
    mgr.periodic_tasks("ctx")
    mgr.periodic_tasks("ctx")
    other.periodic_tasks("ctx")
    assert extra_runs == ["ctx"]
    assert [n for n, _ in type(mgr)._periodic_tasks] == ["base"]
    assert list(views(other)) == ["base"]
    assert list(views(mgr)) == ["base", "extra"]


def test_add_periodic_task_refuses_undecorated_and_duplicates(clock):
    mgr = make_manager(clock, base={})
    with pytest.raises(exception.InvalidPeriodicTask, match="decorate"):
        mgr.add_periodic_task(lambda context: None)

    @manager.periodic_task(name="_base")
    def clash(context):
        return None

    with pytest.raises(exception.DuplicatePeriodicTask):
        mgr.add_periodic_task(clash)


def test_configure_moves_a_spacing_task_to_its_new_grid(clock):
    mgr = make_manager(clock, task={"spacing": 600, "run_immediately": True})
    start = clock.now
    mgr.periodic_tasks(None)
    clock.advance(300)
    settings = mgr.periodic_task_settings("task")
    mgr.configure_periodic_task("task", settings.replace("task", spacing=10))
    mgr.periodic_tasks(None)  # overdue on the new grid: runs now
    clock.now = start + 310
    mgr.periodic_tasks(None)
    assert [t - start for t in mgr.runs["task"]] == [0, 300, 310]


def test_configure_with_unchanged_settings_keeps_the_countdown(clock):
    mgr = make_manager(clock, task={"ticks_between_runs": 2})
    mgr.periodic_tasks(None)
    mgr.periodic_tasks(None)
    same = mgr.periodic_task_settings("task")
    mgr.configure_periodic_task("task", same)
    mgr.periodic_tasks(None)
    assert len(mgr.runs["task"]) == 1


def test_configure_can_switch_kind_and_disable(clock):
    mgr = make_manager(clock, task={"spacing": 60})
    settings = mgr.periodic_task_settings("task")
    ticks = settings.replace("task", spacing=None, ticks_between_runs=0)
    mgr.configure_periodic_task("task", ticks)
    mgr.periodic_tasks(None)
    assert len(mgr.runs["task"]) == 1
    mgr.configure_periodic_task("task", ticks.replace("task", enabled=False))
    mgr.periodic_tasks(None)
    assert len(mgr.runs["task"]) == 1


def test_settings_are_found_by_config_name(clock):
    class Underscored(manager.Manager):
        @manager.periodic_task(spacing=5)
        def _sync_power_states(self, context):
            return None

    mgr = Underscored(host="h", clock=clock)
    assert mgr.periodic_task_settings("sync_power_states").spacing == 5
    with pytest.raises(exception.PeriodicTaskNotFound,
                       match="Underscored has no periodic task named nope"):
        mgr.periodic_task_settings("nope")


def test_render_says_what_an_operator_needs():
    settings = task_settings.TaskSettings
    assert render.schedule(settings()) == "every tick"
    assert render.schedule(settings(ticks_between_runs=9)) == "every 10 ticks"
    assert render.schedule(settings(ticks_between_runs=9), 60) == (
        "every 10 ticks (600 s)")
    assert render.schedule(settings(spacing=600, timeout=30,
                                    run_immediately=True)) == (
        "every 600 s, timeout 30 s, runs at the first pass")
    assert render.schedule(settings(enabled=False)) == "disabled"
    assert render.schedule(settings(spacing=-1)) == (
        "disabled (negative spacing)")
