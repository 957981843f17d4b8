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

"""A database that never answers, and an SQLite file another process
holds locked: the commands and the daemon stay within their bounds."""

import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from novalite.db import api as db_api
from tests.functional import daemon as daemon_module
from tests.functional import tcp_proxy
from tests.functional import test_database

#: A fresh database of each kind, dropped afterwards.
database_url = test_database.database_url

CONNECT_TIMEOUT = 1.0
#: A Python start (imports, configuration) on a busy 2-core machine.
START_UP = 10.0


class SilentServer:
    """Accepts every connection on loopback and never says a word."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(client)

    def close(self):
        self.listener.close()
        for client in self.accepted:
            client.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


SILENT_URLS = {
    "postgresql": "postgresql+pg8000://novalite@127.0.0.1:%d/novalite",
    "mysql": "mysql+pymysql://novalite@127.0.0.1:%d/novalite",
}


def _silent_ini(tmp_path, state_path, kind, port):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path) + (
        "[database]\nconnection = %s\nconnect_timeout = %g\n"
        % (SILENT_URLS[kind] % port, CONNECT_TIMEOUT)))
    return ini


def _run_bounded(program, arguments, ini):
    started = time.monotonic()
    try:
        result = subprocess.run(
            daemon_module.command(program) + ["--config-file", str(ini)]
            + arguments, capture_output=True,
            text=True, timeout=CONNECT_TIMEOUT + START_UP + 20,
            env=daemon_module.environment())
    except subprocess.TimeoutExpired:
        pytest.fail("still waiting for a server that never answers after "
                    "%.0f s" % (time.monotonic() - started))
    return result, time.monotonic() - started


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
@pytest.mark.parametrize("program, arguments", [
    ("manage", ["db", "version"]), ("compute", [])],
    ids=["manage-db-version", "daemon-start"])
def test_a_server_that_never_answers_is_unavailable_within_the_bound(
        tmp_path, state_path, silent_server, kind, program, arguments):
    ini = _silent_ini(tmp_path, state_path, kind, silent_server.port)
    result, took = _run_bounded(program, arguments, ini)
    assert result.returncode == 69, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot use the database" in lines[0]
    assert "no answer" in lines[0]
    assert silent_server.accepted, "the command never reached the server"
    assert took < CONNECT_TIMEOUT + START_UP


@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_a_statement_the_server_never_answers_times_out(database_url):
    """After the handshake, a server that stops answering fails the
    statement after statement_timeout instead of hanging."""
    parsed = db_api.check_url(database_url)
    proxy = tcp_proxy.TcpProxy((parsed.host, parsed.port))
    engine = db_api.create_engine(
        parsed.set(host="127.0.0.1", port=proxy.port), connect_timeout=5,
        statement_timeout=1.5)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            proxy.silence()
            started = time.monotonic()
            with pytest.raises(sa.exc.DBAPIError):
                connection.exec_driver_sql("SELECT 1")
            took = time.monotonic() - started
        assert 1.0 <= took < 5, took
    finally:
        engine.dispose()
        proxy.close()


# SQLite locked by another process ------------------------------------------

class Holder:
    """Another process's lock on an SQLite file: BEGIN EXCLUSIVE, held."""

    def __init__(self, path):
        self.connection = sqlite3.connect(str(path), isolation_level=None,
                                          timeout=10)
        self.connection.execute("BEGIN EXCLUSIVE")

    def release(self):
        self.connection.rollback()
        self.connection.close()


def test_sigterm_while_the_sqlite_file_is_locked_exits_in_time(
        tmp_path, state_path, daemons):
    """The daemon's writes wait for the lock in short tries that yield, so
    SIGTERM is served within graceful_shutdown_timeout and the event loop
    never stalls in SQLite's busy wait."""
    graceful = 2
    compute = daemons(tmp_path, daemon_module.base_ini(
        state_path, graceful_shutdown_timeout=graceful,
        service_down_time=3))
    compute.wait_for("is ready")
    compute.wait_for("Running periodic task ProbeManager.fast")
    database = db_api.default_connection(state_path)[len("sqlite:///"):]
    holder = Holder(database)
    try:
        time.sleep(6)   # beats and task statistics wait for the lock
        mark = len(compute.lines)
        started = time.monotonic()
        compute.signal(signal.SIGTERM)
        status = compute.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        holder.release()
    assert status == 0, "\n".join(compute.lines[-30:])
    # Before: 25 s. The margin covers the heartbeat thread's last lock
    # wait (1 s) and a loaded machine.
    assert took < graceful + 5, "SIGTERM took %.1f s" % took
    assert not compute.matching("Event loop stalled"), "\n".join(
        compute.matching("Event loop stalled"))
    assert compute.matching("Caught SIGTERM", mark)
