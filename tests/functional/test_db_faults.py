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

"""The connection repairs of ``novalite/db/api.py`` on the real drivers.

The 30 s cuts of ``test_reliability.py`` never reach them: the TCP proxy
closes connections cleanly (pg8000 reads the end of the stream and raises
its own error), and the daemon's one pooled SQLite connection was opened
before the cut and works again after it. These reach the states in which
each repair matters, in well under a second each.
"""

import os
import signal
import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from novalite.db import api as db_api
from novalite.db import migration
from tests.functional import daemon as daemon_module
from tests.functional import test_database
from tests.functional import test_reliability
from tests.unit import test_db

#: A fresh database of each kind, dropped afterwards; these tests take the
#: PostgreSQL one, skipped when the server does not answer.
database_url = test_database.database_url

#: Kill-and-use cycles: each one, without the ping's repair, failed on 39
#: of 40 tries here; ten make a pass by luck implausible.
CYCLES = 10

_BACKEND = sa.text("SELECT pg_backend_pid(), inet_client_port(), "
                   "inet_server_port()")


def _backend(engine):
    """(pid, client port, server port) of the next use of ``engine``."""
    with engine.connect() as connection:
        return tuple(connection.execute(_BACKEND).one())


def _terminate(killer, pid):
    """Signal the backend to end, without waiting for it to have ended:
    as a server restart does, the client's next use can reach the
    backend while it is exiting."""
    assert killer.execute(sa.text(
        "SELECT pg_terminate_backend(%d)" % pid)).scalar()


@pytest.fixture
def killer(database_url):
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        yield connection
    admin.dispose()


@pytest.mark.parametrize("own_thread", [False, True],
                         ids=["pool", "heartbeat-engine"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_postgresql_backend_is_replaced_at_first_use(
        database_url, killer, own_thread):
    """Kill the backend, use the engine at once: the pre-ping finds the
    connection gone and the use succeeds on a new backend, every time.
    Without ``_ping_survives_socket_errors`` pg8000's bare
    ConnectionResetError passes the ping and fails the use."""
    engine = db_api.create_engine(database_url, own_thread=own_thread)
    try:
        previous = _backend(engine)[0]
        for cycle in range(CYCLES):
            _terminate(killer, previous)
            try:
                current = _backend(engine)[0]
            except Exception as exc:
                pytest.fail("use %d after a kill failed: %r" % (cycle, exc))
            assert current != previous
            previous = current
    finally:
        engine.dispose()


def _unread_by_server(client_port, server_port):
    """Bytes the server's end of the connection from ``client_port`` has
    received and not read (/proc/net/tcp), None if it is not listed."""
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == server_port
                    and int(remote.split(":")[1], 16) == client_port):
                return int(fields[4].split(":")[1], 16)
    return None


def _skip_unless_a_local_backend(pid, name, client_port, server_port):
    """The test stops the backend process: it must be this connection's
    backend, on this host, and ours to signal."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            title = cmdline.read().decode(errors="replace")
        listed = _unread_by_server(client_port, server_port)
    except OSError as exc:
        pytest.skip("cannot see the PostgreSQL backend: %s" % exc)
    if name not in title or "(%d)" % client_port not in title or (
            listed is None):
        pytest.skip("PostgreSQL does not run on this host (pid %d is %r)"
                    % (pid, title[:60]))
    try:
        os.kill(pid, 0)
    except PermissionError:
        pytest.skip("may not signal the PostgreSQL backend %d" % pid)


@pytest.mark.parametrize("own_thread", [False, True],
                         ids=["pool", "heartbeat-engine"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_backend_that_dies_with_the_ping_unread_is_replaced(
        database_url, killer, own_thread):
    """The state behind the race above, made certain: the pre-ping reaches
    the backend, which then ends without reading it, so the server resets
    the connection after its FATAL message and pg8000's next read raises
    a bare ConnectionResetError. The backend is stopped (SIGSTOP) while
    it is told to end and the ping arrives, then let go."""
    engine = db_api.create_engine(database_url, own_thread=own_thread)
    try:
        pid, client_port, server_port = _backend(engine)
        _skip_unless_a_local_backend(
            pid, sa.engine.make_url(database_url).database, client_port,
            server_port)
        outcome = []

        def use():
            try:
                outcome.append(_backend(engine)[0])
            except Exception as exc:
                outcome.append(exc)

        user = threading.Thread(target=use, daemon=True)
        os.kill(pid, signal.SIGSTOP)
        try:
            _terminate(killer, pid)
            user.start()
            deadline = time.monotonic() + 10
            while not _unread_by_server(client_port, server_port):
                assert time.monotonic() < deadline, "the ping never came"
                time.sleep(0.01)
        finally:
            os.kill(pid, signal.SIGCONT)
        user.join(30)
        assert outcome, "the use after the kill did not return"
        assert isinstance(outcome[0], int), (
            "the use after the kill failed: %r" % outcome[0])
        assert outcome[0] != pid
    finally:
        engine.dispose()


@pytest.mark.skipif(test_reliability.CHATTR is None or os.geteuid() != 0,
                    reason="needs root and chattr: file modes do not stop "
                           "root")
def test_an_sqlite_connection_opened_unwritable_is_replaced(tmp_path):
    """A connection SQLite opens while its file cannot be written is
    read-only for good ("attempt to write a readonly database"), also
    after the file is fine again. The hook counts the error as a
    disconnect, so the pool drops it; without the hook it stays pooled
    and fails every write given to it."""
    immutable = test_reliability._immutable
    probe = tmp_path / "probe"
    probe.write_text("x")
    if immutable([str(probe)], "+i").returncode:
        pytest.skip("this file system does not support chattr +i")
    immutable([str(probe)], "-i")
    state = tmp_path / "state"
    db = db_api.Database(db_api.create_engine(
        db_api.default_connection(str(state))))
    try:
        migration.prepare(db.engine)
        service = db.service_get_or_create("h", "novalite-compute", "c")
        # As in the 30 s cut: the directory, the database and its WAL.
        frozen = [str(path) for path in state.iterdir()
                  if not path.name.endswith("-shm")] + [str(state)]
        with db.engine.connect():  # the pooled connection is busy, so...
            try:
                assert immutable(frozen, "+i").returncode == 0
                # ...this write opens a second one, during the cut.
                with pytest.raises(sa.exc.OperationalError,
                                   match="readonly database"):
                    db.service_heartbeat(service.id)
            finally:
                assert immutable(frozen, "-i").returncode == 0
        bump = sa.text("UPDATE services SET report_count = report_count + 1")
        for _round in range(2):  # through every connection the pool holds
            with db.engine.connect() as one, db.engine.connect() as two:
                for connection in (one, two):
                    try:
                        connection.execute(bump)
                    except sa.exc.OperationalError as exc:
                        pytest.fail("a pooled connection still fails after "
                                    "the restore: %s" % exc.orig)
                    connection.commit()
        assert db.service_get(service.id).report_count == 4
    finally:
        db.dispose()


# Errors an operator can act on, and a dropped database ---------------------

def _run(program, ini, *arguments):
    return subprocess.run(
        daemon_module.command(program) + ["--config-file", str(ini)]
        + list(arguments), capture_output=True, text=True, timeout=60,
        env=daemon_module.environment())


def _one_line(result, status):
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("program, arguments", [
    ("manage", ["db", "version"]), ("compute", [])],
    ids=["manage-db-version", "daemon-start"])
@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_refused_credentials_are_a_configuration_error(
        tmp_path, state_path, database_url, program, arguments):
    """PostgreSQL here trusts every known role, so the wrong credentials
    are a role it does not know (28000); MariaDB's root gets a password it
    does not have (1045)."""
    parsed = sa.engine.make_url(database_url)
    if parsed.get_backend_name() == "postgresql":
        wrong = parsed.set(username="novalite_nobody_%d" % os.getpid())
    else:
        wrong = parsed.set(password="not-the-password")
    ini = test_database.write_ini(
        tmp_path, state_path, wrong.render_as_string(hide_password=False))
    line = _one_line(_run(program, ini, *arguments), 78)
    assert "refused the credentials" in line
    assert "not-the-password" not in line


@pytest.mark.parametrize("program, arguments", [
    ("manage", ["db", "version"]), ("compute", [])],
    ids=["manage-db-version", "daemon-start"])
@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_a_database_that_does_not_exist_is_a_configuration_error(
        tmp_path, state_path, database_url, program, arguments):
    missing = sa.engine.make_url(database_url).set(
        database="novalite_missing_%d" % os.getpid())
    ini = test_database.write_ini(
        tmp_path, state_path, missing.render_as_string(hide_password=False))
    line = _one_line(_run(program, ini, *arguments), 78)
    assert "does not exist" in line
    assert "create it, then run 'novalite-manage db sync'" in line


@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_a_value_too_long_is_a_data_error_not_unavailable(database_url,
                                                          capsys):
    """The real drivers' error for a value longer than its column: one
    line, exit status 65 (EX_DATAERR), never "cannot use the database"."""
    from novalite.cmd import common

    engine = db_api.create_engine(database_url)
    try:
        migration.db_sync(engine)
        db = db_api.Database(engine)
        service = db.service_get_or_create("h", "novalite-compute", "c")

        @common.explained_errors
        def command():
            db.service_update(service.id, disabled_reason="x" * 300)

        assert command() == 65
    finally:
        engine.dispose()
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1, line
    assert "refused the data" in line
    assert "cannot use the database" not in line


def test_task_statistics_keep_their_rows_across_saves(database_url):
    engine = db_api.create_engine(database_url)
    try:
        migration.db_sync(engine)
        db = db_api.Database(engine)
        row = test_db._stats_row
        db.task_stats_save("h", "b", [row("a", 1), row("b", 1)])
        ids = {row.task: row.id for row in db.task_stats_get_all("h")}
        db.task_stats_save("other", "b", [row("a", 1)])
        for runs in range(2, 12):
            db.task_stats_save("h", "b", [row("a", runs), row("b", runs)])
        rows = db.task_stats_get_all("h")
        assert {row.task: row.id for row in rows} == ids
        assert [row.runs for row in rows] == [11, 11]
    finally:
        engine.dispose()


def test_a_dropped_postgresql_database_logs_once_and_recovers(
        tmp_path, state_path, daemons):
    """DROP DATABASE ... WITH (FORCE) under a running daemon, then the
    database made again: the heartbeat says it went and came back, once
    each, and nothing logs a traceback for every pooled connection it
    drops (SQLAlchemy's pool did, once per connection and outage)."""
    name = "novalite_dropped_%d" % os.getpid()
    admin_url = test_database.SERVERS["postgresql"] % "postgres"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    url = test_database.SERVERS["postgresql"] % name

    def admin_sql(statement):
        with admin.connect() as connection:
            connection.execute(sa.text(statement))

    def create():
        admin_sql("CREATE DATABASE %s" % name)
        engine = db_api.create_engine(url)
        migration.db_sync(engine)
        engine.dispose()

    try:
        admin_sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        create()
    except Exception as exc:
        admin.dispose()
        if not test_database.server_unreachable(exc):
            raise
        pytest.skip("PostgreSQL is not reachable: %s" % str(exc)[:120])
    try:
        compute = daemons(tmp_path, test_reliability._fault_ini(
            tmp_path, state_path, url))
        compute.wait_for("Running periodic task ComputeManager."
                         "update_available_resource")
        time.sleep(1.0)
        mark = len(compute.lines)
        admin_sql("DROP DATABASE %s WITH (FORCE)" % name)
        compute.wait_for("model server went away", start=mark)
        time.sleep(5)
        create()
        compute.wait_for("Recovered model server connection!", start=mark)
        time.sleep(2)
        compute.signal(signal.SIGTERM)
        assert compute.wait() == 0
    finally:
        admin_sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        admin.dispose()
    assert len(compute.matching("model server went away", mark)) == 1
    assert len(compute.matching("Recovered model server connection",
                                mark)) == 1
    pool = compute.matching(r"ERROR sqlalchemy\.", mark)
    assert pool == [], "\n".join(pool[:5])
