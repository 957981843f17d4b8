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

"""TaskSchedule on its own: heaps, stale entries, passes cut short."""

import pytest

from novalite.periodic import schedule as task_schedule
from novalite.periodic import settings as task_settings


def spacing_schedule(spacings):
    schedule = task_schedule.TaskSchedule("Owner")
    for index, spacing in enumerate(spacings):
        schedule.add("task%d" % index, None,
                     task_settings.TaskSettings(spacing=spacing))
    return schedule


def run_pass(schedule, now, tick=True):
    due = schedule.pop_due(now, tick)
    for state in due:
        schedule.record_run(state, now, now)
    schedule.finish_pass()
    return [state.name for state in due]


@pytest.mark.parametrize("count", [10, 100, 1000])
def test_only_the_due_tasks_are_popped_whatever_their_number(count):
    # Even tasks every 10 s, odd ones every 25 s: at t=10 only the even ones
    # are due, which exercises both the pop and the partition path.
    schedule = spacing_schedule([10 if i % 2 == 0 else 25
                                 for i in range(count)])
    assert run_pass(schedule, 0) == []
    due = run_pass(schedule, 10)
    assert due == ["task%d" % i for i in range(0, count, 2)]
    assert run_pass(schedule, 10) == []
    due = run_pass(schedule, 25)  # the odd ones, and the even ones of t=20
    assert due == ["task%d" % i for i in range(count)]
    assert schedule.seconds_until_next_due(25) == pytest.approx(5)


def test_reconfigured_tasks_leave_no_live_duplicate():
    schedule = spacing_schedule([10] * 200)
    run_pass(schedule, 0)
    settings = task_settings.TaskSettings(spacing=5)
    for index in range(0, 200, 3):
        schedule.configure("task%d" % index, settings)
    due = run_pass(schedule, 5)
    assert due == ["task%d" % i for i in range(0, 200, 3)]
    due = run_pass(schedule, 10)
    assert len(due) == 200 and len(set(due)) == 200


def test_a_pass_cut_short_puts_the_unrun_tasks_back():
    schedule = spacing_schedule([10] * 5)
    run_pass(schedule, 0)
    due = schedule.pop_due(10, tick=True)
    schedule.record_run(due[0], 10, 10)
    schedule.finish_pass()  # the other four never ran
    assert run_pass(schedule, 10) == ["task1", "task2", "task3", "task4"]
