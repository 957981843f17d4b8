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

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from novalite import concurrency

from tests.functional import daemon as daemon_module
from tests.functional import test_compute_daemon as helpers
from tests.functional import test_database


def _listed_state(compute):
    """The state ``novalite-manage service list`` gives the one service."""
    listed = test_database.manage(compute.ini, "service", "list",
                                  "--format", "json")
    return json.loads(listed.stdout)[0]["state"]


@pytest.mark.parametrize("native, keeps_beating", [("true", True),
                                                   ("false", False)])
def test_heartbeat_while_a_task_blocks_the_hub(tmp_path, state_path,
                                               daemons, native,
                                               keeps_beating):
    # On native threads a task that blocks blocks only its own thread:
    # the heartbeat goes on wherever it runs.
    keeps_beating = keeps_beating or concurrency.BACKEND == "threading"
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, heartbeat_in_native_thread=native))
    compute.wait_for("Running periodic task ProbeManager.fast")
    time.sleep(0.6)
    with open(os.path.join(state_path, "block_hub"), "w") as marker:
        marker.write("6")
    compute.wait_for("probe hub block started")
    before = helpers.heartbeat_count(state_path)
    # the hub is blocked for 6 s: room for novalite-manage's own start-up
    # on a loaded machine before the block ends
    time.sleep(2.0)
    during = helpers.heartbeat_count(state_path)
    if keeps_beating:
        assert _listed_state(compute) == "up"
    assert not compute.matching("probe hub block finished")
    if keeps_beating:
        assert during >= before + 5  # report_interval is 0.2 s
    else:  # nova's way: a greenthread heartbeat starves
        assert during <= before + 1
    compute.wait_for("probe hub block finished")


def test_heartbeat_through_a_hung_task_then_a_20_s_hub_block(
        tmp_path, state_path, daemons):
    """The issue's scenario with the default service_down_time: a task
    waits forever on a socket (until its timeout), then another blocks the
    whole hub for 20 s; the heartbeat never stops."""
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, report_interval=0.5, service_down_time=60) + (
        "[periodic_task:hangs_on_socket]\ntimeout = 3\n"))
    compute.wait_for("Running periodic task ProbeManager.fast")
    open(os.path.join(state_path, "hang"), "w").close()
    compute.wait_for("probe hang started")
    with open(os.path.join(state_path, "block_hub"), "w") as marker:
        marker.write("20")
    counts = [helpers.heartbeat_count(state_path)]
    blocked = compute.wait_for("probe hub block started", timeout=30)
    for _ in range(8):  # 16 s of the 20 s block
        time.sleep(2.0)
        counts.append(helpers.heartbeat_count(state_path))
    assert not compute.matching("probe hub block finished", blocked)
    assert _listed_state(compute) == "up"
    steps = [later - earlier
             for earlier, later in zip(counts, counts[1:], strict=False)]
    assert all(step >= 3 for step in steps), counts  # 4 beats per 2 s
    compute.wait_for("probe hub block finished", timeout=30)


@pytest.mark.skipif(
    concurrency.BACKEND == "threading",
    reason="threading backend: a task blocks only its own thread, so no "
    "event loop stalls and the heartbeat has nothing to pause for "
    "(test_heartbeat_while_a_task_blocks_the_hub shows it beating on)")
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


def test_a_hung_task_is_abandoned_and_reported(tmp_path, state_path,
                                               daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, periodic_stall_threshold=0.4) + (
        "[periodic_task:hangs_on_socket]\ntimeout = 1.5\n"))
    compute.wait_for("Running periodic task ProbeManager.fast")
    open(os.path.join(state_path, "hang"), "w").close()
    started = compute.wait_for("probe hang started")
    stalled = compute.wait_for(
        r"periodic loop stalled for 0\.[4-9] s \(running: "
        r"ProbeManager\._hangs_on_socket\)", start=started)
    timed_out = compute.wait_for(
        "Periodic task ProbeManager._hangs_on_socket timed out after 1.5 s",
        start=started)
    assert stalled < timed_out
    assert not compute.matching("probe hang ended")
    before = helpers.heartbeat_count(state_path)
    compute.wait_for("Running periodic task ProbeManager.fast",
                     start=timed_out)
    time.sleep(1.0)
    assert helpers.heartbeat_count(state_path) > before
    stats = test_database.manage(compute.ini, "task", "list", "--format",
                                 "json")
    rows = {row["task"]: row for row in json.loads(stats.stdout)}
    assert rows["_hangs_on_socket"]["timeouts"] == 1
    assert rows["_hangs_on_socket"]["failures"] == 1
    assert rows["_hangs_on_socket"]["last_error"] == "timed out after 1.5 s"


def test_sighup_during_a_task_applies_after_it(tmp_path, state_path,
                                               daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task ProbeManager.fast")
    open(os.path.join(state_path, "busy"), "w").close()
    started = compute.wait_for("probe busy started")
    compute.write_ini(daemon_module.base_ini(state_path)
                      + "[periodic_task:fast]\nspacing = 0.6\n")
    compute.signal(signal.SIGHUP)
    deferred = compute.wait_for(
        r"A periodic pass is running \(ProbeManager\._busy\); the new "
        "settings apply when it ends", start=started)
    finished = compute.wait_for("probe busy finished", start=started)
    applied = compute.wait_for(
        "Periodic task ProbeManager.fast is now: every 0.6 s", start=started)
    reset = compute.wait_for("probe reset", start=started)
    assert started < deferred < finished < applied < reset


def test_sigkill_mid_task_then_restart_reconciles(tmp_path, state_path,
                                                  daemons):
    from novalite.compute import vm_states
    from novalite.db import api as db_api
    from novalite.db import migration

    ini_text = daemon_module.base_ini(
        state_path, compute_manager="novalite.compute.manager.ComputeManager",
        instances_path=str(tmp_path / "instances")) + (
        "[fake_driver]\nvcpus = 8\nmemory_mb = 8192\nlocal_gb = 80\n"
        "[periodic_task:update_available_resource]\nspacing = 0.05\n")
    db = db_api.Database(db_api.create_engine(
        db_api.default_connection(state_path)))
    migration.prepare(db.engine)
    for name, task_state in (("running", None), ("spawning", "spawning"),
                             ("deleting", "deleting")):
        db.instance_create(uuid="%s-0000" % name, display_name=name,
                           host="probe-host", vm_state=vm_states.ACTIVE,
                           task_state=task_state, power_state=1, vcpus=2,
                           memory_mb=1024, root_gb=10)
    first = daemons(tmp_path, ini_text)
    first.wait_for("Running periodic task ComputeManager."
                   "update_available_resource")
    assert db.instance_get("running-0000").vm_state == vm_states.STOPPED
    assert db.instance_get("spawning-0000").vm_state == vm_states.ERROR
    assert db.instance_get("deleting-0000") is None
    time.sleep(0.37)  # somewhere inside the 20 audits a second
    first.signal(signal.SIGKILL)
    first.wait()
    second = daemons(tmp_path, ini_text)
    mark = second.wait_for("Running periodic task ComputeManager."
                           "update_available_resource")
    second.wait_for("Running periodic task ComputeManager."
                    "update_available_resource", start=mark + 1)
    nodes = db.compute_node_get_all()
    assert len(nodes) == 1
    assert (nodes[0].vcpus_used, nodes[0].memory_mb_used,
            nodes[0].local_gb_used) == (4, 2048, 20)
    assert len(db.service_get_all()) == 1
    assert len(db.instance_get_all()) == 2
    db.dispose()


CUT_SECONDS = 30


def _fault_ini(tmp_path, state_path, connection=None):
    text = daemon_module.base_ini(
        state_path, report_interval=0.5, service_down_time=60,
        compute_manager="novalite.compute.manager.ComputeManager",
        instances_path=str(tmp_path / "instances")) + (
        "[fake_driver]\nvcpus = 4\nmemory_mb = 4096\nlocal_gb = 40\n"
        "[periodic_task:update_available_resource]\nspacing = 0.5\n"
        "[periodic_task:sync_power_states]\nspacing = 0.5\n")
    if connection:
        text += "[database]\nconnection = %s\n" % connection
    return text


def _add_instances(db):
    from novalite.compute import vm_states

    for index in range(3):
        db.instance_create(uuid="fault-%d" % index, host="probe-host",
                           vm_state=vm_states.STOPPED, power_state=4,
                           vcpus=1, memory_mb=512, root_gb=5)


def _cut_and_restore(compute, cut, restore):
    """Cut the database for CUT_SECONDS; check the daemon lived through."""
    compute.wait_for("Running periodic task ComputeManager."
                     "update_available_resource")
    time.sleep(1.0)
    cut()
    cut_at = len(compute.lines)
    time.sleep(CUT_SECONDS)
    restore()
    compute.wait_for("Recovered model server connection!", start=cut_at)
    mark = len(compute.lines)
    compute.wait_for("Running periodic task ComputeManager."
                     "update_available_resource", start=mark)
    time.sleep(1.5)
    assert compute.process.poll() is None
    assert len(compute.matching("model server went away")) == 1
    assert len(compute.matching("Recovered model server connection!")) == 1
    assert compute.matching(
        "Error during ComputeManager.update_available_resource", cut_at)
    settled = compute.wait_for("Running periodic task ComputeManager."
                               "update_available_resource", start=mark + 1)
    time.sleep(1.0)
    assert not compute.matching("Error during", settled)


def _assert_consistent(db):
    nodes = db.compute_node_get_all()
    assert len(nodes) == 1
    assert (nodes[0].vcpus_used, nodes[0].memory_mb_used) == (3, 1536)
    assert nodes[0].free_ram_mb >= 0 and nodes[0].free_disk_gb >= 0
    assert len(db.instance_get_all()) == 3
    assert len(db.service_get_all()) == 1


def test_postgresql_cut_for_30_seconds_and_restored(tmp_path, state_path,
                                                    daemons):
    import sqlalchemy as sa

    from novalite.db import api as db_api
    from novalite.db import migration
    from tests.functional import tcp_proxy

    name = "novalite_fault_%d" % os.getpid()
    admin_url = test_database.SERVERS["postgresql"] % "postgres"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("DROP DATABASE IF EXISTS %s WITH "
                                       "(FORCE)" % name))
            connection.execute(sa.text("CREATE DATABASE %s" % name))
    except Exception as exc:
        admin.dispose()
        if not test_database.server_unreachable(exc):
            raise
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432: %s"
                    % str(exc)[:120])
    proxy = tcp_proxy.TcpProxy(("127.0.0.1", 5432))
    direct = db_api.Database(db_api.create_engine(
        test_database.SERVERS["postgresql"] % name))
    try:
        migration.db_sync(direct.engine)
        _add_instances(direct)
        compute = daemons(tmp_path, _fault_ini(
            tmp_path, state_path,
            "postgresql+pg8000://postgres@127.0.0.1:%d/%s"
            % (proxy.port, name)))
        _cut_and_restore(compute, proxy.cut, proxy.restore)
        _assert_consistent(direct)
        compute.signal(signal.SIGTERM)
        assert compute.wait() == 0
    finally:
        direct.dispose()
        proxy.close()
        with admin.connect() as connection:
            connection.execute(sa.text("DROP DATABASE IF EXISTS %s WITH "
                                       "(FORCE)" % name))
        admin.dispose()


CHATTR = shutil.which("chattr")


def _immutable(paths, flag):
    return subprocess.run([CHATTR, flag] + paths, capture_output=True,
                          text=True)


@pytest.mark.skipif(CHATTR is None or os.geteuid() != 0,
                    reason="needs root and chattr: file modes do not stop "
                           "root, nor writes on descriptors already open")
def test_sqlite_unwritable_for_30_seconds_and_restored(tmp_path, state_path,
                                                       daemons):
    """The state directory, the database and its WAL become immutable: no
    write lands, on an open descriptor or by creating a journal, and no new
    file appears behind the cut, so the restore finds them all. The -shm
    stays writable: SQLite maps it, and a write to a mapped page of an
    immutable file is SIGBUS, which no real unwritable database does."""
    from novalite.db import api as db_api
    from novalite.db import migration

    probe = tmp_path / "probe"
    probe.write_text("x")
    if _immutable([str(probe)], "+i").returncode:
        pytest.skip("this file system does not support chattr +i")
    _immutable([str(probe)], "-i")
    direct = db_api.Database(db_api.create_engine(
        db_api.default_connection(state_path)))
    migration.prepare(direct.engine)
    _add_instances(direct)
    direct.dispose()
    compute = daemons(tmp_path, _fault_ini(tmp_path, state_path))
    frozen = []

    def cut():
        frozen[:] = [os.path.join(state_path, name)
                     for name in os.listdir(state_path)
                     if not name.endswith("-shm")] + [state_path]
        assert _immutable(frozen, "+i").returncode == 0

    def restore():
        assert _immutable(frozen, "-i").returncode == 0

    try:
        _cut_and_restore(compute, cut, restore)
    finally:
        _immutable(frozen, "-i")
    _assert_consistent(direct)
    compute.signal(signal.SIGTERM)
    assert compute.wait() == 0
    direct.dispose()
