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

"""The migrations build exactly the schema models.py describes, on SQLite,
PostgreSQL and MySQL; and the head revision novalite reads from the files
is alembic's.

The server databases are test_database's: fresh ones on the local servers,
skipped, with the reason, when a server does not answer.
"""

import signal
import subprocess
import sys

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models
from tests.functional import daemon as daemon_module
from tests.functional import test_database

# A fresh, empty database of each kind, dropped afterwards.
database_url = test_database.database_url


def test_head_read_from_the_files_is_alembics_head():
    assert migration.head() == migration.head_version()
    assert migration.HEAD == migration.head()


def test_head_does_not_import_alembic():
    code = ("import sys\n"
            "from novalite.db import migration\n"
            "print(migration.HEAD)\n"
            "assert 'alembic' not in sys.modules, sorted(\n"
            "    name for name in sys.modules if 'alembic' in name)\n")
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == migration.head_version()


def assert_schema_matches_the_models(url):
    """The database at ``url`` is at the head, with one version row, and
    holds exactly the schema of models.py."""
    engine = sa.create_engine(url)
    try:
        assert migration.db_version(engine) == migration.HEAD
        with engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT COUNT(*) FROM alembic_version")).scalar() == 1
            context = alembic_migration.MigrationContext.configure(
                connection, opts={"compare_type": True,
                                  "compare_server_default": True})
            differences = autogenerate.compare_metadata(
                context, models.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url):
    engine = sa.create_engine(database_url)
    try:
        migration.db_sync(engine)
    finally:
        engine.dispose()
    assert_schema_matches_the_models(database_url)


# A migration killed halfway, and migrations at the same time ---------------

#: The steps of the migrations from nothing to the head: one per table or
#: index (0001: services; 0002: compute_nodes, instances, its index,
#: periodic_task_stats, service_capabilities).
STEPS = 6


def _manage(ini, *args, env=None):
    return subprocess.run(
        daemon_module.command("manage") + ["--config-file", str(ini)]
        + list(args), capture_output=True, text=True, timeout=120,
        env=daemon_module.environment(env))


@pytest.mark.parametrize("step", range(1, STEPS + 1))
@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_db_sync_killed_at_each_step_is_completed_by_the_next(
        tmp_path, state_path, database_url, step):
    """SIGKILL right after step N of ``db sync``: the next ``db sync``
    completes the schema (PostgreSQL rolls the transaction back; MariaDB
    has committed each step, which the next run finds and skips)."""
    ini = test_database.write_ini(tmp_path, state_path, database_url)
    killed = _manage(ini, "db", "sync",
                     env={migration.KILL_AFTER_STEP: str(step)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    synced = _manage(ini, "db", "sync")
    assert synced.returncode == 0, synced.stderr
    assert_schema_matches_the_models(database_url)


@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_first_start_killed_at_each_step_starts_next_time(
        tmp_path, state_path, daemons, step):
    """The daemon migrates its own SQLite file at its first start; killed
    after step N, the next start (and ``db sync``) completes it."""
    ini_text = daemon_module.base_ini(state_path)
    first = daemon_module.Daemon(
        tmp_path, ini_text, env={migration.KILL_AFTER_STEP: str(step)})
    first.start()
    try:
        assert first.wait(60) == -signal.SIGKILL, "\n".join(first.lines)
    finally:
        first.stop()
    second = daemons(tmp_path, ini_text)
    second.wait_for("Running periodic task ProbeManager.fast", timeout=30)
    second.signal(signal.SIGTERM)
    assert second.wait() == 0
    url = db_api.default_connection(state_path)
    synced = _manage(second.ini, "db", "sync")
    assert synced.returncode == 0, synced.stderr
    assert_schema_matches_the_models(url)


def test_two_first_starts_on_one_new_sqlite_file_migrate_once(
        tmp_path, state_path, daemons):
    pause = {migration.PAUSE_AFTER_STEP: "0.3"}
    started = []
    for host in ("first", "second"):
        directory = tmp_path / host
        directory.mkdir()
        started.append(daemons(directory, daemon_module.base_ini(
            state_path, host=host), env=pause))
    for compute in started:
        compute.wait_for("Running periodic task ProbeManager.fast",
                         timeout=60)
    upgrades = [line for compute in started
                for line in compute.matching("Upgrading the database schema")]
    assert len(upgrades) == 1, upgrades
    for compute in started:
        compute.signal(signal.SIGTERM)
        assert compute.wait() == 0
    assert_schema_matches_the_models(db_api.default_connection(state_path))


@pytest.mark.parametrize("database_url", ["postgresql", "mysql"],
                         indirect=True)
def test_db_sync_from_several_processes_at_once(tmp_path, state_path,
                                                database_url):
    ini = test_database.write_ini(tmp_path, state_path, database_url)
    processes = [subprocess.Popen(
        daemon_module.command("manage") + ["--config-file", str(ini), "db",
                                           "sync"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=daemon_module.environment({migration.PAUSE_AFTER_STEP: "0.3"}))
        for _ in range(3)]
    try:
        results = [(process.wait(120), process.stderr.read())
                   for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()
    assert [status for status, _ in results] == [0, 0, 0], results
    assert_schema_matches_the_models(database_url)
