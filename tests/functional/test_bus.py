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

"""Real daemons on the local RabbitMQ and PostgreSQL: a scheduler and
computes on one bus, what they leave on the broker when they stop, and a
broker that is not there.

Each test has its own exchange, topics, host names and database
(``tests.functional.broker``), and skips, with the reason, when RabbitMQ
or PostgreSQL does not answer.
"""

import json
import signal
import subprocess
import threading
import time

import pytest

from novalite.compute import rpcapi as compute_rpcapi
from novalite.db import api as db_api
from novalite.db import migration
from novalite.scheduler import rpcapi as scheduler_rpcapi
from tests.functional import broker as broker_module
from tests.functional import daemon as daemon_module
from tests.functional import test_database

broker = broker_module.broker

COMPUTE_MANAGER = "novalite.compute.manager.ComputeManager"
TICK = 2.0


@pytest.fixture
def shared_database():
    """A synced PostgreSQL database of this test's own."""
    with test_database.server_database("postgresql") as url:
        engine = db_api.create_engine(url)
        migration.db_sync(engine)
        engine.dispose()
        yield url


def service_ini(tmp_path, broker, url, host, address=broker_module.HOST,
                **overrides):
    options = {"host": host, "compute_manager": COMPUTE_MANAGER,
               "periodic_interval": TICK, "report_interval": 0.5,
               "instances_path": str(tmp_path / host / "instances")}
    options.update(overrides)
    return (daemon_module.base_ini(str(tmp_path / host), **options)
            + broker.ini(address) + "[database]\nconnection = %s\n" % url)


def start(daemons, tmp_path, broker, url, program, name, **overrides):
    host = broker.host(name)
    process = daemons(tmp_path, service_ini(tmp_path, broker, url, host,
                                            **overrides),
                      program=program, name=name)
    process.host = host
    return process


def manage_json(tmp_path, *args):
    ini = tmp_path / "manage.conf"
    result = subprocess.run(
        daemon_module.command("manage") + ["--config-file", str(ini)]
        + list(args) + ["--format", "json"], capture_output=True, text=True,
        timeout=120, env=daemon_module.environment())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_compute_reaches_the_scheduler_within_two_ticks(
        tmp_path, broker, shared_database, daemons):
    scheduler = start(daemons, tmp_path, broker, shared_database,
                      "scheduler", "sched")
    scheduler.wait_for("is ready .*%s" % broker.exchange, timeout=30)
    computes = [start(daemons, tmp_path, broker, shared_database, "compute",
                      "node%d" % n) for n in (1, 2, 3)]
    for compute in computes:
        ready = compute.times_of("is ready")
        if not ready:
            compute.wait_for("is ready .*%s" % broker.exchange, timeout=30)
            ready = compute.times_of("is ready")
        scheduler.wait_for("Capabilities of %s .* known from the bus"
                           % compute.host, timeout=30)
        received = scheduler.times_of("Capabilities of %s " % compute.host)
        # the second tick after READY, plus a process's scheduling slack
        assert received[0] - ready[0] <= 2 * TICK + 1.0

    (tmp_path / "manage.conf").write_text(service_ini(
        tmp_path, broker, shared_database, broker.host("manage")))
    hosts = {row["host"]: row for row in manage_json(tmp_path, "host",
                                                     "list")}
    assert sorted(hosts) == sorted(c.host for c in computes)
    for row in hosts.values():
        assert row["state"] == "up" and row["status"] == "enabled"
        assert row["capabilities_age"] is not None
        assert row["free_vcpus"] > 0 and row["free_ram_mb"] > 0
    services = manage_json(tmp_path, "service", "list")
    assert {row["rpc_version"] for row in services} == {
        compute_rpcapi.ComputeAPI.VERSION,
        scheduler_rpcapi.SchedulerAPI.VERSION}


def test_a_stopped_compute_leaves_no_consumer_behind(
        tmp_path, broker, shared_database, daemons):
    computes = [start(daemons, tmp_path, broker, shared_database, "compute",
                      "node%d" % n) for n in (1, 2)]
    for compute in computes:
        compute.wait_for("is ready", timeout=30)
    host_queue = "%s.%s" % (broker.compute_topic, computes[0].host)
    assert broker.queue(host_queue)[1] == 1
    assert broker.queue(broker.compute_topic)[1] == 2

    computes[0].signal(signal.SIGTERM)
    assert computes[0].wait(30) == 0
    assert broker.queue(host_queue)[1] == 0
    assert broker.queue(broker.compute_topic)[1] == 1
    computes[0].wait_for("Stopped novalite-compute")
    assert not computes[0].matching("Traceback|ERROR")


def test_a_restarted_scheduler_knows_every_host_at_once(
        tmp_path, broker, shared_database, daemons):
    computes = [start(daemons, tmp_path, broker, shared_database, "compute",
                      "node%d" % n) for n in (1, 2, 3)]
    first = start(daemons, tmp_path, broker, shared_database, "scheduler",
                  "sched")
    for compute in computes:
        first.wait_for("Capabilities of %s " % compute.host, timeout=30)
    first.signal(signal.SIGTERM)
    assert first.wait(30) == 0

    # What it knows before it consumes (its ready line) comes from the
    # database the computes wrote.
    again = daemons(tmp_path, service_ini(
        tmp_path, broker, shared_database, first.host),
        program="scheduler", name="sched-again")
    ready = again.wait_for("is ready", timeout=30)
    for compute in computes:
        known = again.wait_for("Capabilities of %s .* known from the "
                               "database" % compute.host)
        assert known < ready
    assert again.matching("Capabilities of 3 hosts read from the database "
                          r"\(0 older than 5 s left out\)")


def test_an_in_flight_call_finishes_when_the_service_stops(
        tmp_path, broker, shared_database, daemons):
    import oslo_messaging
    from oslo_config import cfg

    from novalite import conf as novalite_conf
    from novalite import context
    from novalite import rpc

    compute = start(daemons, tmp_path, broker, shared_database, "compute",
                    "node1", compute_manager=daemon_module.PROBE_MANAGER)
    compute.wait_for("is ready", timeout=30)
    conf = cfg.ConfigOpts()
    novalite_conf.register_all(conf)
    conf([], project="novalite-test", default_config_files=[])
    conf.set_override("transport_url", broker_module.URL)
    conf.set_override("control_exchange", broker.exchange)
    transport = oslo_messaging.get_rpc_transport(conf)
    try:
        client = rpc.get_client(transport, rpc.Target(
            topic=broker.compute_topic, server=compute.host, version="1.0"))
        answer = {}

        def call():
            try:
                answer["value"] = client.prepare(timeout=30).call(
                    context.get_admin_context(), "slow_echo", value="kept",
                    seconds=2.0)
            except Exception as exc:
                answer["error"] = exc

        caller = threading.Thread(target=call)
        caller.start()
        compute.wait_for("probe slow_echo started", timeout=30)
        compute.signal(signal.SIGTERM)
        caller.join(30)
        assert answer == {"value": "kept"}
        assert compute.wait(30) == 0
        started = compute.wait_for("Caught SIGTERM")
        assert compute.wait_for("probe slow_echo finished") > started
    finally:
        transport.cleanup()


def test_a_broker_that_does_not_answer_stops_start_up_with_69(
        tmp_path, state_path):
    port = daemon_module.free_port()
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(
        state_path, transport_url="rabbit://guest:secret@127.0.0.1:%d/"
        % port, rpc_probe_timeout=2))
    result = daemon_module.run_once(ini)
    assert result.returncode == 69
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("compute.py: cannot reach the message "
                           "broker of [DEFAULT] transport_url rabbit://"
                           "guest:***@127.0.0.1:%d/" % port)
    assert "secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("url, secret", [
    ("rabbit://guest:not-the-password@%s/", "not-the-password"),
    ("rabbit://guest:guest@%s/no-such-vhost", None)])
def test_what_the_broker_refuses_is_a_configuration_error(
        tmp_path, state_path, broker, url, secret):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(
        state_path, host=broker.host("node1"),
        transport_url=url % broker_module.HOST))
    result = daemon_module.run_once(ini)
    assert result.returncode == 78
    last = result.stderr.strip().splitlines()[-1]
    assert "refused the credentials or the virtual host" in last
    if secret:
        assert secret not in result.stderr + result.stdout


def test_a_broker_that_goes_silent_holds_up_no_pass_and_no_stop(
        tmp_path, broker, shared_database, daemons):
    """The broker keeps its connections but answers nothing (a hung
    server, a network dropping everything): the compute's passes go on
    (the capabilities fanout waits in a greenthread of its own), and a
    SIGTERM ends the process within its budget instead of waiting a
    minute on the broker."""
    from tests.functional import tcp_proxy

    host, port = broker_module.HOST.split(":")
    proxy = tcp_proxy.TcpProxy((host, int(port)))
    try:
        compute = start(daemons, tmp_path, broker, shared_database,
                        "compute", "node1", periodic_interval=0.5,
                        graceful_shutdown_timeout=3,
                        address="127.0.0.1:%d" % proxy.port)
        compute.wait_for("is ready", timeout=30)
        compute.wait_for("Running periodic task "
                         "ComputeManager._publish_service_capabilities",
                         timeout=30)
        proxy.silence()
        silenced = len(compute.lines)
        time.sleep(6)
        passes = compute.matching("Running periodic task ComputeManager."
                                  "_publish_service_capabilities", silenced)
        assert len(passes) >= 8  # a pass every 0.5 s, none held up
        compute.signal(signal.SIGTERM)
        began = time.monotonic()
        assert compute.wait(60) == 0
        # 3 s of graceful_shutdown_timeout, then 5 s for the connections
        assert time.monotonic() - began < 20
        compute.wait_for("did not .* within graceful_shutdown_timeout")
    finally:
        proxy.close()
