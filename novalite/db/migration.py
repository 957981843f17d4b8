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

"""Schema versions through alembic: sync, version, and the start-up check."""

import ast
import contextlib
import fcntl
import functools
import logging
import os
import signal
import time

import sqlalchemy as sa

from novalite.db import api as db_api
from novalite import exception

LOG = logging.getLogger(__name__)

#: Test hooks, read from the environment of the process that migrates:
#: SIGKILL itself right after step N (1 = the first table) of the
#: migrations it runs; sleep this many seconds after every step.
KILL_AFTER_STEP = "NOVALITE_TEST_MIGRATION_KILL_AFTER_STEP"
PAUSE_AFTER_STEP = "NOVALITE_TEST_MIGRATION_PAUSE_AFTER_STEP"

#: The advisory lock that lets one ``db sync`` migrate a server database
#: at a time: a PostgreSQL key ("novalite" in ASCII) and a MariaDB/MySQL
#: lock name prefix (the database's name follows).
_PG_LOCK_KEY = 0x6E6F76616C697465
_MYSQL_LOCK_PREFIX = "novalite-db-sync:"

_MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
_VERSIONS = os.path.join(_MIGRATIONS, "versions")


def _revision_ids(path):
    """``(revision, down_revisions)`` assigned at the top of one migration
    file, read as literals without running the file."""
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), path)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in (
                    "revision", "down_revision"):
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    raise RuntimeError("%s: %s is not a literal" % (
                        path, target.id))
    if not isinstance(found.get("revision"), str):
        raise RuntimeError("%s sets no revision" % path)
    down = found.get("down_revision")
    if down is None:
        down = ()
    elif isinstance(down, str):
        down = (down,)
    return found["revision"], tuple(down)


@functools.cache
def known_revisions():
    """Every migration this novalite has: revision -> the ones it
    revises. Read from the files, not through alembic, so that a start-up
    on a current database does not import alembic at all."""
    known = {}
    for name in sorted(os.listdir(_VERSIONS)):
        # The files alembic itself loads: no __init__, no editor locks.
        if not name.endswith(".py") or name.startswith(("__init__", ".#")):
            continue
        revision, down = _revision_ids(os.path.join(_VERSIONS, name))
        known[revision] = down
    return known


@functools.cache
def head():
    """The newest migration under migrations/versions: the revision no
    other revises (a test keeps it equal to :func:`head_version`)."""
    revisions = set(known_revisions())
    revised = {down for downs in known_revisions().values()
               for down in downs}
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError("the migrations in %s have %d heads: %s" % (
            _VERSIONS, len(heads), ", ".join(sorted(heads)) or "none"))
    return heads.pop()


def __getattr__(name):
    # ``migration.HEAD`` for callers, computed on first use.
    if name == "HEAD":
        return head()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _alembic_config(connection=None):
    from alembic import config as alembic_config

    config = alembic_config.Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def head_version():
    """The newest schema this novalite knows, as alembic reads it."""
    from alembic import script

    return script.ScriptDirectory.from_config(
        _alembic_config()).get_current_head()


def db_version(engine):
    """The schema version of the database; None if it was never synced."""
    with engine.connect() as connection:
        return _version_of(connection)


class MigrationLockTimeout(exception.NovaliteException):
    msg_fmt = ("another process has been migrating %(url)s for more than "
               "%(seconds)g s (a db sync, or a first start on SQLite); try "
               "again once it is done")


def db_sync(engine, version="head", lock_timeout=None):
    """Upgrade the schema to ``version``; creates an SQLite file's
    directory first.

    One process migrates at a time: the others wait for it (at most
    ``lock_timeout`` seconds, ``[database] statement_timeout`` by default)
    and then find the work done. Each migration either completes or leaves
    a state the next ``db sync`` completes: on PostgreSQL and SQLite it
    runs in one transaction; on MariaDB/MySQL, whose DDL commits at once,
    each step checks whether its table or index is there already.
    """
    _ensure_sqlite_directory(engine)
    from alembic import command
    from alembic import util as alembic_util

    with _migration_lock(engine, lock_timeout):
        try:
            with db_api.writing(engine) as connection:
                current = _version_of(connection)
                if current is not None and current not in known_revisions():
                    raise exception.DatabaseNewer(
                        url=_shown(engine), current=current, head=head())
                target = head() if version == "head" else version
                if current != target:
                    LOG.info("Upgrading the database schema of %s from %s "
                             "to %s", _shown(engine),
                             current or "none", target)
                command.upgrade(_alembic_config(connection), version)
        except alembic_util.CommandError as exc:
            raise exception.DatabaseError(
                reason="cannot upgrade %s to schema %s: %s" % (
                    _shown(engine), version, exc))


def _shown(engine):
    return engine.url.render_as_string(hide_password=True)


def _version_of(connection):
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(
        sa.text("SELECT version_num FROM alembic_version")).scalar()


def _lock_timeout(lock_timeout):
    if lock_timeout is not None:
        return lock_timeout
    return db_api.configured_timeouts()[1]


def _wait_for(try_once, timeout, engine):
    """Call ``try_once`` until it is True, sleeping between tries (a green
    sleep under eventlet, so a stop signal is served meanwhile)."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while not try_once():
        if time.monotonic() >= deadline:
            raise MigrationLockTimeout(url=_shown(engine), seconds=timeout)
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


@contextlib.contextmanager
def _migration_lock(engine, lock_timeout=None):
    """Hold this database's migration lock: a lock on a file beside an
    SQLite database, an advisory lock on a server (released by the server
    if the process dies)."""
    timeout = _lock_timeout(lock_timeout)
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        path = engine.url.database
        if path in (None, "", ":memory:"):
            yield
            return
        lock_path = os.path.abspath(path) + ".lock"
        try:
            lock_file = open(lock_path, "a")
        except OSError as exc:
            raise exception.DatabaseError(
                reason="cannot open %s, the lock of migrations beside the "
                "SQLite database (check state_path): %s"
                % (lock_path, exc.strerror))
        with lock_file:
            def try_once():
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            _wait_for(try_once, timeout, engine)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    if backend == "postgresql":
        acquire = sa.text("SELECT pg_try_advisory_lock(%d)" % _PG_LOCK_KEY)
        release = sa.text("SELECT pg_advisory_unlock(%d)" % _PG_LOCK_KEY)
    elif backend in ("mysql", "mariadb"):
        name = "LEFT(CONCAT('%s', DATABASE()), 64)" % _MYSQL_LOCK_PREFIX
        acquire = sa.text("SELECT GET_LOCK(%s, 0)" % name)
        release = sa.text("SELECT RELEASE_LOCK(%s)" % name)
    else:
        yield
        return
    with engine.connect() as holder:
        def try_once():
            got = holder.execute(acquire).scalar()
            holder.commit()
            return bool(got)

        _wait_for(try_once, timeout, engine)
        try:
            yield
        finally:
            holder.execute(release)
            holder.commit()


# Steps of the migrations --------------------------------------------------

_steps_done = 0


def _step_done(what):
    """One step of a migration is done: the test hooks act here."""
    global _steps_done
    _steps_done += 1
    LOG.debug("Migration step %d done: %s", _steps_done, what)
    pause = os.environ.get(PAUSE_AFTER_STEP)
    if pause:
        time.sleep(float(pause))
    kill_after = os.environ.get(KILL_AFTER_STEP)
    if kill_after and int(kill_after) == _steps_done:
        os.kill(os.getpid(), signal.SIGKILL)


def create_table(name, *columns, **kwargs):
    """``op.create_table``, skipped if the table is there already (a
    migration killed on MariaDB/MySQL after this step committed)."""
    from alembic import op

    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *columns, **kwargs)
    _step_done("table %s" % name)


def create_index(name, table, columns, **kwargs):
    """``op.create_index``, skipped if the index is there already."""
    from alembic import op

    existing = {index["name"] for index in
                sa.inspect(op.get_bind()).get_indexes(table)}
    if name not in existing:
        op.create_index(name, table, columns, **kwargs)
    _step_done("index %s" % name)


def add_column(table, column):
    """``op.add_column``, skipped if the column is there already."""
    from alembic import op

    existing = {info["name"] for info in
                sa.inspect(op.get_bind()).get_columns(table)}
    if column.name not in existing:
        op.add_column(table, column)
    _step_done("column %s.%s" % (table, column.name))


def insert_missing(table, key, rows):
    """Insert the ``rows`` (dicts) whose ``key`` value the table lacks:
    seed data that a migration killed after committing part of it (on
    MariaDB/MySQL) does not insert twice."""
    from alembic import op

    bind = op.get_bind()
    target = sa.Table(table, sa.MetaData(), autoload_with=bind)
    present = {row[0] for row in bind.execute(sa.select(target.c[key]))}
    missing = [row for row in rows if row[key] not in present]
    for row in missing:
        bind.execute(sa.insert(target).values(**row))
    _step_done("%d rows of %s" % (len(missing), table))


def _ensure_sqlite_directory(engine):
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (
            None, "", ":memory:"):
        return
    directory = os.path.dirname(os.path.abspath(url.database))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise exception.DatabaseError(
            reason="cannot create %s for the SQLite database (check "
            "state_path): %s" % (directory, exc.strerror))


def check_synced(engine, current=None):
    """Raise DatabaseNotSynced unless the schema is at the head;
    DatabaseNewer if a newer novalite has synced it."""
    current = current or db_version(engine)
    if current is not None and current not in known_revisions():
        raise exception.DatabaseNewer(
            url=engine.url.render_as_string(hide_password=True),
            current=current, head=head())
    if current != head():
        raise exception.DatabaseNotSynced(
            url=engine.url.render_as_string(hide_password=True),
            current=current or "none (never synced)", head=head())


def prepare(engine):
    """Make the database ready for the service at start-up.

    The embedded SQLite default is created and migrated on the spot (by
    one process: two first starts on one new file migrate it once); a
    server database must have been synced by the operator, who decides
    when its schema changes.
    """
    _ensure_sqlite_directory(engine)
    current = db_version(engine)
    if (engine.url.get_backend_name() == "sqlite" and current != head()
            and (current is None or current in known_revisions())):
        db_sync(engine)
        current = None
    check_synced(engine, current)

