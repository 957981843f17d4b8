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

"""Boots end to end on the local RabbitMQ and PostgreSQL: a real
novalite-scheduler and real computes of different sizes, driven by
``novalite-manage instance boot``.

Each test has its own exchange, topics, host names and database, and
skips, with the reason, when RabbitMQ or PostgreSQL does not answer.
"""

import time

import pytest

from tests.functional import broker as broker_module
from tests.functional import fleet as fleet_module

broker = broker_module.broker
shared_database = fleet_module.shared_database
_uuids = fleet_module.uuids_of

FAILING_DRIVER = "tests.functional.drivers.FailingDriver"
TINY_MB = 512

#: Name -> (vCPUs, RAM MiB, disk GiB) of the fake hosts: room for 36
#: m1.tiny with RAM not overcommitted.
SIZES = {"big": (8, 8192, 200), "medium": (4, 6144, 100),
         "small": (2, 4096, 50)}


@pytest.fixture
def fleet(tmp_path, broker, shared_database, daemons):
    return fleet_module.Fleet(tmp_path, broker, shared_database, daemons)


def test_thirty_boots_spread_by_free_ram_and_none_over_capacity(fleet):
    for name, size in SIZES.items():
        fleet.start_compute(name, size)
    fleet.start_compute("disabled", SIZES["big"])
    fleet.wait_until_ready()
    assert fleet.manage("service", "disable", "--host",
                        fleet.computes["disabled"].host, "--reason",
                        "maintenance").returncode == 0
    fleet.start_scheduler()

    result = fleet.boot("web", "--flavor", "m1.tiny", "--count", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    instances = fleet.instances()
    assert len(instances) == 30
    assert {row["vm_state"] for row in instances} == {"active"}
    per_host = {name: sum(1 for row in instances
                          if row["host"] == compute.host)
                for name, compute in fleet.computes.items()}
    assert per_host["disabled"] == 0
    fleet.assert_none_over_capacity(SIZES)
    free = {}
    for name, (_, memory_mb, _) in SIZES.items():
        node = fleet.node(name)
        assert node["memory_mb_used"] == per_host[name] * TINY_MB
        free[name] = memory_mb - node["memory_mb_used"]
    # The RAM weigher gives each instance to the host with the most free
    # RAM: 30 of the 36 that fit leave the three hosts within one instance
    # of each other, the biggest host taking the most.
    assert max(free.values()) - min(free.values()) <= TINY_MB, per_host
    assert per_host["big"] > per_host["medium"] >= per_host["small"] > 0


def test_two_schedulers_racing_for_small_hosts_overfill_none(fleet):
    small = {"small1": (2, 2048, 20), "small2": (2, 2048, 20)}
    for name, size in small.items():
        fleet.start_compute(name, size)
    fleet.wait_until_ready()
    fleet.start_scheduler("sched1")
    fleet.start_scheduler("sched2")

    # Room for 8 m1.tiny; 12 asked at once by two commands.
    boots = [fleet.boot_in_background("race%d" % n, "--flavor", "m1.tiny",
                                      "--count", "6") for n in (1, 2)]
    for boot in boots:
        boot.communicate(timeout=120)
    instances = fleet.instances()
    assert len(instances) == 12
    states = [row["vm_state"] for row in instances]
    assert set(states) <= {"active", "error"}, instances
    assert not any(row["task_state"] for row in instances)
    assert 6 <= states.count("active") <= 8, instances
    fleet.assert_none_over_capacity(small)


def test_a_failed_spawn_lands_elsewhere_and_the_fault_is_kept(fleet):
    fleet.start_compute("failing", SIZES["big"],
                        compute_driver=FAILING_DRIVER)
    fleet.start_compute("good", SIZES["small"])
    fleet.wait_until_ready()
    fleet.start_scheduler()

    result = fleet.boot("retried", "--flavor", "m1.small")
    assert result.returncode == 0, result.stdout + result.stderr
    [uuid] = _uuids(result.stdout)
    assert "ACTIVE on %s" % fleet.computes["good"].host in result.stdout
    shown = fleet.manage_json("instance", "show", uuid)
    assert shown["host"] == fleet.computes["good"].host
    assert "refuses to spawn" in shown["fault"]
    assert shown["fault_host"] == fleet.computes["failing"].host
    # The failed host's claim was released.
    assert fleet.node("failing")["memory_mb_used"] == 0
    assert fleet.node("good")["memory_mb_used"] == 2048


def test_retries_run_out_into_error_with_the_last_hosts_error(fleet):
    for name in ("bad1", "bad2"):
        fleet.start_compute(name, SIZES["small"],
                            compute_driver=FAILING_DRIVER)
    fleet.wait_until_ready()
    fleet.start_scheduler()

    result = fleet.boot("doomed", "--flavor", "m1.tiny")
    assert result.returncode == 1
    assert "ERROR: No valid host was found." in result.stdout
    assert "the last error: the test hypervisor refuses to spawn" in (
        result.stdout)
    [row] = fleet.instances()
    assert row["vm_state"] == "error" and row["host"] is None
    assert row["task_state"] is None


def test_a_boot_larger_than_every_host_is_error_no_valid_host(fleet):
    fleet.start_compute("small", SIZES["small"])
    fleet.wait_until_ready()
    fleet.start_scheduler()
    assert fleet.manage("flavor", "create", "huge", "--ram", "65536",
                        "--vcpus", "2", "--disk", "10").returncode == 0

    result = fleet.boot("too-big", "--flavor", "huge")
    assert result.returncode == 1
    [uuid] = _uuids(result.stdout)
    shown = fleet.manage("instance", "show", uuid)
    assert shown.returncode == 0
    assert "No valid host was found" in shown.stdout
    assert "RamFilter" in shown.stdout


def test_stop_start_and_delete_go_to_the_host_and_free_the_claim(fleet):
    fleet.start_compute("small", SIZES["small"])
    fleet.wait_until_ready()
    fleet.start_scheduler()
    result = fleet.boot("short-lived", "--flavor", "m1.medium")
    assert result.returncode == 0, result.stdout + result.stderr
    [uuid] = _uuids(result.stdout)
    assert fleet.node("small")["memory_mb_used"] == 4096

    assert fleet.manage("instance", "stop", uuid).returncode == 0
    fleet.wait_for_instance(uuid, vm_state="stopped", power_state="shutdown")
    again = fleet.manage("instance", "stop", uuid)
    assert again.returncode == 1
    assert "cannot stop instance %s while it is stopped" % uuid in (
        again.stderr)
    assert fleet.manage("instance", "start", uuid).returncode == 0
    fleet.wait_for_instance(uuid, vm_state="active", power_state="running")

    deleted = fleet.manage("instance", "delete", uuid)
    assert deleted.returncode == 0, deleted.stderr
    deadline = time.monotonic() + 30
    while fleet.instances() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fleet.instances() == []
    node = fleet.node("small")
    assert (node["memory_mb_used"], node["vcpus_used"],
            node["local_gb_used"]) == (0, 0, 0)
