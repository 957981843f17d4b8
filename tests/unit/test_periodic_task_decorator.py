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

"""@periodic_task in every form DESIGN.md lists."""

import functools

import pytest

from novalite import exception
from novalite import manager
from novalite.periodic import settings as task_settings


def _task(self, context):
    return None


def _fresh_task():
    def task(self, context):
        return None
    return task


def test_bare_decorator_marks_an_every_tick_task():
    task = manager.periodic_task(_task)
    assert task is _task
    assert task._periodic_task is True
    assert task._ticks_between_runs == 0
    assert task._periodic_spacing is None
    assert task._periodic_name == "_task"


def test_empty_call_works_like_the_bare_form():
    # nova raised IndexError on @periodic_task().
    def task(self, context):
        return None

    decorated = manager.periodic_task()(task)
    assert decorated._periodic_task is True
    assert decorated._ticks_between_runs == 0
    assert decorated._periodic_settings.is_tick_task


def test_ticks_between_runs_is_recorded():
    def task(self, context):
        return None

    manager.periodic_task(ticks_between_runs=3)(task)
    assert task._ticks_between_runs == 3
    assert task._periodic_settings.ticks == 3


def test_every_keyword_is_recorded():
    def task(self, context):
        return None

    manager.periodic_task(spacing=2.5, run_immediately=True, enabled=False,
                          external_process_ok=True, name="renamed",
                          timeout=7)(task)
    assert task._periodic_spacing == 2.5
    assert task._periodic_run_immediately is True
    assert task._periodic_enabled is False
    assert task._periodic_external_ok is True
    assert task._periodic_name == "renamed"
    assert task._periodic_timeout == 7
    assert task._ticks_between_runs == 0


def test_spacing_zero_is_every_tick_and_negative_is_disabled():
    zero = manager.periodic_task(spacing=0)(_fresh_task())
    negative = manager.periodic_task(spacing=-1)(_fresh_task())
    assert zero._periodic_settings.is_tick_task
    assert negative._periodic_settings.disabled_by_spacing


def test_spacing_with_ticks_fails_when_the_class_is_defined():
    with pytest.raises(exception.InvalidPeriodicTask,
                       match="ticks_between_runs and spacing"):
        class Broken(manager.Manager):
            @manager.periodic_task(spacing=10, ticks_between_runs=2)
            def task(self, context):
                return None


@pytest.mark.parametrize("kwargs, message", [
    ({"ticks_between_runs": -1}, "ticks_between_runs must be a whole"),
    ({"ticks_between_runs": 1.5}, "ticks_between_runs must be a whole"),
    ({"ticks_between_runs": True}, "ticks_between_runs must be a whole"),
    ({"spacing": "60"}, "spacing must be a finite number"),
    ({"spacing": float("inf")}, "spacing must be a finite number"),
    ({"timeout": -1}, "timeout must be at least 0"),
    ({"timeout": float("nan")}, "timeout must be a finite number"),
    ({"enabled": "yes"}, "enabled must be true or false"),
    ({"run_immediately": 1}, "run_immediately must be true or false"),
    ({"external_process_ok": None}, "external_process_ok must be true"),
])
def test_bad_arguments_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(exception.InvalidPeriodicTask, match=message):
        manager.periodic_task(**kwargs)(_fresh_task())


@pytest.mark.parametrize("name", ["has space", "__", "<lambda>"])
def test_any_name_runs_but_only_a_section_name_can_be_configured(name):
    task = manager.periodic_task(name=name)(_fresh_task())
    assert task._periodic_name == name
    with pytest.raises(exception.InvalidPeriodicTask,
                       match="cannot be an ini section"):
        task_settings.section_name(name)


def test_lambdas_and_partials_are_tasks_as_in_nova(clock):
    calls = []

    def record(manager_, context, label):
        calls.append((label, context, manager_.host))

    class Mixed(manager.Manager):
        by_lambda = manager.periodic_task(
            lambda self, context: calls.append(("lambda", context)))
        by_partial = manager.periodic_task(
            name="by_partial")(functools.partial(record, label="partial"))

    mgr = Mixed(host="h", clock=clock)
    mgr.periodic_tasks("ctx")
    assert calls == [("lambda", "ctx"), ("partial", "ctx", "h")]
    assert [view.name for view in mgr.periodic_task_views()] == [
        "<lambda>", "by_partial"]
    unnamed = manager.periodic_task(functools.partial(record, label="x"))
    assert unnamed._periodic_name == "record"
    mgr.add_periodic_task(manager.periodic_task(
        name="extra")(functools.partial(calls.append)))
    mgr.periodic_tasks("ctx2")
    assert "ctx2" in calls


def test_positional_arguments_other_than_the_function_are_refused():
    with pytest.raises(exception.InvalidPeriodicTask,
                       match="keyword arguments only"):
        manager.periodic_task(10)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        manager.periodic_task(interval=10)


def test_decorator_reads_neither_clock_nor_configuration(monkeypatch):
    import time

    from novalite import conf

    def forbidden(*args, **kwargs):
        raise AssertionError("the decorator must not read this")

    monkeypatch.setattr(time, "monotonic", forbidden)
    monkeypatch.setattr(time, "time", forbidden)
    monkeypatch.setattr(type(conf.CONF), "__getattr__", forbidden)
    task = manager.periodic_task(spacing=60)(_fresh_task())
    assert task._periodic_spacing == 60
