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

"""ManagerMeta: per-class task lists, and nova's bugs fixed."""

import pytest

from novalite import exception
from novalite import manager


class Parent(manager.Manager):
    def __init__(self, *args, **kwargs):
        self.calls = []
        super().__init__(*args, **kwargs)

    @manager.periodic_task
    def first(self, context):
        self.calls.append("parent.first")

    @manager.periodic_task(ticks_between_runs=2)
    def second(self, context):
        self.calls.append("parent.second")


class Child(Parent):
    @manager.periodic_task(ticks_between_runs=1)
    def first(self, context):
        self.calls.append("child.first")

    @manager.periodic_task
    def third(self, context):
        self.calls.append("child.third")


class PlainOverride(Parent):
    def second(self, context):
        self.calls.append("plain.second")


def test_tasks_are_collected_in_definition_order():
    assert [name for name, _ in Parent._periodic_tasks] == ["first", "second"]
    assert Parent._ticks_to_skip == {"first": 0, "second": 2}


def test_a_subclass_never_changes_its_parent():
    assert [name for name, _ in Parent._periodic_tasks] == ["first", "second"]
    assert Parent._periodic_tasks[0][1] is Parent.__dict__["first"]
    assert "third" not in Parent._ticks_to_skip


def test_override_replaces_the_entry_in_place():
    names = [name for name, _ in Child._periodic_tasks]
    assert names == ["first", "second", "third"]
    assert Child._periodic_tasks[0][1] is Child.__dict__["first"]
    assert Child._ticks_to_skip == {"first": 1, "second": 2, "third": 0}


def test_override_runs_once_on_the_subclass_code(clock):
    child = Child(host="h", clock=clock)
    child.periodic_tasks(None)
    child.periodic_tasks(None)
    assert child.calls.count("child.first") == 1
    assert "parent.first" not in child.calls


def test_plain_override_keeps_the_schedule_and_runs_the_new_code(clock):
    plain = PlainOverride(host="h", clock=clock)
    for _ in range(3):
        plain.periodic_tasks(None)
    assert plain.calls.count("plain.second") == 1
    assert "parent.second" not in plain.calls


def test_instances_never_share_a_countdown(clock):
    one = Parent(host="h", clock=clock)
    two = Parent(host="h", clock=clock)
    for _ in range(3):
        one.periodic_tasks(None)
    two.periodic_tasks(None)
    assert one.calls.count("parent.second") == 1
    assert two.calls.count("parent.second") == 0
    assert Parent._ticks_to_skip == {"first": 0, "second": 2}


def test_renamed_task_uses_its_name():
    class Named(manager.Manager):
        @manager.periodic_task(name="audit")
        def _do_audit(self, context):
            return None

    assert Named._periodic_tasks == [("audit", Named.__dict__["_do_audit"])]


def test_two_tasks_with_one_config_name_are_refused():
    with pytest.raises(exception.DuplicatePeriodicTask, match="sync"):
        class Clash(manager.Manager):
            @manager.periodic_task
            def _sync(self, context):
                return None

            @manager.periodic_task
            def sync(self, context):
                return None


def test_manager_without_tasks_has_empty_collections():
    class Empty(manager.Manager):
        pass

    assert Empty._periodic_tasks == []
    assert Empty._ticks_to_skip == {}
