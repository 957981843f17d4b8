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

import os

import sqlalchemy as sa

from novalite import exception

_MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")

#: The newest migration under migrations/versions (a test keeps it so).
#: Knowing it without alembic lets a start-up on a current database skip
#: importing alembic at all.
HEAD = "0002"


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
    head = HEAD
    if current != head:
        raise exception.DatabaseNotSynced(
            url=engine.url.render_as_string(hide_password=True),
            current=current or "none (never synced)", head=head)


def prepare(engine):
    """Make the database ready for the service at start-up.

    The embedded SQLite default is created and migrated on the spot; a
    server database must have been synced by the operator, who decides
    when its schema changes.
    """
    _ensure_sqlite_directory(engine)
    if engine.url.get_backend_name() == "sqlite" and db_version(
            engine) != HEAD:
        db_sync(engine)
    check_synced(engine)

