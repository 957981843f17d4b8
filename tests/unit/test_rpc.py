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

"""The message bus on oslo.messaging's ``fake://`` driver: services that
consume, versioned clients, the capabilities fanout."""

import datetime
import logging
import re
import time
import uuid

import oslo_messaging
import pytest
import sqlalchemy as sa

from novalite import baserpc
from novalite.compute import rpcapi as compute_rpcapi
from novalite.compute import vm_states
from novalite import concurrency
from novalite import config as novalite_config
from novalite import context
from novalite.db import models
from novalite import exception
from novalite import manager
from novalite import rpc
from novalite.scheduler import rpcapi as scheduler_rpcapi
from novalite import service
from tests.functional import daemon as daemon_module

CTXT = context.get_admin_context()


class Echo(manager.Manager):
    """A manager that shows what arrives, and one method it keeps."""

    @rpc.expose
    def echo(self, context, value):
        return {"context_type": type(context).__name__,
                "context": context.to_dict(), "value": value}

    def not_for_the_bus(self, context):
        raise AssertionError("called over the bus")


@pytest.fixture
def bus(config, monkeypatch, tmp_path):
    """fake:// with an exchange of this test's own. The test runner is not
    monkey-patched, so its servers dispatch on native threads."""
    monkeypatch.setattr(concurrency, "RPC_EXECUTOR", "threading")
    config.config(transport_url="fake://",
                  control_exchange="test-%s" % uuid.uuid4().hex,
                  instances_path=str(tmp_path / "instances"))
    config.config(vcpus=8, memory_mb=16384, local_gb=100,
                  group="fake_driver")
    started = []
    yield started
    for server in started:
        server.stop(graceful_timeout=5)


def start(bus, db, clock, binary="novalite-compute", host="node1",
          manager_class=None, transport=None):
    server = service.Service.create(
        host=host, binary=binary, db=db, clock=clock, manager=manager_class,
        report_interval=0, periodic_enable=False, transport=transport)
    server.start()
    bus.append(server)
    return server


def wait_until(predicate, timeout=10.0):
    """Poll ``predicate``, letting greenthreads (a fanout's sender) run."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never held"
        concurrency.cooperative_yield()
        time.sleep(0.01)


# Standalone, and what a transport_url does --------------------------------

def test_without_transport_url_the_service_runs_standalone(db, clock, config,
                                                           caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    server = service.Service.create(
        host="node1", binary="novalite-compute", db=db, clock=clock,
        report_interval=0, periodic_enable=False)
    assert not rpc.is_configured(config.conf)
    server.start()
    server.stop()
    assert server.transport is None and server.rpcserver is None
    assert [r.getMessage() for r in caplog.records
            if "is ready" in r.getMessage()] == [
        "novalite-compute on node1 is ready (%s, sqlite database, "
        "standalone)" % concurrency.BACKEND]


def test_the_ready_line_names_the_bus_without_its_password(config):
    config.config(transport_url="rabbit://nova:s3cret@10.0.0.1:5672,"
                  "nova:other@10.0.0.2:5672/vhost", control_exchange="ex")
    assert rpc.describe(config.conf) == (
        "rabbit://nova:***@10.0.0.1:5672,nova:***@10.0.0.2:5672/vhost, "
        "exchange ex")


def test_a_transport_url_naming_no_driver_is_a_configuration_error(config):
    config.config(transport_url="carrier-pigeon://user:pw@127.0.0.1/")
    with pytest.raises(novalite_config.ConfigError) as caught:
        rpc.get_transport(config.conf)
    assert str(caught.value).startswith(
        "[DEFAULT] transport_url: carrier-pigeon://user:***@127.0.0.1/")
    assert "\n" not in str(caught.value)


def test_a_broker_that_does_not_answer_is_unavailable(config):
    port = daemon_module.free_port()
    config.config(transport_url="rabbit://guest:pw@127.0.0.1:%d/" % port,
                  rpc_probe_timeout=2)
    with pytest.raises(exception.BrokerUnavailable) as caught:
        rpc.probe(config.conf)
    message = str(caught.value)
    assert "rabbit://guest:***@127.0.0.1:%d/" % port in message
    assert "pw" not in message and "\n" not in message


def test_fake_transport_is_not_probed(bus, config):
    rpc.probe(config.conf)


@pytest.mark.parametrize("text, said", [
    ("[upgrade_levels]\ncompute = 1.x\n", "[upgrade_levels] compute: "
     "invalid value '1.x': expected 'auto' or a version such as 1.0"),
    ("[DEFAULT]\ncompute_topic = compute.x\n", "[DEFAULT] compute_topic: "
     "invalid value 'compute.x': a topic has 1 to 200 letters")])
def test_a_bad_version_cap_or_topic_is_refused_at_start_up(tmp_path, text,
                                                            said):
    path = tmp_path / "bad.conf"
    path.write_text(text)
    conf = novalite_config.cfg.ConfigOpts()
    with pytest.raises(novalite_config.ConfigError, match=re.escape(said)):
        novalite_config.parse_args(["novalite-compute", "--config-file",
                                    str(path)], conf=conf,
                                   default_config_files=[])


# A compute on the bus ------------------------------------------------------

def test_the_service_row_records_its_rpc_version(bus, db, clock):
    start(bus, db, clock)
    row = db.service_get_by_host_and_binary("node1", "novalite-compute")
    assert row.rpc_version == compute_rpcapi.ComputeAPI.VERSION


def test_a_compute_answers_calls_on_its_host_topic(bus, db, clock, config):
    server = start(bus, db, clock)
    api = compute_rpcapi.ComputeAPI(config.conf, db, server.transport)
    uptime = api.get_host_uptime(CTXT, "node1", timeout=10)
    assert uptime["host"] == "node1" and uptime["uptime_s"] > 0
    assert uptime["booted_at"].endswith("Z")
    base = baserpc.BaseAPI(config.conf, "compute_topic", server.transport)
    assert base.ping(CTXT, "node1", arg="x", timeout=10) == {
        "service": "novalite-compute", "host": "node1", "arg": "x"}
    version = base.get_version(CTXT, "node1", timeout=10)["rpc_api"]
    assert version == compute_rpcapi.ComputeAPI.VERSION


def test_casts_reach_the_host_they_name(bus, db, clock, config):
    one = start(bus, db, clock, host="node1")
    two = start(bus, db, clock, host="node2")
    on_two = two.manager.run_instance(CTXT, display_name="vm")
    api = compute_rpcapi.ComputeAPI(config.conf, db, one.transport)
    api.stop_instance(CTXT, "node2", on_two.uuid)
    wait_until(lambda: db.instance_get(on_two.uuid).vm_state
               == vm_states.STOPPED)
    api.start_instance(CTXT, "node2", on_two.uuid)
    wait_until(lambda: db.instance_get(on_two.uuid).vm_state
               == vm_states.ACTIVE)
    api.terminate_instance(CTXT, "node2", on_two.uuid)
    wait_until(lambda: db.instance_get(on_two.uuid, read_deleted="yes")
               .deleted != 0)
    assert on_two.uuid not in one.manager.driver.list_instances()


def test_the_context_travels_as_a_dict_and_arrives_as_a_context(
        bus, db, clock, config):
    server = start(bus, db, clock, manager_class=__name__ + ".Echo")
    client = rpc.get_client(server.transport,
                            rpc.Target(topic="compute", server="node1"))
    sent = context.RequestContext(user_id="u", project_id="p",
                                  request_id="req-42")
    answer = client.call(sent, "echo", value=[1, "two"])
    assert answer == {"context_type": "RequestContext",
                      "context": sent.to_dict(), "value": [1, "two"]}


def test_only_exposed_methods_can_be_called(bus, db, clock, config):
    server = start(bus, db, clock, manager_class=__name__ + ".Echo")
    api = compute_rpcapi.ComputeAPI(config.conf, db, server.transport)
    for method in ("not_for_the_bus", "periodic_tasks", "init_host"):
        with pytest.raises(exception.ServiceTooOld, match=method):
            api.call(CTXT, method, "1.0", server="node1", timeout=10)


class NewerComputeAPI(compute_rpcapi.ComputeAPI):
    VERSION = "1.99"

    def get_host_uptime(self, ctxt, host, timeout=None):
        return self.call(ctxt, "get_host_uptime", "1.99", server=host,
                         timeout=timeout)


def test_a_version_the_server_lacks_is_a_clear_error_not_a_hang(
        bus, db, clock, config):
    server = start(bus, db, clock)
    newer = NewerComputeAPI(config.conf, db, server.transport)
    with pytest.raises(exception.ServiceTooOld) as caught:
        newer.get_host_uptime(CTXT, "node1", timeout=30)
    message = str(caught.value)
    assert "node1 cannot take get_host_uptime at version 1.99" in message
    assert "[upgrade_levels] compute" in message


def test_a_call_nobody_answers_says_so(bus, db, clock, config):
    server = start(bus, db, clock)
    api = compute_rpcapi.ComputeAPI(config.conf, db, server.transport)
    with pytest.raises(exception.ServiceNotAnswering,
                       match="on nowhere to get_host_uptime within 0.5 s"):
        api.get_host_uptime(CTXT, "nowhere", timeout=0.5)


# Version caps --------------------------------------------------------------

def test_a_pinned_cap_refuses_newer_methods_before_sending(bus, db, clock,
                                                           config):
    config.config(compute="1.0", group="upgrade_levels")
    server = start(bus, db, clock)
    newer = NewerComputeAPI(config.conf, db, server.transport)
    assert newer.can_send_version("1.0")
    assert not newer.can_send_version("1.1")
    with pytest.raises(exception.ServiceTooOld,
                       match=r"\[upgrade_levels\] compute caps what is sent "
                             r"at 1.0"):
        newer.get_host_uptime(CTXT, "node1")


def _service_row(db, host, version, seconds_ago=0, binary="novalite-compute"):
    row = db.service_get_or_create(host, binary, "compute", version)
    with db.engine.begin() as connection:
        connection.execute(sa.update(models.services).where(
            models.services.c.id == row.id).values(
                updated_at=models.utcnow()
                - datetime.timedelta(seconds=seconds_ago)))


def test_auto_caps_at_the_lowest_live_version_read_once(bus, db, config):
    config.config(compute="auto", group="upgrade_levels")
    config.config(service_down_time=60)
    _service_row(db, "new", "1.3")
    _service_row(db, "older", "1.1")
    _service_row(db, "dead", "1.0", seconds_ago=3600)
    _service_row(db, "sched", "0.9", binary="novalite-scheduler")
    api = NewerComputeAPI(config.conf, db, rpc.get_transport(config.conf))
    assert api.client.version_cap == "1.1"
    _service_row(db, "older", "1.0")
    assert api.client.version_cap == "1.1"
    api.reset()  # SIGHUP
    assert api.client.version_cap == "1.0"


def test_auto_waits_for_the_first_live_service_to_settle(bus, db, config):
    config.config(compute="auto", group="upgrade_levels")
    api = NewerComputeAPI(config.conf, db, rpc.get_transport(config.conf))
    assert api.client.version_cap == NewerComputeAPI.VERSION
    _service_row(db, "old", "1.0")
    assert api.client.version_cap == "1.0"
    _service_row(db, "old", "1.1")
    assert api.client.version_cap == "1.0"


def test_sighup_makes_the_scheduler_api_read_its_cap_again(bus, db, clock,
                                                           config):
    config.config(scheduler="auto", group="upgrade_levels")
    server = start(bus, db, clock)
    _service_row(db, "sched", "1.0", binary="novalite-scheduler")
    api = server.manager.scheduler_rpcapi
    assert api.client.version_cap == "1.0"
    _service_row(db, "sched", "0.9", binary="novalite-scheduler")
    server.manager.reset()
    assert api.client.version_cap == "0.9"


# Capabilities --------------------------------------------------------------

def test_capabilities_reach_every_scheduler_and_the_database(bus, db, clock,
                                                             config):
    schedulers = [start(bus, db, clock, binary="novalite-scheduler",
                        host="sched%d" % n) for n in (1, 2)]
    api = scheduler_rpcapi.SchedulerAPI(config.conf, db,
                                        schedulers[0].transport)
    api.update_service_capabilities(CTXT, "compute", "node7",
                                    {"vcpus": 4, "free_ram_mb": 1024})
    for scheduler in schedulers:
        states = scheduler.manager.host_manager.service_states
        wait_until(lambda states=states: "node7" in states)
        assert states["node7"]["compute"]["capabilities"] == {
            "vcpus": 4, "free_ram_mb": 1024}
    assert db.capabilities_get("compute", "node7") == {
        "vcpus": 4, "free_ram_mb": 1024}


def test_a_compute_publishes_its_capabilities_at_its_second_tick(
        bus, db, clock, config):
    scheduler = start(bus, db, clock, binary="novalite-scheduler",
                      host="sched1")
    compute = start(bus, db, clock, host="node3")
    compute.periodic_tasks()
    assert compute.manager.scheduler_rpcapi.published == {}
    clock.advance(compute.periodic_interval)
    compute.periodic_tasks()
    states = scheduler.manager.host_manager.service_states
    wait_until(lambda: "node3" in states)
    assert states["node3"]["compute"]["capabilities"]["vcpus"] == 8


def _publish_while(api, monkeypatch, error, times):
    """Publish ``times`` times while every cast raises ``error``, then
    once more with the bus working; the messages of the SchedulerAPI."""
    failing = {"on": True}
    real_cast = api.cast

    def cast(*args, **kwargs):
        if failing["on"]:
            raise oslo_messaging.MessageDeliveryFailure(error)
        return real_cast(*args, **kwargs)

    monkeypatch.setattr(api, "cast", cast)
    for free in range(times):
        api.update_service_capabilities(CTXT, "compute", "node1",
                                        {"free_ram_mb": free})
        concurrency.cooperative_yield()
    failing["on"] = False
    api.update_service_capabilities(CTXT, "compute", "node1",
                                    {"free_ram_mb": times})
    concurrency.cooperative_yield()


@pytest.mark.parametrize("error, level, said", [
    ("broker gone", logging.WARNING, "Capabilities of node1 not sent to "
     "the schedulers (broker gone)"),
    ("Basic.publish: (404) NOT_FOUND - no exchange 'scheduler_fanout' in "
     "vhost '/'", logging.INFO, "No scheduler consumes the scheduler "
     "fanout now"),
])
def test_a_lost_fanout_is_said_once_and_the_database_keeps_it(
        bus, db, config, monkeypatch, caplog, error, level, said):
    caplog.set_level(logging.INFO, logger="novalite")
    api = scheduler_rpcapi.SchedulerAPI(config.conf, db,
                                        rpc.get_transport(config.conf))
    _publish_while(api, monkeypatch, error, times=3)
    assert db.capabilities_get("compute", "node1") == {"free_ram_mb": 3}

    def records():
        return [r for r in caplog.records
                if r.name == "novalite.scheduler.rpcapi"
                and r.levelno >= logging.INFO]

    wait_until(lambda: any("fanned out to the schedulers again" in
                           r.getMessage() for r in records()))
    records = records()
    assert [(r.levelno, r.getMessage()[:len(said)]) for r in records] == [
        (level, said), (logging.INFO, "Capabilities of node1 are fanned out "
                        "to the schedulers again"[:len(said)])]


# Boots ---------------------------------------------------------------------

def test_a_boot_goes_scheduler_to_compute_and_back_on_failure(
        bus, db, clock, config, monkeypatch):
    """The whole request on the bus: the scheduler chooses the bigger
    host, whose spawn fails; it sends the boot back, and the other host
    builds it."""
    config.config(ram_allocation_ratio=1.0)
    scheduler = start(bus, db, clock, binary="novalite-scheduler",
                      host="sched1")
    failing = start(bus, db, clock, host="node1")
    start(bus, db, clock, host="node2")
    db.compute_node_save("node2", memory_mb=4096)

    def refuse(context, instance):
        raise RuntimeError("no room at the hypervisor")

    monkeypatch.setattr(failing.manager.driver, "spawn", refuse)
    instance = db.instance_create(
        uuid=str(uuid.uuid4()), display_name="vm",
        vm_state=vm_states.BUILDING, task_state="scheduling", power_state=0,
        vcpus=1, memory_mb=512, root_gb=1)
    api = scheduler_rpcapi.SchedulerAPI(config.conf, db,
                                        scheduler.transport)
    api.run_instance(CTXT, {"instance_uuids": [instance.uuid],
                            "instance_properties": {
                                "memory_mb": 512, "vcpus": 1, "root_gb": 1,
                                "availability_zone": None,
                                "image_ref": None}}, {})
    wait_until(lambda: db.instance_get(instance.uuid).vm_state
               == vm_states.ACTIVE)
    row = db.instance_get(instance.uuid)
    assert row.host == "node2"
    fault = db.instance_fault_get_latest(instance.uuid)
    assert (fault.host, fault.message) == ("node1",
                                           "no room at the hypervisor")


def test_select_destinations_answers_host_names_or_no_valid_host(
        bus, db, clock, config):
    scheduler = start(bus, db, clock, binary="novalite-scheduler",
                      host="sched1")
    start(bus, db, clock, host="node1")
    api = scheduler_rpcapi.SchedulerAPI(config.conf, db,
                                        scheduler.transport)
    spec = {"instance_uuids": ["a", "b"], "instance_properties": {
        "memory_mb": 512, "vcpus": 1, "root_gb": 1,
        "availability_zone": None, "image_ref": None}}
    assert api.select_destinations(CTXT, spec, {}) == ["node1", "node1"]
    spec["instance_properties"]["memory_mb"] = 2 ** 30
    with pytest.raises(exception.NoValidHost, match="RamFilter"):
        api.select_destinations(CTXT, spec, {})


# Stopping ------------------------------------------------------------------

def test_stop_stops_timers_and_consuming_before_waiting_for_work(
        bus, db, clock, monkeypatch):
    server = start(bus, db, clock)
    bus.remove(server)
    order = []

    class Timer:
        def stop(self):
            order.append("timers")

    server.timers = [Timer()]
    monkeypatch.setattr(server.rpcserver, "stop",
                        lambda: order.append("consuming"))
    monkeypatch.setattr(server.periodic_runner, "stop",
                        lambda timeout: order.append("periodic"))
    monkeypatch.setattr(server.rpcserver, "wait",
                        lambda: order.append("calls in flight"))
    monkeypatch.setattr(server.manager, "cleanup_host",
                        lambda: order.append("cleanup_host"))
    server.stop(graceful_timeout=5)
    if concurrency.BACKEND == "eventlet":
        assert order == ["timers", "periodic", "consuming",
                         "calls in flight", "cleanup_host"]
    else:  # consuming stops in a thread beside the periodic runner's stop
        assert order[0] == "timers"
        assert sorted(order[1:3]) == ["consuming", "periodic"]
        assert order[3:] == ["calls in flight", "cleanup_host"]


def test_a_stop_that_hangs_is_left_when_the_budget_is_spent(
        bus, db, clock, monkeypatch, caplog):
    """A broker gone quiet holds oslo.messaging's stop() and the closing
    of the transport; the service waits for neither past its budget."""
    caplog.set_level(logging.WARNING, logger="novalite")
    server = start(bus, db, clock)
    bus.remove(server)
    never = concurrency.new_event()
    monkeypatch.setattr(server.rpcserver, "stop", never.wait)
    monkeypatch.setattr(server.transport, "cleanup", never.wait)
    monkeypatch.setattr(service, "TRANSPORT_CLOSE_SECONDS", 0.2)
    real_clock = time.monotonic()
    server.stop(graceful_timeout=0.2)
    assert time.monotonic() - real_clock < 5
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
    assert [w.split(" within")[0] for w in warnings] == [
        "novalite-compute did not stop consuming",
        "novalite-compute did not close its connections to the broker"]


def test_a_transport_url_in_a_file_is_a_bus_even_if_it_is_the_default(
        tmp_path):
    path = tmp_path / "bus.conf"
    path.write_text("[DEFAULT]\ntransport_url = rabbit://\n")
    conf = novalite_config.cfg.ConfigOpts()
    novalite_config.parse_args(["novalite-compute", "--config-file",
                                str(path)], conf=conf,
                               default_config_files=[])
    assert rpc.is_configured(conf)
    empty = novalite_config.cfg.ConfigOpts()
    novalite_config.parse_args(["novalite-compute"], conf=empty,
                               default_config_files=[])
    assert not rpc.is_configured(empty)


def test_what_a_fleet_does_every_day_is_not_a_warning_or_an_error(caplog):
    caplog.set_level(logging.WARNING)
    amqp_log = logging.getLogger("amqp")
    amqp_log.warning("Received method (60, 30) during closing channel 1. "
                     "This method will be ignored")
    amqp_log.warning("Something else the broker did")
    rabbit_log = logging.getLogger("oslo.messaging._drivers.impl_rabbit")
    rabbit_log.error("Failed to publish message to topic 'scheduler_fanout':"
                     " Basic.publish: (404) NOT_FOUND - no exchange "
                     "'scheduler_fanout' in vhost '/'")
    rabbit_log.error("Failed to publish message to topic 'compute': "
                     "Basic.publish: (404) NOT_FOUND - no exchange 'nova' "
                     "in vhost '/'")
    assert [r.getMessage()[:40] for r in caplog.records] == [
        "Something else the broker did",
        "Failed to publish message to topic 'comp"]


def test_a_stuck_fanout_never_holds_up_the_pass_and_only_the_newest_goes(
        bus, db, config, monkeypatch):
    api = scheduler_rpcapi.SchedulerAPI(config.conf, db,
                                        rpc.get_transport(config.conf))
    release = concurrency.new_event()
    sent = []

    def stuck_cast(ctxt, method, version, **kwargs):
        sent.append(kwargs["capabilities"]["free_ram_mb"])
        if len(sent) == 1:
            release.wait()

    monkeypatch.setattr(api, "cast", stuck_cast)
    for free in range(5):
        api.update_service_capabilities(CTXT, "compute", "node1",
                                        {"free_ram_mb": free})
        concurrency.cooperative_yield()
        wait_until(lambda: sent)
    assert sent == [0]
    assert db.capabilities_get("compute", "node1") == {"free_ram_mb": 4}
    release.send(True)
    wait_until(lambda: api._sender is None)
    assert sent == [0, 4]
