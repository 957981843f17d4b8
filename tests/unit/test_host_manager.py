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

"""The scheduler's view of the hosts: capabilities kept with their age,
forgotten when stale, joined with the audit and the heartbeat."""

import datetime
import logging
import time
import uuid

import pytest
import sqlalchemy as sa

from novalite.db import models
from novalite.scheduler import host_manager
from novalite.scheduler import manager as scheduler_manager
from tests import fakes


def _age_row(db, table, seconds, **where):
    when = models.utcnow() - datetime.timedelta(seconds=seconds)
    with db.engine.begin() as connection:
        connection.execute(sa.update(table).where(*[
            table.c[key] == value for key, value in where.items()]).values(
                updated_at=when))


def _compute(db, host, free_ram_mb=1024, disabled=False, seconds_ago=0):
    service = db.service_get_or_create(host, "novalite-compute", "compute",
                                       "1.0")
    if disabled:
        db.service_update(service.id, disabled=True, disabled_reason="maint")
    _age_row(db, models.services, seconds_ago, id=service.id)
    db.compute_node_save(host, vcpus=8, vcpus_used=3, memory_mb=4096,
                         memory_mb_used=4096 - free_ram_mb, local_gb=100,
                         local_gb_used=10, free_ram_mb=free_ram_mb,
                         free_disk_gb=90, running_vms=2)
    # What the scheduler counts as used: the instances given to the host.
    db.instance_create(uuid=str(uuid.uuid4()), host=host, vm_state="active",
                       power_state=1, vcpus=3,
                       memory_mb=4096 - free_ram_mb, root_gb=10)


def test_a_new_scheduler_knows_what_the_hosts_recorded_and_how_old(
        db, config):
    config.config(compute_topic="compute")
    db.capabilities_save("compute", "node1", {"vcpus": 8})
    db.capabilities_save("compute", "node2", {"vcpus": 4})
    db.capabilities_save("other", "node3", {"vcpus": 2})
    db.capabilities_save("compute", "gone", {"vcpus": 1})
    _age_row(db, models.service_capabilities, 30, host="node2")
    _age_row(db, models.service_capabilities, 600, host="gone")
    clock = fakes.FakeClock(wall_start=time.time())
    hosts = host_manager.HostManager(config.conf, db, clock)
    hosts.load_from_database(max_age=60)
    assert sorted(hosts.service_states) == ["node1", "node2"]
    assert hosts.capabilities_age("node1") < 5
    assert 25 < hosts.capabilities_age("node2") < 35
    assert hosts.capabilities_age("node3") is None


def test_older_news_never_replaces_newer(db, clock, config):
    hosts = host_manager.HostManager(config.conf, db, clock)
    hosts.update_service_capabilities("compute", "node1", {"v": "new"})
    hosts.update_service_capabilities("compute", "node1", {"v": "old"},
                                      timestamp=clock.time() - 10)
    assert hosts.service_states["node1"]["compute"]["capabilities"] == {
        "v": "new"}


def test_stale_capabilities_are_forgotten_once(db, clock, config, caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    hosts = host_manager.HostManager(config.conf, db, clock)
    hosts.update_service_capabilities("compute", "quiet", {})
    clock.advance(30)
    hosts.update_service_capabilities("compute", "chatty", {})
    clock.advance(40)
    assert hosts.expire_capabilities(60) == ["quiet"]
    assert hosts.expire_capabilities(60) == []
    assert list(hosts.service_states) == ["chatty"]
    assert [r.getMessage() for r in caplog.records
            if "forgotten" in r.getMessage()] == [
        "Capabilities of quiet are older than 60 s; forgotten"]


def test_host_states_join_audit_heartbeat_and_capabilities(db, clock,
                                                           config):
    config.config(service_down_time=60, compute_topic="compute")
    _compute(db, "up-host", free_ram_mb=2048)
    _compute(db, "down-host", seconds_ago=600)
    _compute(db, "off-host", disabled=True)
    db.compute_node_save("no-service", vcpus=1, vcpus_used=0, memory_mb=1,
                         memory_mb_used=0, local_gb=1, local_gb_used=0)
    hosts = host_manager.HostManager(config.conf, db, clock)
    hosts.update_service_capabilities("compute", "up-host", {"vcpus": 8})
    clock.advance(7)
    states = {state.host: state for state in hosts.get_all_host_states()}
    assert sorted(states) == ["down-host", "off-host", "up-host"]
    up = states["up-host"]
    assert (up.up, up.disabled, up.free_ram_mb, up.free_vcpus,
            up.free_disk_gb, up.capabilities, up.capabilities_age) == (
        True, False, 2048, 5, 90, {"vcpus": 8}, 7)
    assert not states["down-host"].up
    assert states["off-host"].disabled
    assert states["off-host"].disabled_reason == "maint"
    assert states["off-host"].capabilities_age is None


@pytest.mark.parametrize("interval, down, silence, forgotten", [
    (60, 60, 119, False),  # the defaults: one late tick is no silence
    (60, 60, 121, True),
    (1, 60, 59, False),  # quick ticks: service_down_time is the floor
    (1, 60, 61, True)])
def test_the_scheduler_forgets_hosts_silent_for_two_ticks_or_down_time(
        db, clock, config, interval, down, silence, forgotten):
    config.config(service_down_time=down, periodic_interval=interval)
    scheduler = scheduler_manager.SchedulerManager(host="sched", db=db,
                                                   clock=clock)
    scheduler.update_service_capabilities(None, "compute", "quiet", {})
    clock.advance(silence)
    scheduler.update_service_capabilities(None, "compute", "chatty", {})
    scheduler.periodic_tasks(None)
    assert sorted(scheduler.host_manager.service_states) == (
        ["chatty"] if forgotten else ["chatty", "quiet"])
