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

"""Claims on the compute: the resource tracker, and a scheduled boot that
claims, spawns, or goes back to the schedulers; fake driver and SQLite,
the casts to the schedulers recorded."""

import uuid as uuid_lib

import pytest

from novalite.compute import manager as compute_manager
from novalite.compute import task_states
from novalite.compute import vm_states
from novalite import context
from novalite import exception

CTXT = context.get_admin_context()


class RecordingSchedulerAPI:

    def __init__(self):
        self.sent = []

    def run_instance(self, context, request_spec, filter_properties):
        self.sent.append((request_spec, filter_properties))


@pytest.fixture
def compute(db, config, clock, tmp_path):
    config.config(instances_path=str(tmp_path / "instances"), host="node1",
                  ram_allocation_ratio=1.0, cpu_allocation_ratio=1.0)
    config.config(vcpus=4, memory_mb=4096, local_gb=100, group="fake_driver")
    manager = compute_manager.ComputeManager(host="node1", db=db,
                                             clock=clock)
    manager.init_host()
    manager.scheduler_rpcapi = RecordingSchedulerAPI()
    return manager


def _sent_here(db, host="node1", memory_mb=1024, vcpus=1, root_gb=10):
    """An instance a scheduler gave to ``host``, not claimed yet."""
    return db.instance_create(
        uuid=str(uuid_lib.uuid4()), display_name="vm", host=host,
        vm_state=vm_states.BUILDING, task_state=task_states.SCHEDULING,
        power_state=0, vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb)


def _used(db, host="node1"):
    node = db.compute_node_get(host)
    return node.memory_mb_used, node.vcpus_used, node.local_gb_used


def _retry(*hosts):
    return {"retry": {"num_attempts": len(hosts), "hosts": list(hosts)}}


# The resource tracker ---------------------------------------------------

def test_a_claim_takes_the_room_and_the_audit_agrees(compute, db):
    instance = _sent_here(db, memory_mb=1024, vcpus=2, root_gb=30)
    claimed = compute.resource_tracker.claim(instance)
    assert claimed.task_state == task_states.SPAWNING
    assert _used(db) == (1024, 2, 30)
    compute.update_available_resource(CTXT)
    assert _used(db) == (1024, 2, 30)


def test_instances_on_their_way_count_and_a_claim_leaves_them_room(
        compute, db):
    first = _sent_here(db, memory_mb=3072)
    compute.update_available_resource(CTXT)
    assert _used(db)[0] == 3072
    second = _sent_here(db, memory_mb=2048)
    with pytest.raises(exception.ComputeResourcesUnavailable,
                       match="RAM: 2048 MiB asked, 1024 MiB left of "
                             "4096 MiB x 1"):
        compute.resource_tracker.claim(second)
    assert db.instance_get(second.uuid).task_state == task_states.SCHEDULING
    # Once the refused one is sent back, the first has its room.
    db.instance_update(second.uuid, host=None)
    assert compute.resource_tracker.claim(first) is not None
    assert _used(db)[0] == 3072


def test_a_claim_that_does_not_fit_takes_nothing(compute, db):
    instance = _sent_here(db, memory_mb=1024, vcpus=5)
    with pytest.raises(exception.ComputeResourcesUnavailable,
                       match="vCPUs: 5 asked, 4 left"):
        compute.resource_tracker.claim(instance)
    assert db.instance_get(instance.uuid).task_state == (
        task_states.SCHEDULING)


def test_an_instance_no_longer_sent_here_is_not_claimed(compute, db):
    instance = _sent_here(db)
    db.instance_update(instance.uuid, host=None)
    assert compute.resource_tracker.claim(instance) is None


# Scheduled boots --------------------------------------------------------

def test_a_scheduled_boot_is_claimed_spawned_and_active(compute, db):
    instance = _sent_here(db, memory_mb=2048)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    row = db.instance_get(instance.uuid)
    assert (row.vm_state, row.task_state) == (vm_states.ACTIVE, None)
    assert instance.uuid in compute.driver.list_instances()
    assert _used(db)[0] == 2048
    assert compute.scheduler_rpcapi.sent == []


def test_a_failed_spawn_goes_back_to_the_schedulers(compute, db,
                                                    monkeypatch):
    def refuse(context, instance):
        raise RuntimeError("hypervisor on fire")

    monkeypatch.setattr(compute.driver, "spawn", refuse)
    instance = _sent_here(db, memory_mb=2048)
    request = {"instance_uuids": [instance.uuid]}
    compute.build_and_run_instance(CTXT, instance.uuid, request,
                                   _retry("node1"))
    row = db.instance_get(instance.uuid)
    assert (row.vm_state, row.task_state, row.host) == (
        vm_states.BUILDING, task_states.SCHEDULING, None)
    assert _used(db) == (0, 0, 0)
    assert compute.driver.list_instances() == []
    [(spec, properties)] = compute.scheduler_rpcapi.sent
    assert spec == request
    assert properties["retry"]["hosts"] == ["node1"]
    assert properties["retry"]["exc"] == "hypervisor on fire"
    fault = db.instance_fault_get_latest(instance.uuid)
    assert (fault.message, fault.host) == ("hypervisor on fire", "node1")


def test_a_failed_claim_goes_back_to_the_schedulers(compute, db):
    instance = _sent_here(db, memory_mb=8192)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    [(_, properties)] = compute.scheduler_rpcapi.sent
    assert "RAM: 8192 MiB asked" in properties["retry"]["exc"]
    assert db.instance_get(instance.uuid).host is None


def test_without_retry_a_failed_boot_is_error_and_released(compute, db,
                                                          monkeypatch):
    monkeypatch.setattr(compute.driver, "spawn",
                        lambda context, instance: 1 / 0)
    instance = _sent_here(db, memory_mb=2048)
    compute.build_and_run_instance(CTXT, instance.uuid, {},
                                   {"force_hosts": ["node1"]})
    row = db.instance_get(instance.uuid)
    assert (row.vm_state, row.task_state, row.host) == (
        vm_states.ERROR, None, None)
    assert _used(db) == (0, 0, 0)
    assert compute.scheduler_rpcapi.sent == []
    assert db.instance_fault_get_latest(instance.uuid).message == (
        "division by zero")


def test_a_boot_given_up_while_it_spawned_is_destroyed(compute, db,
                                                       monkeypatch):
    instance = _sent_here(db)
    spawn = compute.driver.spawn

    def spawn_too_slowly(context, row):
        spawn(context, row)
        db.instance_update(row["uuid"], vm_state=vm_states.ERROR,
                           task_state=None, host=None)

    monkeypatch.setattr(compute.driver, "spawn", spawn_too_slowly)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    assert db.instance_get(instance.uuid).vm_state == vm_states.ERROR
    assert compute.driver.list_instances() == []
    assert _used(db) == (0, 0, 0)


def test_a_boot_deleted_before_it_arrives_is_not_built(compute, db):
    instance = _sent_here(db)
    db.instance_destroy(instance.uuid, vm_state=vm_states.DELETED,
                        task_state=None)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    assert compute.driver.list_instances() == []


def test_delete_frees_the_claim(compute, db):
    instance = _sent_here(db, memory_mb=2048, vcpus=2, root_gb=20)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    assert _used(db) == (2048, 2, 20)
    compute.terminate_instance(CTXT, instance.uuid)
    assert _used(db) == (0, 0, 0)
    compute.update_available_resource(CTXT)
    assert _used(db) == (0, 0, 0)


def test_a_local_boot_that_does_not_fit_is_error_with_a_fault(compute, db):
    with pytest.raises(exception.ComputeResourcesUnavailable):
        compute.run_instance(CTXT, display_name="big", memory_mb=8192)
    [row] = db.instance_get_all()
    assert row.vm_state == vm_states.ERROR
    assert "RAM: 8192 MiB asked" in db.instance_fault_get_latest(
        row.uuid).message


def test_init_host_sends_back_a_boot_it_had_not_claimed(compute, db,
                                                        clock):
    """Its message was taken off the queue before the restart: it would
    never come again."""
    waiting = _sent_here(db, memory_mb=1024)
    half = _sent_here(db)
    db.instance_update(half.uuid, task_state=task_states.SPAWNING)
    again = compute_manager.ComputeManager(host="node1", db=db, clock=clock,
                                           transport=object())
    again.scheduler_rpcapi = RecordingSchedulerAPI()
    again.init_host()
    row = db.instance_get(waiting.uuid)
    assert (row.task_state, row.host) == (task_states.SCHEDULING, None)
    [(spec, properties)] = again.scheduler_rpcapi.sent
    assert spec["instance_uuids"] == [waiting.uuid]
    assert spec["instance_properties"]["memory_mb"] == 1024
    assert properties["retry"]["hosts"] == ["node1"]
    assert db.instance_get(half.uuid).vm_state == vm_states.ERROR
    assert "stopped while the instance was spawning" in (
        db.instance_fault_get_latest(half.uuid).message)


def test_standalone_init_host_gives_up_a_boot_it_had_not_claimed(
        compute, db, clock):
    waiting = _sent_here(db)
    again = compute_manager.ComputeManager(host="node1", db=db, clock=clock)
    again.init_host()
    assert db.instance_get(waiting.uuid).vm_state == vm_states.ERROR
    assert "restarted before it claimed" in db.instance_fault_get_latest(
        waiting.uuid).message


def test_a_refused_claim_does_not_crowd_out_the_next(compute, db):
    """Room for three: the fourth is refused and, while it is sent back,
    no longer counted, so the third still fits."""
    first, second = _sent_here(db), _sent_here(db)
    for instance in (first, second):
        compute.resource_tracker.claim(instance)
    refused = _sent_here(db, memory_mb=2048)
    third = _sent_here(db)
    with pytest.raises(exception.ComputeResourcesUnavailable):
        compute.resource_tracker.claim(refused)
    assert compute.resource_tracker.claim(third) is not None
    assert _used(db)[0] == 3072


def test_a_delete_that_reaches_the_old_host_follows_the_instance(
        compute, db, monkeypatch):
    forwarded = []
    monkeypatch.setattr(compute.compute_rpcapi, "terminate_instance",
                        lambda context, host, uuid: forwarded.append(
                            (host, uuid)))
    moved = _sent_here(db, host="node2")
    compute.terminate_instance(CTXT, moved.uuid)
    assert forwarded == [("node2", moved.uuid)]
    waiting = _sent_here(db, host=None)
    compute.terminate_instance(CTXT, waiting.uuid)
    assert db.instance_get(waiting.uuid) is None


def test_a_boot_being_deleted_is_not_sent_back(compute, db, monkeypatch):
    def refuse(context, instance):
        db.instance_update(instance["uuid"],
                           task_state=task_states.DELETING)
        raise RuntimeError("spawn failed while a delete came")

    monkeypatch.setattr(compute.driver, "spawn", refuse)
    instance = _sent_here(db)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    assert compute.scheduler_rpcapi.sent == []
    row = db.instance_get(instance.uuid)
    assert (row.host, row.task_state) == ("node1", task_states.DELETING)
    compute.terminate_instance(CTXT, instance.uuid)
    assert db.instance_get(instance.uuid) is None
    assert _used(db) == (0, 0, 0)


def test_a_boot_the_schedulers_cannot_take_back_is_error(compute, db,
                                                         monkeypatch):
    def broker_gone(context, request_spec, filter_properties):
        raise OSError("broker gone")

    monkeypatch.setattr(compute.scheduler_rpcapi, "run_instance",
                        broker_gone)
    monkeypatch.setattr(compute.driver, "spawn",
                        lambda context, instance: 1 / 0)
    instance = _sent_here(db)
    compute.build_and_run_instance(CTXT, instance.uuid, {}, _retry("node1"))
    row = db.instance_get(instance.uuid)
    assert (row.vm_state, row.task_state) == (vm_states.ERROR, None)
    assert "could not be sent back to the schedulers: broker gone" in (
        db.instance_fault_get_latest(instance.uuid).message)
