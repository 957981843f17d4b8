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

import pytest
import sqlalchemy as sa

from novalite.db import api as db_api
from novalite.db import migration
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
