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
"""What the service guarantees when things go wrong."""

import os
import time

import pytest

from tests.functional import daemon as daemon_module
from tests.functional import test_compute_daemon as helpers


@pytest.mark.parametrize("native, keeps_beating", [("true", True),
                                                   ("false", False)])
def test_heartbeat_while_a_task_blocks_the_hub(tmp_path, state_path,
                                               daemons, native,
                                               keeps_beating):
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, heartbeat_in_native_thread=native))
    compute.wait_for("Running periodic task ProbeManager.fast")
    time.sleep(0.6)
    open(os.path.join(state_path, "block_hub"), "w").close()
    compute.wait_for("probe hub block started")
    before = helpers.heartbeat_count(state_path)
    time.sleep(2.0)  # the hub is blocked for 3 s
    during = helpers.heartbeat_count(state_path)
    assert not compute.matching("probe hub block finished")
    if keeps_beating:
        assert during >= before + 5  # report_interval is 0.2 s
    else:  # nova's way: a greenthread heartbeat starves
        assert during <= before + 1
    compute.wait_for("probe hub block finished")


def test_heartbeat_pauses_when_the_hub_stays_stuck(tmp_path, state_path,
                                                   daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, service_down_time=1))
    compute.wait_for("Running periodic task ProbeManager.fast")
    open(os.path.join(state_path, "block_hub"), "w").close()
    compute.wait_for("probe hub block started")
    time.sleep(2.0)
    paused = helpers.heartbeat_count(state_path)
    time.sleep(0.6)
    assert helpers.heartbeat_count(state_path) == paused
    compute.wait_for("Event loop stalled for [0-9]+ s; heartbeat paused")
    compute.wait_for("Event loop is running again; heartbeat resumed")
    resumed = compute.wait_for("probe hub block finished")
    time.sleep(1.0)
    assert helpers.heartbeat_count(state_path) > paused
    assert resumed
