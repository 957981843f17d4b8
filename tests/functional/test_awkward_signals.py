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

"""Signals at the moments a daemon is least ready for them: while Python
imports, while start-up waits on a database, and while stderr is a pipe
that nobody reads."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.functional import daemon as daemon_module
from tests.functional import test_compute_daemon as helpers


@pytest.fixture
def processes():
    """Popen through this; every process is killed and reaped after."""
    started = []

    def start(*args, **kwargs):
        process = subprocess.Popen(*args, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _catches_sighup(pid):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16)
                                & 1 << (signal.SIGHUP - 1))
    except OSError:
        return False
    return False


def test_sighup_and_sigusr2_while_python_imports_do_not_kill(
        tmp_path, state_path, processes):
    """A storm of HUP and USR2 from the moment the command's first
    statement can run (the interpreter's own start-up, about 30 ms here,
    is out of anyone's reach): the daemon lives, then serves them."""
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    log = tmp_path / "out.log"
    with open(log, "w") as out:
        process = processes(
            daemon_module.command() + ["--config-file", str(ini)],
            stdout=out, stderr=subprocess.STDOUT,
            env=daemon_module.environment(), cwd=str(tmp_path))
    began = time.monotonic()
    while (not _catches_sighup(process.pid)
           and time.monotonic() - began < 0.3):
        time.sleep(0.001)
    storm_end = time.monotonic() + 1.5
    while time.monotonic() < storm_end and process.poll() is None:
        process.send_signal(signal.SIGHUP)
        process.send_signal(signal.SIGUSR2)
        time.sleep(0.005)
    assert process.poll() is None, log.read_text()[-2000:]
    deadline = time.monotonic() + 15
    while "Caught SIGHUP, reloading" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    text = log.read_text()
    assert "Guru Meditation" in text
    assert "Traceback (most recent call last)" not in text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_python_imports_exits_0(tmp_path, state_path,
                                                   processes, signum):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    process = processes(
        daemon_module.command() + ["--config-file", str(ini)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=daemon_module.environment(), cwd=str(tmp_path))
    began = time.monotonic()
    while not _catches_sighup(process.pid):
        assert time.monotonic() - began < 10
        time.sleep(0.001)
    process.send_signal(signum)
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 0, out
    name = signal.Signals(signum).name
    assert ("caught %s while starting; exiting" % name in out
            or "Caught %s during start-up" % name in out), out
    assert "Traceback" not in out


class _SilentServer:
    """Accepts TCP connections on loopback and never answers."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self):
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_start_up_is_served(tmp_path, state_path,
                                                 daemons, signum):
    silent = _SilentServer()
    try:
        compute = daemons(tmp_path, daemon_module.base_ini(state_path) + (
            "[database]\nconnection = postgresql+pg8000://postgres@"
            "127.0.0.1:%d/never\n" % silent.port))
        compute.wait_for("Starting compute node")
        deadline = time.monotonic() + 10
        while not silent.accepted:
            assert time.monotonic() < deadline, "never connected"
            time.sleep(0.05)
        compute.signal(signum)
        assert compute.wait(10) == 0
        compute.wait_for("Caught %s during start-up"
                         % signal.Signals(signum).name)
        assert not compute.matching("Traceback")
    finally:
        silent.close()


def test_reports_into_a_pipe_nobody_reads_block_nothing(tmp_path,
                                                        state_path,
                                                        processes):
    """Thirty SIGUSR2s while stderr is a pipe that is never read: the
    heartbeat goes on, SIGTERM is served, and the reports that do not fit
    are dropped with a warning in the log."""
    ini = tmp_path / "compute.conf"
    log_file = tmp_path / "compute.log"
    ini.write_text(daemon_module.base_ini(state_path,
                                          log_file=str(log_file)))
    unread_out, unread_err = os.pipe(), os.pipe()
    try:
        process = processes(
            daemon_module.command() + ["--config-file", str(ini)],
            stdout=unread_out[1], stderr=unread_err[1],
            env=daemon_module.environment(), cwd=str(tmp_path))
        deadline = time.monotonic() + 15
        while not log_file.exists() or (
                "is ready" not in log_file.read_text()):
            assert time.monotonic() < deadline, "never started"
            time.sleep(0.1)
        for _ in range(30):
            process.send_signal(signal.SIGUSR2)
            time.sleep(0.05)
        before = helpers.heartbeat_count(state_path)
        time.sleep(1.5)
        assert helpers.heartbeat_count(state_path) >= before + 4
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        for fd in unread_out + unread_err:
            os.close(fd)
    text = log_file.read_text()
    assert "Guru Meditation Report dropped" in text
    assert "Caught SIGTERM, stopping" in text


def test_a_second_daemon_with_the_same_host_refuses(tmp_path, state_path,
                                                    daemons):
    ini = daemon_module.base_ini(state_path, report_interval=1)
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first = daemons(first_dir, ini)
    first.wait_for("is ready")
    second = daemons(second_dir, ini)
    assert second.wait(15) == 78
    refusal = second.matching("already running")
    assert len(refusal) == 1 and "[DEFAULT] host" in refusal[0]
    assert first.process.poll() is None


def test_a_restart_after_kill_9_is_not_refused(tmp_path, state_path,
                                               daemons):
    ini = daemon_module.base_ini(state_path)
    crashed = daemons(tmp_path, ini)
    crashed.wait_for("is ready")
    crashed.signal(signal.SIGKILL)
    crashed.wait()
    began = time.monotonic()
    again = daemons(tmp_path, ini)
    again.wait_for("watching its row")
    again.wait_for("is ready")
    assert time.monotonic() - began < 10


COMPUTE_EVERY_HALF_SECOND = """
[periodic_task:update_available_resource]
spacing = 0.5
"""


def _rows(database, query):
    import sqlite3

    with sqlite3.connect(database) as connection:
        return connection.execute(query).fetchall()


@pytest.mark.parametrize("how", ["deleted", "replaced", "truncated"])
def test_a_lost_sqlite_file_is_reopened_loudly(tmp_path, state_path,
                                               daemons, how):
    ini = daemon_module.base_ini(
        state_path,
        compute_manager="novalite.compute.manager.ComputeManager",
        compute_driver="fake") + COMPUTE_EVERY_HALF_SECOND
    compute = daemons(tmp_path, ini)
    compute.wait_for("is ready")
    database = os.path.join(state_path, "novalite.sqlite")
    deadline = time.monotonic() + 15
    while not _rows(database, "SELECT id FROM compute_nodes"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    if how == "truncated":
        os.truncate(database, 0)
    else:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(database + suffix):
                os.unlink(database + suffix)
        if how == "replaced":
            open(database, "w").close()
    compute.wait_for("The SQLite database %s was" % database)
    deadline = time.monotonic() + 15
    while True:
        try:
            nodes = _rows(database, "SELECT host FROM compute_nodes")
            beats = _rows(database, "SELECT report_count FROM services")
            stats = _rows(database, "SELECT task FROM periodic_task_stats")
        except Exception:  # not migrated again yet
            nodes = beats = stats = []
        if nodes and beats and stats:
            break
        assert time.monotonic() < deadline, "\n".join(compute.lines[-60:])
        time.sleep(0.2)
    assert nodes == [("probe-host",)]
    assert compute.process.poll() is None


def _read_until(stream, text, timeout=20):
    deadline = time.monotonic() + timeout
    for line in stream:
        if text in line:
            return
        assert time.monotonic() < deadline, "never said %r" % text
    raise AssertionError("output ended before %r" % text)


@pytest.mark.parametrize("when", ["during start-up", "once ready"])
def test_a_stop_signal_with_the_log_reader_gone_still_exits(
        tmp_path, state_path, processes, when):
    """The pipe the daemon logs to is closed (a `| head` that ended, a
    log collector that died): SIGTERM still ends the process, it does not
    spin on the broken pipe (eventlet retries EPIPE for ever)."""
    silent = _SilentServer()
    ini = tmp_path / "compute.conf"
    text = daemon_module.base_ini(state_path)
    if when == "during start-up":
        text += ("[database]\nconnection = postgresql+pg8000://postgres@"
                 "127.0.0.1:%d/never\n" % silent.port)
    ini.write_text(text)
    try:
        process = processes(
            daemon_module.command() + ["--config-file", str(ini)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=daemon_module.environment(), cwd=str(tmp_path))
        _read_until(process.stdout, "Starting compute node"
                    if when == "during start-up" else "is ready")
        if when == "during start-up":
            deadline = time.monotonic() + 10
            while not silent.accepted:
                assert time.monotonic() < deadline, "never connected"
                time.sleep(0.05)
        process.stdout.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        silent.close()


def test_a_restart_after_a_clean_stop_starts_at_once(tmp_path, state_path,
                                                     daemons):
    """systemctl restart: the row still beat a moment ago, but the daemon
    that beat it noted its clean stop, so there is no twin to watch for."""
    ini = daemon_module.base_ini(state_path)
    (tmp_path / "first").mkdir()
    (tmp_path / "again").mkdir()
    first = daemons(tmp_path / "first", ini)
    first.wait_for("is ready")
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    again = daemons(tmp_path / "again", ini)
    again.wait_for("stopped cleanly at its last beat; starting at once")
    again.wait_for("is ready")
    assert again.matching("watching its row") == []
    assert not any(name.endswith(".stopped")
                   for name in os.listdir(state_path))
