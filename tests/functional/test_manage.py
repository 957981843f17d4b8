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

"""novalite-manage against a running novalite-compute."""

import json
import os
import re
import signal
import subprocess
import time

from novalite.db import api as db_api
from tests.functional import daemon as daemon_module

COMPUTE_INI = """
[fake_driver]
vcpus = 12
memory_mb = 24576
local_gb = 300

[periodic_task:update_available_resource]
spacing = 0.3

[periodic_task:report_driver_status]
spacing = 0.3
"""


def manage(ini, *args):
    return subprocess.run(
        daemon_module.command("manage") + ["--config-file", str(ini)]
        + list(args), capture_output=True, text=True, timeout=120,
        env=daemon_module.environment())


def manage_json(ini, *args):
    result = manage(ini, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start_compute(tmp_path, state_path, daemons, **overrides):
    options = {"compute_manager": "novalite.compute.manager.ComputeManager",
               "service_down_time": 2, "report_interval": 0.2,
               "instances_path": tmp_path / "instances"}
    options.update(overrides)
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, **options) + COMPUTE_INI)
    compute.wait_for("Running periodic task ComputeManager."
                     "update_available_resource")
    return compute


def test_manage_shows_a_running_compute_host(tmp_path, state_path,
                                             daemons):
    compute = start_compute(tmp_path, state_path, daemons)
    ini = compute.ini
    time.sleep(1.0)
    services = manage_json(ini, "service", "list")
    assert [(s["host"], s["binary"], s["status"], s["state"])
            for s in services] == [("probe-host", "novalite-compute",
                                    "enabled", "up")]
    host = manage_json(ini, "host", "show", "probe-host")[0]
    assert (host["vcpus"], host["memory_mb"], host["local_gb"]) == (
        12, 24576, 300)
    assert host["vcpus_used"] == 0 and host["running_vms"] == 0
    assert manage_json(ini, "host", "list")[0]["host"] == "probe-host"
    assert manage_json(ini, "instance", "list") == []

    tasks = {row["task"]: row
             for row in manage_json(ini, "task", "list", "--host",
                                    "probe-host")}
    assert set(tasks) == {
        "_publish_service_capabilities", "update_available_resource",
        "_report_driver_status", "_sync_power_states",
        "_cleanup_running_deleted_instances", "_reclaim_queued_deletes",
        "_run_image_cache_manager_pass"}
    assert tasks["update_available_resource"]["schedule"] == "every 0.3 s"
    assert tasks["_sync_power_states"]["schedule"] == "every 600 s"
    logged = len(compute.matching(
        "Running periodic task ComputeManager.update_available_resource"))
    # the table is written after each pass: it may trail the log by a pass
    assert logged - 2 <= tasks["update_available_resource"]["runs"] \
        <= logged
    table = manage(ini, "task", "list")
    assert re.search(r"update_available_resource +every 0.3 s", table.stdout)
    header = table.stdout.splitlines()[0]
    assert "Last run (UTC)" in header and "Next due (UTC)" in header
    assert "Last heartbeat (UTC)" in manage(ini, "service",
                                            "list").stdout.splitlines()[0]
    abbreviated = manage(ini, "task", "list", "--hos", "probe-host")
    assert abbreviated.returncode == 2
    assert "unrecognized arguments: --hos" in abbreviated.stderr

    assert manage(ini, "service", "disable", "--host", "probe-host",
                  "--reason", "maintenance").returncode == 0
    disabled = manage_json(ini, "service", "list")[0]
    assert (disabled["status"], disabled["disabled_reason"]) == (
        "disabled", "maintenance")
    assert manage(ini, "service", "enable", "--host",
                  "probe-host").returncode == 0

    compute.signal(signal.SIGTERM)
    assert compute.wait() == 0
    time.sleep(2.5)  # service_down_time = 2
    assert manage_json(ini, "service", "list")[0]["state"] == "down"


def test_manage_errors_are_one_line_and_non_zero(tmp_path, state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    missing = manage(ini, "service", "list")
    assert missing.returncode != 0
    assert "no database at" in missing.stderr
    os.makedirs(state_path)
    version = manage(ini, "db", "version")
    assert version.returncode == 1 and "no database at" in version.stderr
    assert not os.listdir(state_path)
    synced = manage(ini, "db", "sync")
    assert synced.returncode == 0
    assert "Running upgrade 0003 -> 0004" in synced.stderr + synced.stdout
    assert "non-transactional" not in synced.stderr + synced.stdout
    for args, message in (
            (("host", "show", "nowhere"), "no compute node for host nowhere"),
            (("service", "disable", "--host", "nowhere"),
             "no service novalite-compute on host nowhere"),
            (("task", "list", "--host", "nowhere"),
             "no periodic task statistics for host nowhere"),
            (("instance", "list", "--host", "nowhere"),
             "no service on host nowhere")):
        result = manage(ini, *args)
        assert result.returncode == 1, args
        assert result.stderr.strip().endswith(message)
        assert len(result.stderr.strip().splitlines()) == 1
    bad = manage(ini, "host", "list", "--format", "yaml")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_manage_refuses_a_schema_that_needs_sync(tmp_path, state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    assert manage(ini, "db", "sync", "--version", "0001").returncode == 0
    result = manage(ini, "instance", "list")
    assert result.returncode == 78
    assert "run 'novalite-manage db sync'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_manage_prints_control_characters_escaped(tmp_path, state_path):
    """A name written to the database by anything (an older novalite, a
    script) cannot drive the operator's terminal."""
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    assert manage(ini, "db", "sync").returncode == 0
    db = db_api.Database(db_api.create_engine(
        db_api.default_connection(state_path)))
    service = db.service_get_or_create("evil\x1b]0;owned\x07\x1b[2J",
                                       "novalite-compute", "compute")
    db.service_update(service.id, disabled=True,
                      disabled_reason="line one\nforged line\u202e")
    result = manage(ini, "service", "list")
    assert result.returncode == 0, result.stderr
    assert not set("\x1b\x07\u202e") & set(result.stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "evil\\x1b]0;owned\\x07\\x1b[2J" in lines[1]
    assert lines[1].endswith("line one\\nforged line\\u202e")


def test_manage_refuses_bad_host_arguments_in_one_line(tmp_path,
                                                       state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    for args, problem in (
            (("service", "disable", "--host", "\x1b[2Jx"), "not '\\x1b'"),
            (("service", "enable", "--host", ""), "cannot be empty"),
            (("host", "show", "h" * 300), "at most 255 characters, not 300"),
            (("task", "list", "--host", "a\tb"), "not '\\t'")):
        result = manage(ini, *args)
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].isprintable(), result.stderr
        assert "invalid host" in lines[0] and problem in lines[0]


def test_requests_to_the_services_need_the_bus_and_say_so(tmp_path,
                                                          state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    assert manage(ini, "db", "sync").returncode == 0
    uuid = "5a4f3c1e-0000-4000-8000-000000000001"
    for args in (("instance", "boot", "vm", "--flavor", "m1.tiny"),
                 ("instance", "stop", uuid), ("instance", "start", uuid)):
        result = manage(ini, *args)
        assert result.returncode == 69, (args, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert "transport_url" in line, line
    assert manage_json(ini, "instance", "list") == []


def test_flavors_are_nova_defaults_and_can_be_added_and_removed(
        tmp_path, state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    assert manage(ini, "db", "sync").returncode == 0
    flavors = {row["name"]: (row["vcpus"], row["memory_mb"], row["root_gb"])
               for row in manage_json(ini, "flavor", "list")}
    assert flavors == {"m1.tiny": (1, 512, 1), "m1.small": (1, 2048, 20),
                       "m1.medium": (2, 4096, 40), "m1.large": (4, 8192, 80),
                       "m1.xlarge": (8, 16384, 160)}

    created = manage(ini, "flavor", "create", "c1.db", "--ram", "3072",
                     "--vcpus", "3", "--disk", "30")
    assert created.returncode == 0, created.stderr
    again = manage(ini, "flavor", "create", "c1.db", "--ram", "1",
                   "--vcpus", "1", "--disk", "1")
    assert again.returncode == 1 and "c1.db" in again.stderr
    zero = manage(ini, "flavor", "create", "c1.zero", "--ram", "0",
                  "--vcpus", "1", "--disk", "1")
    assert zero.returncode == 1 and "--ram must be from 1" in zero.stderr
    assert "c1.db" in [row["name"]
                       for row in manage_json(ini, "flavor", "list")]
    assert manage(ini, "flavor", "delete", "c1.db").returncode == 0
    gone = manage(ini, "flavor", "delete", "c1.db")
    assert gone.returncode == 1
    assert len(gone.stderr.strip().splitlines()) == 1
    # A deleted name can be used again.
    assert manage(ini, "flavor", "create", "c1.db", "--ram", "1024",
                  "--vcpus", "1", "--disk", "10").returncode == 0


def test_a_service_gone_for_good_is_deleted_with_what_it_left(
        tmp_path, state_path, daemons):
    compute = start_compute(tmp_path, state_path, daemons)
    ini = compute.ini
    refused = manage(ini, "service", "delete", "--host", "probe-host")
    assert refused.returncode == 1
    assert "novalite-compute on probe-host is up" in refused.stderr
    assert manage_json(ini, "task", "list", "--host", "probe-host")

    compute.signal(signal.SIGTERM)
    assert compute.wait() == 0
    time.sleep(2.5)  # service_down_time = 2
    database = db_api.Database(db_api.create_engine(
        "sqlite:///%s" % os.path.join(state_path, "novalite.sqlite")))
    try:
        database.capabilities_save("compute", "ghost", {"vcpus": 1})
        database.task_stats_save("ghost", "novalite-compute", [
            {"task": "t", "schedule": "every 1 s", "runs": 1,
             "failures": 0, "timeouts": 0, "last_start": None,
             "last_duration": None, "next_due": None, "last_error": None}])
        deleted = manage(ini, "service", "delete", "--host", "probe-host")
        assert deleted.returncode == 0, deleted.stderr
        assert manage_json(ini, "service", "list") == []
        assert manage(ini, "host", "show", "probe-host").returncode == 1
        assert database.capabilities_get("compute", "probe-host") is None
        assert database.task_stats_get_all("probe-host") == []
        # What a host that vanished without a delete left is purged.
        purged = manage(ini, "service", "purge")
        assert purged.returncode == 0, purged.stderr
        assert "Purged 1 capability rows and 1 task statistics rows" in (
            purged.stdout)
        assert database.capabilities_get("compute", "ghost") is None
        assert database.task_stats_get_all() == []
    finally:
        database.dispose()


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path, state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    assert manage(ini, "db", "sync").returncode == 0
    # ``true`` exits without reading: every write meets a closed pipe.
    result = subprocess.run(
        "%s --config-file %s flavor list | true" % (
            " ".join(daemon_module.command("manage")), ini),
        shell=True, capture_output=True, text=True, timeout=120,
        env=daemon_module.environment())
    assert result.returncode == 0
    assert "Error" not in result.stderr, result.stderr
