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
import functools
import os

import sqlalchemy as sa

from novalite import exception

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
def head():
    """The newest migration under migrations/versions: the revision no
    other revises. Read from the files, not through alembic, so that a
    start-up on a current database does not import alembic at all (a
    test keeps it equal to :func:`head_version`)."""
    revisions, revised = set(), set()
    for name in sorted(os.listdir(_VERSIONS)):
        # The files alembic itself loads: no __init__, no editor locks.
        if not name.endswith(".py") or name.startswith(("__init__", ".#")):
            continue
        revision, down = _revision_ids(os.path.join(_VERSIONS, name))
        revisions.add(revision)
        revised.update(down)
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
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(
            sa.text("SELECT version_num FROM alembic_version")).scalar()


def db_sync(engine, version="head"):
    """Upgrade the schema to ``version``; creates an SQLite file's
    directory first."""
    _ensure_sqlite_directory(engine)
    from alembic import command
    from alembic import util as alembic_util

    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), version)
    except alembic_util.CommandError as exc:
        raise exception.DatabaseError(
            reason="cannot upgrade %s to schema %s: %s" % (
                engine.url.render_as_string(hide_password=True), version,
                exc))


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


def check_synced(engine):
    """Raise DatabaseNotSynced unless the schema is at the head."""
    current = db_version(engine)
    if current != head():
        raise exception.DatabaseNotSynced(
            url=engine.url.render_as_string(hide_password=True),
            current=current or "none (never synced)", head=head())


def prepare(engine):
    """Make the database ready for the service at start-up.

    The embedded SQLite default is created and migrated on the spot; a
    server database must have been synced by the operator, who decides
    when its schema changes.
    """
    _ensure_sqlite_directory(engine)
    if engine.url.get_backend_name() == "sqlite" and db_version(
            engine) != head():
        db_sync(engine)
    check_synced(engine)

