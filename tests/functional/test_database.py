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

"""novalite-manage db and the daemon on SQLite, PostgreSQL and MySQL.

The server databases are the local ones; a test that needs one is skipped,
with the reason, when it does not answer.
"""

import contextlib
import errno
import signal
import subprocess
import time
import uuid

import pytest
import sqlalchemy as sa

from novalite.db import migration
from tests.functional import daemon as daemon_module

SERVERS = {
    "postgresql": "postgresql+pg8000://postgres@127.0.0.1:5432/%s",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/%s",
}
ADMIN_DATABASE = {"postgresql": "postgres", "mysql": "mysql"}

#: A server that does not answer: nothing listens, or nothing comes back.
_NO_ANSWER = (errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EHOSTUNREACH,
              errno.ENETUNREACH)


def server_unreachable(exc):
    """Whether ``exc`` comes of a server that does not answer (refused or
    timed out) rather than of anything else, which a test must not hide.
    The drivers wrap the socket's error: pg8000 chains it as the cause,
    PyMySQL raises its own inside the ``except``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionRefusedError, TimeoutError)) or (
                isinstance(exc, OSError) and exc.errno in _NO_ANSWER):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def server_database(kind):
    """A fresh, empty database on the local server of ``kind``
    (``postgresql`` or ``mysql``), dropped afterwards; the test is skipped,
    with the reason, if the server does not answer."""
    admin_url = SERVERS[kind] % ADMIN_DATABASE[kind]
    name = "novalite_test_%s" % uuid.uuid4().hex[:12]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE %s" % name))
    except Exception as exc:
        admin.dispose()
        if not server_unreachable(exc):
            raise
        pytest.skip("%s is not reachable at %s: %s"
                    % (kind, admin_url.split("@")[-1], str(exc)[:120]))
    try:
        yield SERVERS[kind] % name
    finally:
        force = " WITH (FORCE)" if kind == "postgresql" else ""
        with admin.connect() as connection:
            connection.execute(sa.text("DROP DATABASE %s%s" % (name, force)))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind; dropped afterwards."""
    if request.param == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "fresh.sqlite")
        return
    with server_database(request.param) as url:
        yield url


def manage(ini, *args):
    return subprocess.run(
        daemon_module.command("manage") + ["--config-file", str(ini)]
        + list(args), capture_output=True, text=True, timeout=120,
        env=daemon_module.environment())


def write_ini(tmp_path, state_path, url, **overrides):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path, **overrides)
                   + "[database]\nconnection = %s\n" % url)
    return ini


def test_db_version_and_sync(tmp_path, state_path, database_url):
    ini = write_ini(tmp_path, state_path, database_url)
    before = manage(ini, "db", "version")
    assert before.returncode == 1
    assert before.stdout.strip() == "none"
    assert "run 'novalite-manage db sync'" in before.stderr
    synced = manage(ini, "db", "sync")
    assert synced.returncode == 0, synced.stderr
    assert ("Database schema is at version %s" % migration.HEAD
            in synced.stdout)
    after = manage(ini, "db", "version")
    assert (after.returncode, after.stdout.strip()) == (0, migration.HEAD)
    again = manage(ini, "db", "sync")  # idempotent
    assert again.returncode == 0


def test_daemon_heartbeats_into_each_database(tmp_path, state_path,
                                              database_url, daemons):
    ini = write_ini(tmp_path, state_path, database_url)
    assert manage(ini, "db", "sync").returncode == 0
    compute = daemons(tmp_path, ini.read_text())
    compute.wait_for("Running periodic task ProbeManager.fast")
    engine = sa.create_engine(database_url)
    try:
        def count():
            with engine.connect() as connection:
                return connection.execute(sa.text(
                    "SELECT report_count FROM services WHERE host = "
                    "'probe-host' AND deleted = 0")).scalar()
        first = count()
        deadline = time.monotonic() + 10
        while count() < first + 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count() >= first + 3
    finally:
        engine.dispose()
    compute.signal(signal.SIGTERM)
    assert compute.wait() == 0


@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_daemon_refuses_a_server_database_that_is_behind(
        tmp_path, state_path, database_url):
    ini = write_ini(tmp_path, state_path, database_url)
    result = daemon_module.run_once(ini)
    assert result.returncode == 78
    assert "run 'novalite-manage db sync'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_manage_refuses_a_bad_config(tmp_path):
    ini = tmp_path / "bad.conf"
    ini.write_text("[database]\nconnection = nowhere\n")
    result = manage(ini, "db", "version")
    assert result.returncode == 78
    assert "[database] connection" in result.stderr


def test_manage_needs_a_category():
    result = subprocess.run(daemon_module.command("manage"),
                            capture_output=True, text=True, timeout=60,
                            env=daemon_module.environment())
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_heartbeat_engine_keeps_one_server_connection(database_url):
    """A new connection per beat costs a server a backend start every
    report_interval per host; the heartbeat's engine keeps one, and the
    first beat after the server dropped it gets a new one."""
    from novalite.db import api as db_api

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite opens its file per use; nothing to keep")
    engine = db_api.create_engine(database_url, own_thread=True)
    backend_id = sa.text("SELECT pg_backend_pid()"
                         if database_url.startswith("postgresql")
                         else "SELECT CONNECTION_ID()")
    try:
        with engine.connect() as connection:
            first = connection.execute(backend_id).scalar()
        with engine.connect() as connection:
            assert connection.execute(backend_id).scalar() == first
        kill = ("SELECT pg_terminate_backend(%d)" if database_url.startswith(
            "postgresql") else "KILL %d") % first
        admin = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
        with admin.connect() as connection:
            connection.execute(sa.text(kill))
        admin.dispose()
        with engine.connect() as connection:
            assert connection.execute(backend_id).scalar() != first
    finally:
        engine.dispose()



def test_a_hosts_usage_reads_as_integers_on_each_database(database_url):
    """What the instances given to a host take is summed in SQL; MySQL's
    SUM is a DECIMAL, which a scheduler's float arithmetic refuses, so the
    read gives integers on every database."""
    import uuid as uuid_lib

    from novalite.db import api as db_api

    engine = db_api.create_engine(database_url)
    try:
        migration.db_sync(engine)
        db = db_api.Database(engine)
        db.compute_node_save("node1", vcpus=4, vcpus_used=0, memory_mb=4096,
                             memory_mb_used=0, local_gb=100, local_gb_used=0)
        for _ in range(2):
            db.instance_create(uuid=str(uuid_lib.uuid4()), host="node1",
                               vcpus=1, memory_mb=512, root_gb=1)
        [row] = db.compute_hosts_for_scheduling("novalite-compute")
        given = (row.memory_mb_given, row.vcpus_given, row.root_gb_given)
        assert given == (1024, 2, 2)
        assert all(type(value) is int for value in given), given
    finally:
        engine.dispose()


def test_many_hosts_adding_their_first_rows_at_once(database_url):
    """A fleet started together: every host inserts its service, compute
    node, capabilities and task statistics at the same moment. On InnoDB
    that deadlocked (an UPDATE that finds no row locks the gap, and the
    INSERTs that follow wait on each other's gaps), and a compute exited
    69 at start-up; now none fails on any database."""
    import threading

    from novalite.db import api as db_api

    hosts = 24
    engine = db_api.create_engine(database_url, max_pool_size=hosts)
    try:
        migration.db_sync(engine)
        db = db_api.Database(engine)
        failures = []
        for round_ in range(3):
            start = threading.Barrier(hosts)

            def first_rows(host, start=start):
                try:
                    start.wait(timeout=30)
                    db.service_get_or_create(host, "novalite-compute",
                                             "compute")
                    db.compute_node_save(
                        host, vcpus=4, vcpus_used=0, memory_mb=4096,
                        memory_mb_used=0, local_gb=100, local_gb_used=0)
                    db.capabilities_save("compute", host, {"host": host})
                    db.task_stats_save(host, "novalite-compute", [{
                        "task": "audit", "schedule": "every 60 s",
                        "runs": 1, "failures": 0, "timeouts": 0,
                        "last_start": None, "last_duration": 0.1,
                        "next_due": None, "last_error": None}])
                except Exception as exc:  # the test reports them all
                    failures.append("%s: %s" % (host, exc))

            threads = [threading.Thread(target=first_rows,
                                        args=("r%d-node%02d" % (round_, n),))
                       for n in range(hosts)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        assert failures == []
        assert len(db.compute_node_get_all()) == 3 * hosts
        assert len(db.capabilities_get_all("compute")) == 3 * hosts
    finally:
        engine.dispose()
