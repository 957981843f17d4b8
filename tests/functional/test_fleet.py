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

"""The fleet on one machine: real schedulers and computes on the local
RabbitMQ and a shared PostgreSQL or MariaDB database, with the faults a
fleet meets: a compute or a scheduler killed with SIGKILL in the middle
of boots, the broker cut, several hosts migrating the schema at once.

Each test has its own exchange, topics, host names and database, and
skips, with the reason, when a server does not answer.
"""

import subprocess
import time

import pytest

from tests.functional import broker as broker_module
from tests.functional import daemon as daemon_module
from tests.functional import drivers
from tests.functional import fleet as fleet_module
from tests.functional import tcp_proxy
from tests.functional import test_database

broker = broker_module.broker
shared_database = fleet_module.shared_database

#: (vCPUs, RAM MiB, disk GiB): room for 8 m1.tiny.
SMALL = (4, 4096, 100)
BIG = (8, 16384, 200)
SLOW_DRIVER = "tests.functional.drivers.SlowDriver"
BUILD_TIMEOUT = 4


@pytest.fixture
def fleet(tmp_path, broker, shared_database, daemons):
    return fleet_module.Fleet(tmp_path, broker, shared_database, daemons,
                              instance_build_timeout=BUILD_TIMEOUT)


@pytest.mark.parametrize("shared_database", ["postgresql", "mysql"],
                         indirect=True)
def test_two_schedulers_and_three_computes_on_either_database(fleet):
    for n in (1, 2, 3):
        fleet.start_compute("node%d" % n, SMALL)
    fleet.wait_until_ready()
    fleet.start_scheduler("sched1")
    fleet.start_scheduler("sched2")
    result = fleet.boot("web", "--flavor", "m1.tiny", "--count", "12")
    assert result.returncode == 0, result.stdout + result.stderr
    instances = fleet.instances()
    assert [row["vm_state"] for row in instances] == ["active"] * 12
    hosts = {row["host"] for row in instances}
    assert hosts == {compute.host for compute in fleet.computes.values()}
    fleet.assert_none_over_capacity(dict.fromkeys(fleet.computes, SMALL))


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_db_sync_from_three_hosts_at_once_migrates_once(tmp_path, kind):
    with test_database.server_database(kind) as url:
        commands = []
        for n in range(3):
            ini = tmp_path / ("host%d.conf" % n)
            ini.write_text(daemon_module.base_ini(str(tmp_path / str(n)))
                           + "[database]\nconnection = %s\n" % url)
            commands.append(subprocess.Popen(
                daemon_module.command("manage")
                + ["--config-file", str(ini), "db", "sync"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, env=daemon_module.environment()))
        outputs = [command.communicate(timeout=120)[0]
                   for command in commands]
        assert [command.returncode for command in commands] == [0] * 3, (
            outputs)
        assert sum("Running upgrade  -> 0001" in output
                   for output in outputs) == 1, outputs
        assert all("Database schema is at version 0004" in output
                   for output in outputs)


def _down(fleet, host, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        states = {row["host"]: row["state"]
                  for row in fleet.manage_json("service", "list")}
        if states.get(host) == "down":
            return
        assert time.monotonic() < deadline, states
        time.sleep(0.5)


def test_a_compute_killed_mid_boot_leaves_no_instance_building(fleet):
    slow = fleet.start_compute("slow", BIG, compute_driver=SLOW_DRIVER)
    fleet.start_compute("other", SMALL)
    fleet.wait_until_ready()
    scheduler = fleet.start_scheduler()

    boot = fleet.boot_in_background("caught", "--flavor", "m1.tiny",
                                    "--count", "2")
    # The RAM weigher sends both to the big, slow host.
    for _ in range(2):
        scheduler.wait_for("goes to %s" % slow.host, timeout=30,
                           start=len(scheduler.matching(
                               "goes to %s" % slow.host)))
    time.sleep(0.5)
    assert drivers.SLOW_SPAWN_SECONDS > 1.5
    fleet.kill9(slow)
    output, _ = boot.communicate(timeout=120)
    assert boot.returncode == 1, output
    rows = fleet.wait_until_settled(timeout=BUILD_TIMEOUT + 20)
    assert [row["vm_state"] for row in rows] == ["error", "error"]
    for row in rows:
        shown = fleet.manage_json("instance", "show", row["uuid"])
        assert "Build timed out: in task spawning on %s" % slow.host in (
            shown["fault"]), shown
        assert shown["host"] == slow.host

    _down(fleet, slow.host)
    after = fleet.boot("after", "--flavor", "m1.tiny")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "ACTIVE on %s" % fleet.computes["other"].host in after.stdout

    again = fleet.daemons(fleet.tmp_path, slow.ini.read_text(),
                          program="compute", name="slow")
    again.wait_for("is ready", timeout=30)
    assert not again.matching("Traceback")


def test_boots_go_on_through_the_other_scheduler_when_one_is_killed(
        fleet):
    fleet.start_compute("node1", SMALL)
    fleet.start_compute("node2", SMALL)
    fleet.wait_until_ready()
    first = fleet.start_scheduler("sched1")
    fleet.start_scheduler("sched2")
    fleet.kill9(first)
    result = fleet.boot("web", "--flavor", "m1.tiny", "--count", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [row["vm_state"] for row in fleet.instances()] == ["active"] * 4


#: How long the broker is cut: long enough for oslo.messaging's retry
#: back-off to grow, and for every daemon's pass to run many times.
CUT_SECONDS = 30


def test_the_fleet_rides_out_a_broker_cut(tmp_path, broker, shared_database,
                                          daemons):
    """30 s without the broker during boots: heartbeats go on (they go to
    the database), a boot asked meanwhile is refused in one line and loses
    nothing, every daemon says the loss once and the recovery once, the
    capabilities reach the scheduler within two ticks of the bus coming
    back, and boots run again."""
    host, port = broker_module.HOST.split(":")
    proxy = tcp_proxy.TcpProxy((host, int(port)))
    try:
        fleet = fleet_module.Fleet(
            tmp_path, broker, shared_database, daemons,
            broker_address="127.0.0.1:%d" % proxy.port)
        fleet.start_compute("node1", SMALL)
        fleet.start_compute("node2", SMALL)
        fleet.wait_until_ready()
        scheduler = fleet.start_scheduler()
        before = fleet.boot("before", "--flavor", "m1.tiny", "--count", "2")
        assert before.returncode == 0, before.stdout + before.stderr
        everyone = list(fleet.computes.values()) + [scheduler]
        marks = {daemon.host: len(daemon.lines) for daemon in everyone}

        proxy.cut()
        cut = time.monotonic()
        during = fleet.boot("during", "--flavor", "m1.tiny", timeout=10)
        assert during.returncode == 69, during.stdout + during.stderr
        assert len(during.stderr.strip().splitlines()) == 1
        beats = {row["host"]: row["last_heartbeat"]
                 for row in fleet.manage_json("service", "list")}
        time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut)))
        # The heartbeats go to the database: they never stopped.
        for row in fleet.manage_json("service", "list"):
            assert row["state"] == "up", row
            assert row["last_heartbeat"] > beats[row["host"]], row
        proxy.restore()

        after = fleet.boot("after", "--flavor", "m1.tiny", "--count", "2",
                           timeout=90)
        assert after.returncode == 0, after.stdout + after.stderr
        rows = fleet.wait_until_settled(timeout=30)
        assert sorted(row["vm_state"] for row in rows) == ["active"] * 4
        for daemon in everyone:
            assert daemon.process.poll() is None
            assert not daemon.matching("Traceback")
            start = marks[daemon.host]
            said = [len(daemon.matching(pattern, start)) for pattern in (
                "WARNING .* The message bus is unreachable: ",
                "INFO .* The message bus at .* is back after ",
                " ERROR ")]
            assert said == [1, 1, 0], "\n".join(daemon.lines[start:])
        back = max(daemon.times_of("is back after ", marks[daemon.host])[0]
                   for daemon in everyone)
        for compute in fleet.computes.values():
            [known] = scheduler.times_of(
                "Capabilities of %s .* known from the bus" % compute.host,
                marks[scheduler.host])
            assert known - back <= 2 * fleet_module.TICK + 0.5, (
                compute.host, known - back)
    finally:
        proxy.close()
