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

"""The database layer on a temporary SQLite file."""

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models
from novalite import exception


def test_the_known_schema_head_is_alembics():
    assert migration.HEAD == migration.head_version()


def test_prepare_creates_and_migrates_sqlite(db):
    assert migration.db_version(db.engine) == migration.HEAD
    migration.prepare(db.engine)  # a second start changes nothing
    assert migration.db_version(db.engine) == migration.HEAD


def test_a_database_that_is_behind_is_refused(tmp_path):
    engine = db_api.create_engine("sqlite:///%s" % (tmp_path / "x.sqlite"))
    with pytest.raises(exception.DatabaseNotSynced,
                       match="never synced.*novalite-manage db sync"):
        migration.check_synced(engine)


def test_a_database_ahead_of_the_code_is_refused(db):
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(exception.DatabaseError, match="9999"):
        migration.prepare(db.engine)


def test_service_rows_soft_delete_and_come_back(db):
    first = db.service_get_or_create("h1", "novalite-compute", "compute")
    again = db.service_get_or_create("h1", "novalite-compute", "compute")
    assert first.id == again.id and first.created_at is not None
    assert db.service_heartbeat(first.id)
    db.service_update(first.id, disabled=True, disabled_reason="maint")
    row = db.service_get(first.id)
    assert (row.report_count, row.disabled, row.disabled_reason) == (
        1, True, "maint")
    assert row.updated_at is not None
    db.service_destroy(first.id)
    assert db.service_get(first.id) is None
    assert not db.service_heartbeat(first.id)
    with pytest.raises(exception.ServiceNotFound):
        db.service_update(first.id, disabled=False)
    new = db.service_get_or_create("h1", "novalite-compute", "compute")
    assert new.id != first.id
    assert [r.host for r in db.service_get_all()] == ["h1"]


def test_bad_urls_are_explained():
    with pytest.raises(exception.DatabaseError, match="not a database URL"):
        db_api.check_url("nowhere")
    with pytest.raises(exception.DatabaseError, match="no driver"):
        db_api.check_url("postgresql+nodriver://h/d")


def test_default_connection_is_sqlite_under_state_path():
    url = db_api.default_connection("~/state")
    assert url.startswith("sqlite:////") and url.endswith(
        "/state/novalite.sqlite")
    assert "~" not in url


@pytest.mark.parametrize("message, broken", [
    ("disk I/O error", True), ("attempt to write a readonly database", True),
    ("unable to open database file", True), ("database is locked", False),
    ("no such table: services", False)])
def test_sqlite_io_failures_replace_the_connection(message, broken):
    class Context:
        original_exception = Exception(message)
        is_disconnect = False

    context = Context()
    db_api._sqlite_failure_is_a_disconnect(context)
    assert context.is_disconnect is broken


def test_the_hook_is_on_every_sqlite_engine(tmp_path):
    for own_thread in (True, False):
        engine = db_api.create_engine(
            "sqlite:///%s" % (tmp_path / "x.sqlite"), own_thread=own_thread)
        assert sa.event.contains(engine, "handle_error",
                                 db_api._sqlite_failure_is_a_disconnect)


def test_a_ping_whose_socket_fails_says_the_connection_is_gone():
    class Dialect:
        def __init__(self, error):
            self.error = error

        def do_ping(self, dbapi_connection):
            if self.error:
                raise self.error
            return True

    healthy = Dialect(None)
    db_api._ping_survives_socket_errors(healthy)
    assert healthy.do_ping(object()) is True
    reset = Dialect(ConnectionResetError(104, "Connection reset by peer"))
    db_api._ping_survives_socket_errors(reset)
    assert reset.do_ping(object()) is False
    broken_code = Dialect(ValueError("a bug, not a disconnect"))
    db_api._ping_survives_socket_errors(broken_code)
    with pytest.raises(ValueError):
        broken_code.do_ping(object())


# Timeouts (hardening item 4) -----------------------------------------------

def test_the_timeout_options_are_bounded():
    from novalite.conf import database

    options = {opt.name: opt for opt in database.database_opts}
    for name in ("connect_timeout", "statement_timeout"):
        option = options[name]
        assert option.help.strip()
        assert option.type.min > 0 and option.type.max is not None
        assert option.type.min <= option.default <= option.type.max


@pytest.mark.parametrize("url, expected", [
    ("postgresql+pg8000://u@h/d", {"timeout": 3.0}),
    ("mysql+pymysql://u@h/d", {"connect_timeout": 3.0, "read_timeout": 3.0,
                               "write_timeout": 3.0})])
@pytest.mark.parametrize("own_thread", [False, True])
def test_server_connections_are_bounded(url, expected, own_thread):
    """The connection and its handshake by connect_timeout; once it is
    made, every wait for the server by statement_timeout."""
    engine = db_api.create_engine(url, own_thread=own_thread,
                                  connect_timeout=3.0, statement_timeout=7.0)
    cparams = _connect_arguments(engine)
    assert {key: cparams.get(key) for key in expected} == expected
    _args, bound = db_api._server_timeouts(engine.url, 3.0, 7.0)

    class Socket:
        timeout = None

        def settimeout(self, value):
            self.timeout = value

    class Connection:
        _usock = Socket()
        _read_timeout = _write_timeout = 3.0

    connection = Connection()
    bound(connection, None)
    if "timeout" in expected:
        assert connection._usock.timeout == 7.0
    else:
        assert (connection._read_timeout, connection._write_timeout) == (
            7.0, 7.0)
    engine.dispose()


def _connect_arguments(engine):
    """The keyword arguments ``engine`` gives the driver's connect()."""
    captured = {}

    class Stop(Exception):
        pass

    def connect(*args, **kwargs):
        captured.update(kwargs)
        raise Stop()

    engine.dialect.connect = connect
    with pytest.raises(Stop):
        engine.raw_connection()
    return captured


def test_the_timeouts_default_to_the_configuration(config):
    config.config(group="database", connect_timeout=2.5,
                  statement_timeout=9.0)
    engine = db_api.create_engine("mysql+pymysql://u@h/d")
    assert _connect_arguments(engine)["connect_timeout"] == 2.5
    engine.dispose()


# SQLite locks (hardening item 6) --------------------------------------------

class FakeDialect:
    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def do_execute(self, *args):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"

    do_execute_no_params = do_executemany = do_commit = do_execute


def _locked(code=5):
    exc = sqlite3.OperationalError("database is locked")
    exc.sqlite_errorcode = code
    return exc


def test_a_locked_sqlite_statement_is_tried_again_while_sleeping():
    slept = []
    dialect = FakeDialect([_locked(), _locked(), _locked(261)])
    db_api._retry_while_locked(dialect, 10, sleep=slept.append)
    assert dialect.do_execute() == "done"
    assert dialect.calls == 4 and len(slept) == 3
    assert all(0 < pause <= 0.05 for pause in slept)


def test_a_lock_held_too_long_fails_after_the_timeout():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    dialect = FakeDialect([_locked()] * 10000)
    db_api._retry_while_locked(dialect, 2.0, sleep=sleep,
                               clock=lambda: now[0])
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        dialect.do_commit()
    assert now[0] == pytest.approx(2.0)


@pytest.mark.parametrize("error", [
    _locked(517),  # BUSY_SNAPSHOT: no wait cures it
    sqlite3.OperationalError("no such table: x")])
def test_other_sqlite_errors_are_not_tried_again(error):
    dialect = FakeDialect([error])
    db_api._retry_while_locked(dialect, 10, sleep=lambda s: None)
    with pytest.raises(sqlite3.OperationalError):
        dialect.do_execute()
    assert dialect.calls == 1


def test_a_write_waits_for_another_connections_lock_in_short_sleeps(
        db, monkeypatch):
    path = db.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    slept = []
    real_sleep = time.sleep

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 20:
            holder.rollback()
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    try:
        row = db.service_get_or_create("h", "novalite-compute", "compute")
    finally:
        holder.close()
    assert row is not None
    assert len(slept) >= 20
    # SQLite itself waited at most SQLITE_NATIVE_BUSY_MS at a time.
    assert db_api.SQLITE_NATIVE_BUSY_MS <= 20


def test_a_lock_held_past_statement_timeout_fails(tmp_path):
    engine = db_api.create_engine("sqlite:///%s" % (tmp_path / "x.sqlite"),
                                  statement_timeout=1.0)
    migration.prepare(engine)
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    try:
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            db_api.Database(engine).service_get_or_create("h", "b", "t")
    finally:
        holder.close()
        engine.dispose()
    assert 1.0 <= time.monotonic() - started < 3


def test_sqlite_ddl_is_transactional(tmp_path):
    """SQLAlchemy emits BEGIN itself: a table made in a transaction that
    fails is not left behind (pysqlite alone commits DDL at once)."""
    engine = db_api.create_engine("sqlite:///%s" % (tmp_path / "x.sqlite"))
    with pytest.raises(RuntimeError):
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE half (id INTEGER)")
            raise RuntimeError("killed here")
    assert not sa.inspect(engine).has_table("half")
    engine.dispose()


# periodic_task_stats in place (hardening item 13) ---------------------------

def _stats_row(task, runs):
    """A row of periodic_task_stats as the periodic runner hands it."""
    return {"task": task, "schedule": "every 1 s", "runs": runs,
            "failures": 0, "timeouts": 0, "last_start": None,
            "last_duration": None, "next_due": None, "last_error": None}


def test_task_stats_are_updated_in_place(db):
    db.task_stats_save("h", "b", [_stats_row("a", 1), _stats_row("b", 1)])
    first = {row.task: row.id for row in db.task_stats_get_all("h")}
    # A later row, so that SQLite could not hand out the same ids again.
    db.task_stats_save("other", "b", [_stats_row("a", 1)])
    for runs in range(2, 6):
        db.task_stats_save("h", "b", [_stats_row("a", runs),
                                      _stats_row("b", runs)])
    rows = db.task_stats_get_all("h")
    assert {row.task: row.id for row in rows} == first
    assert {row.runs for row in rows} == {5}
    # A new task is added, a task that is gone is deleted; the rest stay.
    db.task_stats_save("h", "b", [_stats_row("a", 6), _stats_row("c", 1)])
    rows = {row.task: row for row in db.task_stats_get_all("h")}
    assert set(rows) == {"a", "c"}
    assert rows["a"].id == first["a"] and rows["a"].runs == 6
    # Another host's rows are not touched.
    db.task_stats_save("other", "b", [_stats_row("a", 2)])
    assert db.task_stats_get_all("h")[0].id == first["a"]
    db.task_stats_save("h", "b", [])
    assert db.task_stats_get_all("h") == []
    assert len(db.task_stats_get_all("other")) == 1


# Errors explained (hardening item 13) ----------------------------------------

def _dbapi_error(orig, kind=sa.exc.OperationalError):
    return kind("SELECT 1", {}, orig)


@pytest.mark.parametrize("orig, kind, status, text", [
    (Exception({"S": "FATAL", "C": "28P01",
                "M": 'password authentication failed for user "x"'}),
     sa.exc.ProgrammingError, 78, "refused the credentials"),
    (Exception(1045, "Access denied for user 'x'@'localhost'"),
     sa.exc.OperationalError, 78, "refused the credentials"),
    (Exception({"S": "FATAL", "C": "3D000",
                "M": 'database "nova" does not exist'}),
     sa.exc.ProgrammingError, 78, "create it, then run 'novalite-manage db "
     "sync'"),
    (Exception(1049, "Unknown database 'nova'"), sa.exc.OperationalError,
     78, "does not exist"),
    (Exception({"S": "ERROR", "C": "22001",
                "M": "value too long for type character varying(255)"}),
     sa.exc.ProgrammingError, 65, "refused the data"),
    (Exception(1406, "Data too long for column 'host' at row 1"),
     sa.exc.DataError, 65, "refused the data"),
    (ConnectionRefusedError(111, "Connection refused"),
     sa.exc.OperationalError, 69, "cannot use the database"),
])
def test_database_errors_are_explained(orig, kind, status, text):
    from novalite.cmd import common

    got_status, line = common.explain_database_error(_dbapi_error(orig, kind))
    assert got_status == status
    assert text in line
    assert "\n" not in line


def test_a_new_connection_waits_for_the_lock_to_set_wal(tmp_path):
    """A file not yet in WAL mode, locked by another process: the new
    connection's ``PRAGMA journal_mode=WAL`` waits (in short tries) too."""
    path = str(tmp_path / "x.sqlite")
    holder = sqlite3.connect(path, isolation_level=None,
                             check_same_thread=False)
    holder.execute("CREATE TABLE t (id INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = db_api.create_engine("sqlite:///" + path, statement_timeout=5)
    releaser = threading.Timer(0.5, holder.rollback)
    releaser.start()
    try:
        with engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    finally:
        releaser.join()
        holder.close()
        engine.dispose()
    assert mode == "wal"


def test_a_read_then_write_transaction_takes_the_write_lock_first(db):
    """A plain BEGIN reads a snapshot; a writer committing before this
    transaction's first write would fail that write at once
    (SQLITE_BUSY_SNAPSHOT). ``writing`` holds the write lock from BEGIN."""
    other = sqlite3.connect(db.engine.url.database, isolation_level=None,
                            timeout=0)
    try:
        with db_api.writing(db.engine) as connection:
            connection.execute(sa.select(models.periodic_task_stats))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO services (host, binary, "
                              "report_count, disabled, deleted) VALUES "
                              "('x', 'y', 0, 0, 0)")
    finally:
        other.close()


def test_database_errors_carry_no_background_link(tmp_path):
    engine = db_api.create_engine("sqlite:///%s" % (tmp_path / "x.sqlite"))
    try:
        with pytest.raises(sa.exc.OperationalError) as caught:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT * FROM nowhere")
    finally:
        engine.dispose()
    assert "no such table: nowhere" in str(caught.value)
    assert "sqlalche.me" not in str(caught.value)


def test_waiting_too_long_for_another_migration_is_unavailable(
        tmp_path, capsys):
    from novalite.cmd import common

    engine = db_api.create_engine("sqlite:///%s" % (tmp_path / "x.sqlite"))
    with migration._migration_lock(engine):
        @common.explained_errors
        def command():
            migration.db_sync(engine, lock_timeout=0.3)

        assert command() == 69
    engine.dispose()
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1
    assert "another process has been migrating" in line


def test_purge_keeps_what_live_services_published(db):
    db.service_get_or_create("alive", "novalite-compute", "compute")
    for host in ("alive", "gone"):
        db.capabilities_save("compute", host, {"vcpus": 1})
        db.task_stats_save(host, "novalite-compute", [
            {"task": "t", "schedule": "every 1 s", "runs": 1, "failures": 0,
             "timeouts": 0, "last_start": None, "last_duration": None,
             "next_due": None, "last_error": None}])
    assert db.purge_orphans() == (1, 1)
    assert db.capabilities_get("compute", "alive") == {"vcpus": 1}
    assert [row.host for row in db.task_stats_get_all()] == ["alive"]
    assert db.purge_orphans() == (0, 0)


def test_a_database_a_newer_release_synced_is_said_so(db):
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE alembic_version SET version_num = '0099'"))
    for attempt in (migration.check_synced, migration.prepare,
                    migration.db_sync):
        with pytest.raises(exception.DatabaseNewer,
                           match="is at schema 0099, newer than this "
                                 "novalite knows"):
            attempt(db.engine)


class _ServerError(Exception):
    """A driver's error with the server's code, as the drivers give it."""


@pytest.mark.parametrize("code", [(1213, "Deadlock found when trying to get "
                                         "lock; try restarting transaction"),
                                  ({"C": "40P01", "M": "deadlock detected"},)])
def test_a_deadlocks_victim_runs_again_until_it_goes_through(db, code):
    tries, pauses = [], []

    def work(connection):
        tries.append(1)
        if len(tries) < 3:
            raise sa.exc.OperationalError("INSERT", {}, _ServerError(*code))
        connection.execute(sa.insert(models.compute_nodes).values(
            host="node1", vcpus=1, memory_mb=1, local_gb=1, vcpus_used=0,
            memory_mb_used=0, local_gb_used=0))
        return "done"

    assert db_api.in_transaction(db.engine, work,
                                 sleep=pauses.append) == "done"
    assert len(tries) == 3 and len(pauses) == 2
    assert [row.host for row in db.compute_node_get_all()] == ["node1"]


def test_a_deadlock_that_keeps_coming_and_other_errors_are_raised(db):
    tries = []

    def deadlocked(connection):
        tries.append(1)
        raise sa.exc.OperationalError("UPDATE", {}, _ServerError(
            1213, "Deadlock found"))

    with pytest.raises(sa.exc.OperationalError):
        db_api.in_transaction(db.engine, deadlocked, sleep=lambda _: None)
    assert len(tries) == db_api.DEADLOCK_TRIES

    def refused(connection):
        tries.append(1)
        raise sa.exc.OperationalError("UPDATE", {}, _ServerError(
            1205, "Lock wait timeout exceeded"))

    del tries[:]
    with pytest.raises(sa.exc.OperationalError):
        db_api.in_transaction(db.engine, refused, sleep=lambda _: None)
    assert len(tries) == 1
