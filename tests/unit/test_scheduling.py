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

"""The filter scheduler: filters, the RAM weigher, what a decision
consumes, retries, and the boots that stall; on SQLite and without a bus
(the casts are recorded)."""

import datetime
import uuid as uuid_lib

import pytest
import sqlalchemy as sa

from novalite.compute import task_states
from novalite.compute import vm_states
from novalite import context
from novalite.db import models
from novalite import exception
from novalite.scheduler import filter_scheduler
from novalite.scheduler import filters
from novalite.scheduler import host_manager
from novalite.scheduler import manager as scheduler_manager
from novalite.scheduler import weights

CTXT = context.get_admin_context()
TINY = {"memory_mb": 512, "vcpus": 1, "root_gb": 1,
        "availability_zone": None, "image_ref": None}


def _state(host="node1", ram=(4096, 0), vcpus=(4, 0), disk=(100, 0),
           up=True, disabled=False, zone="nova"):
    state = host_manager.HostState(host)
    state.total = {"memory_mb": ram[0], "vcpus": vcpus[0],
                   "root_gb": disk[0]}
    state.used = {"memory_mb": ram[1], "vcpus": vcpus[1], "root_gb": disk[1]}
    state.up, state.disabled, state.availability_zone = up, disabled, zone
    return state


def _asking(**properties):
    return {"instance_properties": dict(TINY, **properties)}


# Filters ----------------------------------------------------------------

def test_compute_filter_wants_up_and_enabled(config):
    compute = filters.ComputeFilter(config.conf)
    assert compute.host_passes(_state(), _asking())
    assert not compute.host_passes(_state(up=False), _asking())
    assert not compute.host_passes(_state(disabled=True), _asking())


@pytest.mark.parametrize("name,option,key,total,used,fits,too_big", [
    ("RamFilter", "ram_allocation_ratio", "memory_mb", 1024, 512, 1536,
     1537),
    ("CoreFilter", "cpu_allocation_ratio", "vcpus", 2, 1, 3, 4),
    ("DiskFilter", "disk_allocation_ratio", "root_gb", 10, 5, 15, 16),
])
def test_resource_filters_overcommit_by_their_ratio(
        config, name, option, key, total, used, fits, too_big):
    config.config(**{option: 2.0})
    host_filter = filters.by_name()[name](config.conf)
    state = _state(**{{"memory_mb": "ram", "vcpus": "vcpus",
                       "root_gb": "disk"}[key]: (total, used)})
    assert host_filter.host_passes(state, _asking(**{key: fits}))
    assert not host_filter.host_passes(state, _asking(**{key: too_big}))


def test_availability_zone_and_retry_filters(config):
    zone = filters.AvailabilityZoneFilter(config.conf)
    assert zone.host_passes(_state(zone="az1"), _asking())
    assert zone.host_passes(_state(zone="az1"),
                            _asking(availability_zone="az1"))
    assert not zone.host_passes(_state(zone="az2"),
                                _asking(availability_zone="az1"))
    retry = filters.RetryFilter(config.conf)
    tried = dict(_asking(), retry={"num_attempts": 1, "hosts": ["node1"]})
    assert not retry.host_passes(_state("node1"), tried)
    assert retry.host_passes(_state("node2"), tried)
    assert retry.host_passes(_state("node1"), _asking())


def test_every_configurable_filter_and_weigher_exists():
    from novalite.conf import scheduler as scheduler_conf

    assert sorted(filters.by_name()) == sorted(scheduler_conf.FILTERS)
    assert sorted(weights.by_name()) == sorted(scheduler_conf.WEIGHERS)


# Weighers ---------------------------------------------------------------

def test_the_ram_weigher_spreads_and_a_negative_multiplier_stacks(config):
    states = [_state("full", ram=(4096, 3072)),
              _state("empty", ram=(4096, 0)),
              _state("half", ram=(4096, 2048))]
    weighers = weights.load(config.conf, ["RAMWeigher"])
    assert [s.host for s in weights.weigh(weighers, states, {})] == [
        "empty", "half", "full"]
    config.config(ram_weight_multiplier=-1.0, group="filter_scheduler")
    assert [s.host for s in weights.weigh(weighers, states, {})] == [
        "full", "half", "empty"]


def test_equal_weights_keep_the_hosts_order_and_none_is_fine(config):
    weighers = weights.load(config.conf, ["RAMWeigher"])
    states = [_state("a"), _state("b")]
    assert weights.weigh(weighers, states, {}) == states
    assert weights.weigh(weighers, [], {}) == []


# HostState --------------------------------------------------------------

def _read_node(db, host):
    [row] = [row for row in db.compute_hosts_for_scheduling(
        "novalite-compute") if row.host == host]
    return row


def _node_row(db, host, **values):
    db.compute_node_save(host, **values)
    return _read_node(db, host)


def test_a_consumption_counts_until_the_instance_is_the_hosts(db):
    """Usage is what the instances given to the host take (the instances
    table, as the host's claims count it), plus what was chosen and not
    given yet: no clock decides what is counted."""
    state = host_manager.HostState("node1")
    _node_row(db, "node1", vcpus=4, vcpus_used=0, memory_mb=4096,
              memory_mb_used=0, local_gb=100, local_gb_used=0)
    state.update_from_compute_node(_read_node(db, "node1"), now=0)
    token = state.consume_from_instance(TINY, now=0)
    assert state.free_ram_mb == 3584 and state.free_vcpus == 3
    state.update_from_compute_node(_read_node(db, "node1"), now=1)
    assert state.free_ram_mb == 3584
    # Given to the host in the database: counted from there, once.
    db.instance_create(uuid=str(uuid_lib.uuid4()), host="node1",
                       vm_state=vm_states.BUILDING,
                       task_state=task_states.SCHEDULING, power_state=0,
                       vcpus=1, memory_mb=512, root_gb=1)
    state.placed(token)
    state.update_from_compute_node(_read_node(db, "node1"), now=2)
    assert (state.free_ram_mb, state.free_disk_gb) == (3584, 99)
    # Not given after all: returned.
    token = state.consume_from_instance(TINY, now=2)
    state.return_instance(token)
    assert state.free_ram_mb == 3584
    # One nobody resolves is forgotten after PENDING_SECONDS.
    state.consume_from_instance(TINY, now=2)
    state.update_from_compute_node(_read_node(db, "node1"), now=3)
    assert state.free_ram_mb == 3072
    state.update_from_compute_node(
        _read_node(db, "node1"), now=3 + host_manager.PENDING_SECONDS)
    assert state.free_ram_mb == 3584


# The filter scheduler ---------------------------------------------------

class RecordingComputeAPI:
    """Stands for the computes: records the boots sent to each host."""

    def __init__(self):
        self.sent = []

    def build_and_run_instance(self, context, host, uuid, request_spec,
                               filter_properties):
        self.sent.append((host, uuid, filter_properties))


def _compute_host(db, host, memory_mb=4096, vcpus=4, local_gb=100,
                  disabled=False, zone="nova"):
    service = db.service_get_or_create(host, "novalite-compute", "compute",
                                       "1.1")
    if disabled:
        db.service_update(service.id, disabled=True)
    db.compute_node_save(host, vcpus=vcpus, vcpus_used=0,
                         memory_mb=memory_mb, memory_mb_used=0,
                         local_gb=local_gb, local_gb_used=0,
                         free_ram_mb=memory_mb,
                         free_disk_gb=local_gb, running_vms=0,
                         availability_zone=zone)


@pytest.fixture
def scheduler(db, config, clock):
    config.config(ram_allocation_ratio=1.0)
    hosts = host_manager.HostManager(config.conf, db, clock)
    driver = filter_scheduler.FilterScheduler(config.conf, db, hosts)
    driver.compute_rpcapi = RecordingComputeAPI()
    return driver


def _request(count=1, **properties):
    return {"instance_uuids": [str(uuid_lib.uuid4()) for _ in range(count)],
            "instance_properties": dict(TINY, **properties)}


def _hosts(chosen):
    return [state.host for state in chosen]


def test_a_burst_spreads_because_each_decision_consumes(db, scheduler):
    _compute_host(db, "big", memory_mb=8192)
    _compute_host(db, "small", memory_mb=6144)
    chosen = _hosts(scheduler.select_destinations(_request(count=10), {}))
    # Most free RAM first: big until it has no more than small, then
    # one each in turn.
    assert chosen == ["big"] * 4 + ["big", "small"] * 3


def test_no_valid_host_names_the_filter_that_left_none(db, scheduler):
    _compute_host(db, "node1", memory_mb=1024)
    _compute_host(db, "node2", memory_mb=1024, disabled=True)
    with pytest.raises(exception.NoValidHost,
                       match="RamFilter left none of 1"):
        scheduler.select_destinations(_request(memory_mb=2048), {})
    with pytest.raises(exception.NoValidHost,
                       match="AvailabilityZoneFilter left none of 2"):
        scheduler.select_destinations(_request(availability_zone="az9"), {})


def test_no_host_at_all_is_no_valid_host(scheduler):
    with pytest.raises(exception.NoValidHost,
                       match="No compute host has reported"):
        scheduler.select_destinations(_request(), {})


def test_a_forced_host_skips_the_filters(db, scheduler):
    _compute_host(db, "node1", disabled=True)
    _compute_host(db, "node2")
    assert _hosts(scheduler.select_destinations(
        _request(), {"force_hosts": ["node1"]})) == ["node1"]
    with pytest.raises(exception.NoValidHost, match="nowhere"):
        scheduler.select_destinations(_request(),
                                      {"force_hosts": ["nowhere"]})


def test_host_subset_size_chooses_among_the_best(db, scheduler, config):
    config.config(host_subset_size=2, group="filter_scheduler")
    for host in ("a", "b", "c"):
        _compute_host(db, host, memory_mb=65536)
    _compute_host(db, "worst", memory_mb=32768)
    chosen = set()
    for _ in range(40):
        chosen.update(_hosts(scheduler.select_destinations(
            _request(memory_mb=1), {})))
    assert len(chosen) >= 2 and "worst" not in chosen


def _instance(db, host=None, task_state=task_states.SCHEDULING, **values):
    return db.instance_create(
        uuid=str(uuid_lib.uuid4()), display_name="vm", host=host,
        vm_state=vm_states.BUILDING, task_state=task_state, power_state=0,
        vcpus=1, memory_mb=512, root_gb=1, **values)


def _boot_request(db, count=1):
    request = _request()
    request["instance_uuids"] = [_instance(db).uuid for _ in range(count)]
    return request


def test_each_instance_goes_to_its_host_with_its_attempt_counted(
        db, scheduler):
    _compute_host(db, "node1")
    _compute_host(db, "node2")
    request = _boot_request(db, count=2)
    scheduler.schedule_run_instance(CTXT, request, {})
    sent = scheduler.compute_rpcapi.sent
    assert [uuid for _, uuid, _ in sent] == request["instance_uuids"]
    assert sorted(host for host, _, _ in sent) == ["node1", "node2"]
    for host, uuid, properties in sent:
        assert properties["retry"] == {"num_attempts": 1, "hosts": [host]}
        assert db.instance_get(uuid).host == host


def test_a_retry_avoids_the_hosts_tried_and_then_runs_out(db, scheduler,
                                                          config):
    config.config(scheduler_max_attempts=2)
    _compute_host(db, "node1", memory_mb=8192)
    _compute_host(db, "node2")
    request = _boot_request(db)
    [uuid] = request["instance_uuids"]
    retry = {"num_attempts": 1, "hosts": ["node1"], "exc": "spawn failed"}
    scheduler.schedule_run_instance(CTXT, request, {"retry": retry})
    [(host, _, properties)] = scheduler.compute_rpcapi.sent
    assert host == "node2"
    assert properties["retry"]["hosts"] == ["node1", "node2"]

    db.instance_update(uuid, host=None)
    scheduler.schedule_run_instance(CTXT, request, properties)
    assert len(scheduler.compute_rpcapi.sent) == 1
    row = db.instance_get(uuid)
    assert (row.vm_state, row.task_state, row.host) == (
        vm_states.ERROR, None, None)
    fault = db.instance_fault_get_latest(uuid)
    assert "Exceeded maximum number of retries" in fault.message
    assert "spawn failed" in fault.message


def test_an_instance_nobody_can_take_is_error_with_a_fault(db, scheduler):
    _compute_host(db, "node1", memory_mb=256)
    request = _boot_request(db)
    scheduler.schedule_run_instance(CTXT, request, {})
    [uuid] = request["instance_uuids"]
    assert db.instance_get(uuid).vm_state == vm_states.ERROR
    assert db.instance_fault_get_latest(uuid).message.startswith(
        "No valid host was found. ")
    assert scheduler.compute_rpcapi.sent == []


def test_an_instance_deleted_while_scheduled_is_not_sent(db, scheduler):
    _compute_host(db, "node1")
    request = _boot_request(db)
    [uuid] = request["instance_uuids"]
    db.instance_update(uuid, task_state=task_states.DELETING)
    scheduler.schedule_run_instance(CTXT, request, {})
    assert scheduler.compute_rpcapi.sent == []
    assert db.instance_get(uuid).host is None


# Stalled boots ----------------------------------------------------------

def _backdate(db, uuid, seconds):
    with db.engine.begin() as connection:
        connection.execute(sa.update(models.instances).where(
            models.instances.c.uuid == uuid).values(
                updated_at=models.utcnow()
                - datetime.timedelta(seconds=seconds)))


def test_boots_stalled_longer_than_the_timeout_end_in_error(db, config,
                                                            clock):
    config.config(instance_build_timeout=60, transport_url=None)
    manager = scheduler_manager.SchedulerManager(host="sched", db=db,
                                                 clock=clock)
    waiting = _instance(db)
    spawning = _instance(db, host="node1", task_state=task_states.SPAWNING)
    recent = _instance(db, host="node1", task_state=task_states.SPAWNING)
    active = _instance(db, host="node1", task_state=None)
    for row in (waiting, spawning, active):
        _backdate(db, row.uuid, 120)
    manager._fail_stuck_builds(CTXT)

    for row, host in ((waiting, None), (spawning, "node1")):
        failed = db.instance_get(row.uuid)
        assert (failed.vm_state, failed.task_state, failed.host) == (
            vm_states.ERROR, None, host)
    assert "Build timed out: in task scheduling waiting for a host" in (
        db.instance_fault_get_latest(waiting.uuid).message)
    fault = db.instance_fault_get_latest(spawning.uuid)
    assert "in task spawning on node1" in fault.message
    assert fault.host == "node1"
    assert db.instance_get(recent.uuid).task_state == task_states.SPAWNING
    assert db.instance_get(active.uuid).vm_state == vm_states.BUILDING
    assert db.instance_fault_get_latest(recent.uuid) is None


def test_a_stalled_boot_that_moves_on_meanwhile_is_left_alone(db, config,
                                                              clock):
    config.config(instance_build_timeout=60, transport_url=None)
    manager = scheduler_manager.SchedulerManager(host="sched", db=db,
                                                 clock=clock)
    row = _instance(db, host="node1", task_state=task_states.SPAWNING)
    _backdate(db, row.uuid, 120)
    [stalled] = db.instance_get_all_in_task_states(
        task_states.BUILDING, models.utcnow() - datetime.timedelta(
            seconds=60))
    db.instance_update(row.uuid, task_state=None,
                       vm_state=vm_states.ACTIVE)
    assert not manager.driver.set_error(
        row.uuid, "late", expected={"task_state": stalled.task_state,
                                    "host": stalled.host,
                                    "updated_at": stalled.updated_at})
    assert db.instance_get(row.uuid).vm_state == vm_states.ACTIVE


def test_a_cast_that_fails_errs_that_instance_and_the_rest_go_on(
        db, scheduler, monkeypatch):
    _compute_host(db, "node1")
    request = _boot_request(db, count=3)
    recorder = scheduler.compute_rpcapi
    record = recorder.build_and_run_instance
    first = request["instance_uuids"][0]

    def build(context, host, uuid, request_spec, filter_properties):
        if uuid == first:
            raise exception.ServiceTooOld(message="node1 is too old")
        record(context, host, uuid, request_spec, filter_properties)

    monkeypatch.setattr(scheduler.compute_rpcapi, "build_and_run_instance",
                        build)
    scheduler.schedule_run_instance(CTXT, request, {})
    row = db.instance_get(first)
    assert (row.vm_state, row.host) == (vm_states.ERROR, None)
    assert "Could not be sent to node1: node1 is too old" in (
        db.instance_fault_get_latest(first).message)
    assert [uuid for _, uuid, _ in recorder.sent] == request[
        "instance_uuids"][1:]
    # What the failed one consumed was given back.
    [state] = scheduler.host_manager.get_all_host_states()
    assert state.used["memory_mb"] == 2 * TINY["memory_mb"]


def test_when_the_hosts_run_out_before_the_attempts_the_error_is_kept(
        db, scheduler):
    _compute_host(db, "node1")
    request = _boot_request(db)
    [uuid] = request["instance_uuids"]
    scheduler.schedule_run_instance(CTXT, request, {"retry": {
        "num_attempts": 1, "hosts": ["node1"], "exc": "disk on fire"}})
    fault = db.instance_fault_get_latest(uuid).message
    assert fault.startswith("No valid host was found. ")
    assert "RetryFilter" in fault
    assert "Tried node1; the last error: disk on fire" in fault


def test_a_sighup_keeps_one_lock_for_every_decision(db, config, clock):
    config.config(transport_url=None)
    manager = scheduler_manager.SchedulerManager(host="sched", db=db,
                                                 clock=clock)
    before = manager.driver
    manager.reset()
    assert manager.driver is not before
    assert manager.driver.host_manager.deciding is (
        before.host_manager.deciding)


def test_sighup_applies_the_scheduling_options(db, config, clock):
    from novalite.conf import scheduler as scheduler_conf

    for options in scheduler_conf.list_opts().values():
        assert all(option.mutable for option in options)
    config.config(transport_url=None)
    manager = scheduler_manager.SchedulerManager(host="sched", db=db,
                                                 clock=clock)
    config.config(enabled_filters=["RamFilter"], group="filter_scheduler")
    config.config(ram_allocation_ratio=3.0)
    manager.reset()
    [ram] = manager.driver.filters
    assert (ram.name, ram.allocation_ratio) == ("RamFilter", 3.0)
