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

"""The Guru Meditation report's Periodic Tasks table."""

from novalite import reports


def test_the_periodic_tasks_table_lines_up_whatever_the_widths():
    rows = [{"full_name": "ComputeManager._run_image_cache_manager_pass",
             "schedule": "every 2400 s", "runs": 1, "failures": 0,
             "timeouts": 0, "last_start": "2026-12-05 08:00:00",
             "last_duration": "0.012", "next_due": "in 2399 s",
             "last_error": "-"},
            {"full_name": "M.t", "schedule": "every tick (60 s), timeout "
             "5 s", "runs": 123456, "failures": 7, "timeouts": 1,
             "last_start": "-", "last_duration": "-", "next_due": "now",
             "last_error": "RuntimeError: a long message " * 3}]
    lines = reports.task_table(rows).splitlines()
    assert lines[0].startswith("Task ")
    assert set(lines[1]) <= {"-", "+"}
    bars = [[i for i, char in enumerate(line) if char == "|"]
            for line in (lines[0], lines[2], lines[3])]
    assert len(bars[0]) == 8 and bars[0] == bars[1] == bars[2]
    assert "ComputeManager._run_image_cache_manager_pass |" in lines[2]
