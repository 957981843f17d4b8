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

"""The real novalite-compute, with a temporary ini and real signals."""

import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import time

import pytest

from tests.functional import daemon as daemon_module


def heartbeat_count(state_path):
    path = os.path.join(state_path, "novalite.sqlite")
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT report_count FROM services WHERE host = 'probe-host' "
            "AND deleted = 0").fetchone()
    return row[0] if row else None


def gaps(times):
    return [later - earlier
            for earlier, later in zip(times, times[1:], strict=False)]


def test_tasks_run_at_their_configured_spacings(tmp_path, state_path,
                                                daemons):
    ini = daemon_module.base_ini(state_path) + (
        "[periodic_task:slow]\nspacing = 0.3\n")
    compute = daemons(tmp_path, ini)
    compute.wait_for("Periodic task ProbeManager.slow: every 0.3 s")
    first = compute.wait_for("Running periodic task ProbeManager.fast")
    compute.wait_for("Running periodic task ProbeManager.counted",
                     start=compute.wait_for(
                         "Running periodic task ProbeManager.counted") + 1)
    fast = gaps(compute.times_of("Running periodic task ProbeManager.fast$|"
                                 "Running periodic task ProbeManager.fast ",
                                 first))
    slow = gaps(compute.times_of("Running periodic task ProbeManager.slow",
                                 first))
    counted = gaps(compute.times_of(
        "Running periodic task ProbeManager.counted", first))
    # spacing tasks keep their own spacing, not rounded up to the 1 s tick
    assert 0.15 <= statistics.median(fast) <= 0.3
    assert 0.25 <= statistics.median(slow) <= 0.4
    # a tick task with ticks_between_runs = 1 runs every 2 ticks
    assert 1.7 <= statistics.median(counted) <= 2.3
    assert compute.matching("Skipping ProbeManager.counted, 1 ticks left "
                            "until next run")


def test_heartbeat_row_advances(tmp_path, state_path, daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task")
    time.sleep(1.0)
    first = heartbeat_count(state_path)
    time.sleep(1.0)
    second = heartbeat_count(state_path)
    assert first is not None and first >= 2
    assert second >= first + 2


def test_systemd_notifications(tmp_path, state_path, daemons):
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(15)
    try:
        compute = daemons(tmp_path, daemon_module.base_ini(state_path),
                          env={"NOTIFY_SOCKET": address,
                               "WATCHDOG_USEC": "2000000"})

        def receive_until(state):
            seen = []
            while True:
                message = listener.recv(4096).decode()
                seen.append(message)
                if state in message.split("\n"):
                    return seen

        assert "READY=1" in receive_until("READY=1")[-1]
        assert receive_until("WATCHDOG=1")
        compute.signal(signal.SIGHUP)
        reloading = receive_until("RELOADING=1")
        assert any(line.startswith("MONOTONIC_USEC=")
                   for line in reloading[-1].split("\n"))
        assert receive_until("READY=1")
        compute.signal(signal.SIGTERM)
        assert receive_until("STOPPING=1")
        assert compute.wait() == 0
    finally:
        listener.close()


def test_sighup_changes_a_spacing_and_disables_a_task(tmp_path, state_path,
                                                      daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task ProbeManager.slow")
    pid = compute.process.pid
    compute.write_ini(daemon_module.base_ini(state_path) + (
        "[periodic_task:fast]\nspacing = 0.6\n"
        "[periodic_task:slow]\nenabled = false\n"))
    compute.signal(signal.SIGHUP)
    compute.wait_for("Periodic task ProbeManager.fast is now: every 0.6 s")
    compute.wait_for("Periodic task ProbeManager.slow is now: disabled")
    reset = compute.wait_for("probe reset")
    time.sleep(2.0)
    fast = gaps(compute.times_of("Running periodic task ProbeManager.fast",
                                 reset))
    assert fast and 0.5 <= statistics.median(fast) <= 0.75
    assert not compute.matching("Running periodic task ProbeManager.slow",
                                reset + 1)
    compute.signal(signal.SIGHUP)  # a second HUP is just as harmless
    compute.wait_for("probe reset", start=reset + 1)
    assert compute.process.poll() is None and compute.process.pid == pid


def test_sighup_with_a_bad_file_keeps_the_running_configuration(
        tmp_path, state_path, daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task ProbeManager.fast")
    compute.write_ini(daemon_module.base_ini(state_path) +
                      "[periodic_task:fast]\nspacing = soon\n")
    compute.signal(signal.SIGHUP)
    line = compute.wait_for("Configuration not reloaded")
    said = compute.lines[line]
    assert "[periodic_task:fast] spacing: invalid value 'soon'" in said
    assert said.count("invalid value 'soon'") == 1, said
    mark = len(compute.lines)
    compute.wait_for("Running periodic task ProbeManager.fast", start=mark)
    assert compute.process.poll() is None


def test_sighup_applies_debug(tmp_path, state_path, daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path,
                                                       debug="false"))
    compute.wait_for("Periodic task ProbeManager.fast: every 0.2 s")
    time.sleep(0.5)
    assert not compute.matching("Running periodic task")
    compute.write_ini(daemon_module.base_ini(state_path, debug="true"))
    compute.signal(signal.SIGHUP)
    compute.wait_for("Running periodic task ProbeManager.fast")


def test_a_storm_of_sighups_leaves_one_daemon_with_the_last_settings(
        tmp_path, state_path, daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task ProbeManager.fast")
    for spacing in range(1, 51):  # 50 SIGHUPs within a second
        compute.write_ini(daemon_module.base_ini(state_path) +
                          "[periodic_task:slow]\nspacing = %d\n" % spacing)
        compute.signal(signal.SIGHUP)
        time.sleep(0.018)
    compute.wait_for("Periodic task ProbeManager.slow is now: every 50 s")
    time.sleep(0.5)
    assert compute.process.poll() is None
    last = [line for line in compute.lines
            if "ProbeManager.slow is now" in line][-1]
    assert last.endswith("every 50 s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_exits_0_promptly_when_idle(tmp_path, state_path,
                                                daemons, signum):
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, periodic_interval=60, report_interval=30,
        service_down_time=60))
    compute.wait_for("is ready")
    compute.signal(signum)
    assert compute.wait(timeout=10) == 0
    compute.wait_for("Caught %s, stopping" % signal.Signals(signum).name)


def test_sigterm_lets_the_running_task_finish(tmp_path, state_path,
                                              daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task ProbeManager.fast")
    open(os.path.join(state_path, "busy"), "w").close()
    started = compute.wait_for("probe busy started")
    compute.signal(signal.SIGTERM)
    assert compute.wait() == 0
    finished = compute.wait_for("probe busy finished")
    stopped = compute.wait_for("Stopped novalite-compute")
    assert started < finished < stopped
    # the database holds the finished run and a live service row
    with sqlite3.connect(os.path.join(state_path,
                                      "novalite.sqlite")) as connection:
        busy_runs = connection.execute(
            "SELECT runs FROM periodic_task_stats WHERE task = '_busy'"
        ).fetchone()[0]
        services = connection.execute(
            "SELECT COUNT(*) FROM services WHERE deleted = 0").fetchone()[0]
    assert busy_runs >= 1 and services == 1


def test_sigusr2_writes_a_report_with_the_task_table(tmp_path, state_path,
                                                     daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path))
    compute.wait_for("Running periodic task ProbeManager.slow")
    compute.signal(signal.SIGUSR2)
    compute.wait_for("Guru Meditation")
    compute.wait_for("Periodic Tasks")
    compute.wait_for(r"ProbeManager\.slow *\| *every 0\.5 s *\|")
    assert compute.process.poll() is None


def test_version_and_help():
    env = daemon_module.environment()
    version = subprocess.run(daemon_module.command() + ["--version"],
                             capture_output=True, text=True, env=env,
                             timeout=60)
    assert version.returncode == 0
    assert version.stdout.strip() or version.stderr.strip()
    helped = subprocess.run(daemon_module.command() + ["--help"],
                            capture_output=True, text=True, env=env,
                            timeout=60)
    assert helped.returncode == 0 and "--config-file" in helped.stdout


def test_log_file_and_quiet_start(tmp_path, state_path, daemons):
    log_file = tmp_path / "compute.log"
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, log_file=str(log_file)))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (
            not log_file.exists()
            or "Running periodic task" not in log_file.read_text()):
        time.sleep(0.1)
    assert "Running periodic task ProbeManager" in log_file.read_text()
    compute.signal(signal.SIGTERM)
    assert compute.wait() == 0
    assert not any("Eventlet is deprecated" in line
                   for line in compute.lines)


def test_the_first_start_says_where_and_keeps_alembic_quiet(
        tmp_path, state_path, daemons):
    compute = daemons(tmp_path, daemon_module.base_ini(state_path,
                                                       debug="false"))
    compute.wait_for("is ready")
    where = compute.lines[compute.wait_for("Configuration read from")]
    assert str(compute.ini) in where
    assert "state in %s" % state_path in where
    assert compute.matching("Upgrading the database schema")
    assert not compute.matching("alembic")

