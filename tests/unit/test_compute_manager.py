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

"""ComputeManager: life cycle, init_host and every periodic task, on the
fake driver and a temporary SQLite database."""

import datetime
import logging
import os
import time

import pytest

from novalite.compute import manager as compute_manager
from novalite.compute import power_state
from novalite.compute import vm_states
from novalite import context
from novalite.db import models
from novalite import exception
from novalite.virt import driver as virt_driver
from novalite.virt import fake

CTXT = context.get_admin_context()




@pytest.fixture
def compute(db, config, clock, tmp_path):
    config.config(instances_path=str(tmp_path / "instances"), host="node1")
    config.config(vcpus=16, memory_mb=32768, local_gb=500,
                  group="fake_driver")
    mgr = compute_manager.ComputeManager(host="node1", db=db, clock=clock)
    mgr.init_host()
    return mgr


def boot(compute, **kwargs):
    options = {"display_name": "vm", "vcpus": 2, "memory_mb": 2048,
               "root_gb": 20, "image_ref": "cirros"}
    options.update(kwargs)
    return compute.run_instance(CTXT, **options)


def backdate(db, uuid, seconds, column="updated_at"):
    with db.engine.begin() as connection:
        connection.execute(models.instances.update().where(
            models.instances.c.uuid == uuid).values({
                column: models.utcnow() - datetime.timedelta(
                    seconds=seconds)}))


# Driver ---------------------------------------------------------------------

def test_driver_is_loaded_by_short_name_or_path(config):
    assert isinstance(virt_driver.load_compute_driver("fake", config.conf),
                      fake.FakeDriver)
    assert isinstance(virt_driver.load_compute_driver(
        "novalite.virt.fake.FakeDriver", config.conf), fake.FakeDriver)


@pytest.mark.parametrize("name", ["libvirt", "novalite.virt.fake.Nope",
                                  "novalite.context.RequestContext"])
def test_unknown_driver_is_refused(config, name):
    with pytest.raises(exception.InvalidDriver, match=name):
        virt_driver.load_compute_driver(name, config.conf)


def test_fake_driver_reads_the_real_host_unless_pinned(config, tmp_path):
    config.config(instances_path=str(tmp_path / "nowhere" / "yet"))
    resources = fake.FakeDriver(config.conf).get_available_resource()
    assert resources["vcpus"] >= 1 and resources["memory_mb"] > 0
    assert resources["local_gb"] > 0
    config.config(vcpus=3, group="fake_driver")
    assert fake.FakeDriver(config.conf).get_available_resource()[
        "vcpus"] == 3


# Life cycle -----------------------------------------------------------------

def test_run_instance_makes_it_active_and_running(compute, db):
    instance = boot(compute)
    assert (instance.vm_state, instance.power_state, instance.task_state) \
        == (vm_states.ACTIVE, power_state.RUNNING, None)
    assert instance.launched_at is not None
    assert compute.driver.get_info(dict(instance._mapping))[
        "power_state"] == power_state.RUNNING


def test_a_failed_spawn_leaves_the_instance_in_error(compute, db,
                                                     monkeypatch):
    def broken(context, instance):
        raise RuntimeError("no space")

    monkeypatch.setattr(compute.driver, "spawn", broken)
    with pytest.raises(RuntimeError):
        boot(compute, uuid="11111111-1111-1111-1111-111111111111")
    row = db.instance_get("11111111-1111-1111-1111-111111111111")
    assert row.vm_state == vm_states.ERROR and row.task_state is None


def test_stop_start_and_terminate(compute, db):
    uuid = boot(compute).uuid
    assert compute.stop_instance(CTXT, uuid).vm_state == vm_states.STOPPED
    assert compute.driver.instances[uuid] == power_state.SHUTDOWN
    started = compute.start_instance(CTXT, uuid)
    assert (started.vm_state, started.power_state) == (
        vm_states.ACTIVE, power_state.RUNNING)
    gone = compute.terminate_instance(CTXT, uuid)
    assert gone.vm_state == vm_states.DELETED and gone.deleted != 0
    assert uuid not in compute.driver.instances
    assert db.instance_get(uuid) is None


@pytest.mark.parametrize("action", ["start_instance", "restore_instance"])
def test_impossible_transitions_are_refused(compute, action):
    uuid = boot(compute).uuid
    with pytest.raises(exception.InstanceInvalidState,
                       match="while it is active"):
        getattr(compute, action)(CTXT, uuid)


def test_unknown_instance_is_not_found(compute):
    with pytest.raises(exception.InstanceNotFound):
        compute.stop_instance(CTXT, "nope")


def test_soft_delete_and_restore(compute, config):
    config.config(reclaim_instance_interval=3600)
    uuid = boot(compute).uuid
    soft = compute.soft_delete_instance(CTXT, uuid)
    assert soft.vm_state == vm_states.SOFT_DELETED
    assert compute.driver.instances[uuid] == power_state.SHUTDOWN
    restored = compute.restore_instance(CTXT, uuid)
    assert restored.vm_state == vm_states.ACTIVE
    assert compute.driver.instances[uuid] == power_state.RUNNING


def test_soft_delete_without_reclaim_interval_deletes(compute, db):
    uuid = boot(compute).uuid
    assert compute.soft_delete_instance(CTXT, uuid).vm_state == (
        vm_states.DELETED)


# init_host ------------------------------------------------------------------

def test_init_host_reconciles_after_a_restart(compute, db, config, clock):
    lost = boot(compute).uuid
    spawning = boot(compute).uuid
    deleting = boot(compute).uuid
    db.instance_update(spawning, task_state="spawning")
    db.instance_update(deleting, task_state="deleting")
    restarted = compute_manager.ComputeManager(host="node1", db=db,
                                               clock=clock)
    restarted.init_host()  # the fake hypervisor lost every instance
    assert (db.instance_get(lost).vm_state,
            db.instance_get(lost).power_state) == (
        vm_states.STOPPED, power_state.SHUTDOWN)
    assert db.instance_get(spawning).vm_state == vm_states.ERROR
    assert db.instance_get(deleting) is None
    assert db.instance_get(deleting, read_deleted="yes").vm_state == (
        vm_states.DELETED)


# update_available_resource --------------------------------------------------

def test_resources_of_an_empty_host(compute, db):
    compute.update_available_resource(CTXT)
    node = db.compute_node_get("node1")
    assert (node.vcpus, node.vcpus_used, node.memory_mb, node.free_ram_mb,
            node.local_gb, node.free_disk_gb, node.running_vms) == (
        16, 0, 32768, 32768, 500, 500, 0)


def test_resources_subtract_this_hosts_instances(compute, db):
    boot(compute)
    boot(compute, vcpus=4, memory_mb=4096, root_gb=40)
    other = compute.run_instance(CTXT, vcpus=1)
    compute.terminate_instance(CTXT, other.uuid)  # deleted: not counted
    compute.update_available_resource(CTXT)
    compute.update_available_resource(CTXT)  # one row, updated
    node = db.compute_node_get("node1")
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used,
            node.running_vms) == (6, 6144, 60, 2)
    assert len(db.compute_node_get_all()) == 1


# _report_driver_status and _publish_service_capabilities --------------------

def test_capabilities_are_reported_then_published_to_the_database(compute,
                                                                  db):
    boot(compute)
    compute._report_driver_status(CTXT)
    compute._publish_service_capabilities(CTXT)
    published = db.capabilities_get("compute", "node1")
    assert published["vcpus"] == 16 and published["running_vms"] == 1
    assert "load_1m" in published


# _sync_power_states ---------------------------------------------------------

def test_sync_with_nothing_to_change(compute, db, caplog):
    uuid = boot(compute).uuid
    before = db.instance_get(uuid)
    compute._sync_power_states(CTXT)
    assert db.instance_get(uuid).updated_at == before.updated_at


def test_sync_records_one_change(compute, db):
    uuid = boot(compute).uuid
    compute.driver.instances[uuid] = power_state.PAUSED
    compute._sync_power_states(CTXT)
    row = db.instance_get(uuid)
    assert (row.power_state, row.vm_state) == (power_state.PAUSED,
                                               vm_states.ACTIVE)


def test_sync_stops_an_instance_the_driver_lost(compute, db, caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    uuid = boot(compute).uuid
    del compute.driver.instances[uuid]
    compute._sync_power_states(CTXT)
    row = db.instance_get(uuid)
    assert (row.power_state, row.vm_state) == (power_state.SHUTDOWN,
                                               vm_states.STOPPED)
    assert any(uuid in r.getMessage() and "shutdown" in r.getMessage()
               for r in caplog.records)


def test_sync_goes_on_after_a_failure_on_one_instance(compute, db,
                                                      monkeypatch):
    first = boot(compute).uuid
    second = boot(compute).uuid
    compute.driver.instances[second] = power_state.PAUSED
    original = compute.driver.get_info

    def flaky(instance):
        if instance["uuid"] == first:
            raise RuntimeError("hypervisor hiccup")
        return original(instance)

    monkeypatch.setattr(compute.driver, "get_info", flaky)
    compute._sync_power_states(CTXT)
    assert db.instance_get(second).power_state == power_state.PAUSED


def test_sync_skips_instances_with_a_task_in_progress(compute, db):
    uuid = boot(compute).uuid
    db.instance_update(uuid, task_state="powering-off")
    del compute.driver.instances[uuid]
    compute._sync_power_states(CTXT)
    assert db.instance_get(uuid).power_state == power_state.RUNNING


# _cleanup_running_deleted_instances -----------------------------------------

def deleted_but_running(compute, db):
    uuid = boot(compute).uuid
    db.instance_destroy(uuid)  # the database forgot it, the driver did not
    backdate(db, uuid, 600, column="deleted_at")
    return uuid


@pytest.mark.parametrize("action, expected", [
    ("reap", None), ("shutdown", power_state.SHUTDOWN),
    ("log", power_state.RUNNING), ("noop", power_state.RUNNING)])
def test_cleanup_of_deleted_instances(compute, db, config, action,
                                      expected):
    config.config(running_deleted_instance_action=action)
    uuid = deleted_but_running(compute, db)
    compute._cleanup_running_deleted_instances(CTXT)
    assert compute.driver.instances.get(uuid) == expected


def destroy_fails_for(compute, monkeypatch, uuid, message):
    """The driver cannot destroy ``uuid``; other instances go as usual."""
    original = compute.driver.destroy

    def flaky(context, instance):
        if instance["uuid"] == uuid:
            raise RuntimeError(message)
        return original(context, instance)

    monkeypatch.setattr(compute.driver, "destroy", flaky)


def test_cleanup_goes_on_after_a_failure(compute, db, monkeypatch):
    first = deleted_but_running(compute, db)
    second = deleted_but_running(compute, db)
    destroy_fails_for(compute, monkeypatch, first, "stuck")
    compute._cleanup_running_deleted_instances(CTXT)
    assert first in compute.driver.instances
    assert second not in compute.driver.instances


def test_cleanup_waits_for_the_timeout(compute, db, config):
    config.config(running_deleted_instance_timeout=3600)
    uuid = deleted_but_running(compute, db)
    compute._cleanup_running_deleted_instances(CTXT)
    assert uuid in compute.driver.instances


# _reclaim_queued_deletes ----------------------------------------------------

def test_reclaim_is_disabled_without_an_interval(compute, db, config):
    config.config(reclaim_instance_interval=3600)
    uuid = boot(compute).uuid
    compute.soft_delete_instance(CTXT, uuid)
    backdate(db, uuid, 7200)
    config.config(reclaim_instance_interval=0)
    compute._reclaim_queued_deletes(CTXT)
    assert db.instance_get(uuid).vm_state == vm_states.SOFT_DELETED


def test_reclaim_destroys_only_old_soft_deleted_instances(compute, db,
                                                          config):
    config.config(reclaim_instance_interval=3600)
    old = boot(compute).uuid
    young = boot(compute).uuid
    active = boot(compute).uuid
    for uuid in (old, young):
        compute.soft_delete_instance(CTXT, uuid)
    backdate(db, old, 7200)
    backdate(db, active, 7200)
    compute._reclaim_queued_deletes(CTXT)
    assert db.instance_get(old) is None
    assert old not in compute.driver.instances
    assert db.instance_get(young).vm_state == vm_states.SOFT_DELETED
    assert db.instance_get(active).vm_state == vm_states.ACTIVE


def test_reclaim_goes_on_after_a_failure(compute, db, config, monkeypatch):
    config.config(reclaim_instance_interval=60)
    first = boot(compute).uuid
    second = boot(compute).uuid
    for uuid in (first, second):
        compute.soft_delete_instance(CTXT, uuid)
        backdate(db, uuid, 120)
    destroy_fails_for(compute, monkeypatch, first, "busy")
    compute._reclaim_queued_deletes(CTXT)
    assert db.instance_get(first).vm_state == vm_states.SOFT_DELETED
    assert db.instance_get(second) is None


# _run_image_cache_manager_pass ----------------------------------------------

def test_image_cache_removes_only_old_unused_files(compute, config,
                                                   tmp_path):
    config.config(remove_unused_original_minimum_age_seconds=3600)
    boot(compute, image_ref="in-use")
    base = tmp_path / "instances" / "_base"
    in_use = base / compute_manager.image_cache_name("in-use")
    old_unused = base / compute_manager.image_cache_name("old")
    young_unused = base / compute_manager.image_cache_name("young")
    for path in (old_unused, young_unused):
        path.write_text("image")
    outside = tmp_path / "outside-file"
    outside.write_text("keep me")
    link = base / "link-to-outside"
    link.symlink_to(outside)
    (base / "subdir").mkdir()
    long_ago = time.time() - 7200
    for path in (in_use, old_unused, outside):
        os.utime(path, (long_ago, long_ago))
    compute._run_image_cache_manager_pass(CTXT)
    assert in_use.exists() and young_unused.exists()
    assert not old_unused.exists()
    assert outside.exists() and link.is_symlink()
    assert (base / "subdir").is_dir()


def test_image_cache_without_a_base_directory_does_nothing(compute, db,
                                                           tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="novalite")
    instances = tmp_path / "instances"
    base = instances / "_base"
    uuid = boot(compute, image_ref="").uuid  # no image: no _base made
    assert not base.exists()

    def tree():
        return sorted(str(p.relative_to(tmp_path))
                      for p in tmp_path.rglob("*"))

    before = tree()
    compute._run_image_cache_manager_pass(CTXT)
    assert not base.exists()  # not created either
    assert tree() == before
    assert db.instance_get(uuid).vm_state == vm_states.ACTIVE
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# Schedule -------------------------------------------------------------------

def test_task_defaults_are_novas():
    spacing = {name: function._periodic_settings.spacing
               for name, function in
               compute_manager.ComputeManager._periodic_tasks}
    assert spacing == {
        "_publish_service_capabilities": None,
        "update_available_resource": 60,
        "_report_driver_status": 120,
        "_sync_power_states": 600,
        "_cleanup_running_deleted_instances": 1800,
        "_reclaim_queued_deletes": 60,
        "_run_image_cache_manager_pass": 2400,
    }


def test_a_task_disabled_in_the_ini_never_runs(compute, db, clock):
    settings = compute.periodic_task_settings("sync_power_states")
    compute.configure_periodic_task(
        "sync_power_states", settings.replace("_sync_power_states",
                                              enabled=False))
    uuid = boot(compute).uuid
    del compute.driver.instances[uuid]
    for _ in range(3):
        clock.advance(601)
        compute.periodic_tasks(CTXT)
    assert db.instance_get(uuid).power_state == power_state.RUNNING
    stats = {view.name: view for view in compute.periodic_task_views()}
    assert stats["_sync_power_states"].runs == 0
    # the others run: anchored at the first pass, due from the second on
    assert stats["update_available_resource"].runs == 2


def test_an_instance_is_touched_by_one_caller_at_a_time(compute, db):
    """An RPC cast and a periodic task on one instance, as nova's
    @synchronized(instance.uuid): the second waits for the first."""
    import threading

    uuid = boot(compute).uuid
    holding = threading.Event()
    release = threading.Event()

    def periodic_task_holding_the_instance():
        with compute._instance_locks(uuid):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=periodic_task_holding_the_instance)
    holder.start()
    holding.wait(10)
    stopper = threading.Thread(target=compute.stop_instance,
                               args=(CTXT, uuid))
    stopper.start()
    stopper.join(0.3)
    assert stopper.is_alive()
    assert db.instance_get(uuid).vm_state == vm_states.ACTIVE
    release.set()
    stopper.join(10)
    holder.join(10)
    assert db.instance_get(uuid).vm_state == vm_states.STOPPED
    assert len(compute._instance_locks) == 0
