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
"""The database: one engine per process and the queries novalite makes.

Every public method opens its own short transaction, so a caller never
holds a connection across a sleep, and a failure leaves nothing half
written. Rows come back as SQLAlchemy Rows: ``row.host``, ``row.id``.
"""

import os

import sqlalchemy as sa

from novalite import exception
from novalite.db import models

SQLITE_FILE = "novalite.sqlite"


def default_connection(state_path):
    """The embedded default: an SQLite file under ``state_path``."""
    path = os.path.abspath(os.path.expanduser(state_path))
    return "sqlite:///" + os.path.join(path, SQLITE_FILE)


def connection_url(conf):
    return conf.database.connection or default_connection(conf.state_path)


def is_sqlite(url):
    return sa.engine.make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets novalite-manage read while the daemon writes; busy_timeout
    # makes a writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def check_url(url):
    """Parse ``url`` and find its driver; raise DatabaseError if either
    fails, before anything tries to connect."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise exception.DatabaseError(
            reason="not a database URL (%s)" % exc)
    try:
        parsed.get_dialect()
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise exception.DatabaseError(
            reason="no driver for %s: %s" % (parsed.drivername, exc))
    return parsed


def create_engine(url, max_pool_size=5, pool_timeout=10.0):
    """An engine for ``url``; SQLite gets its pragmas, servers a pool."""
    parsed = check_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 5})
        sa.event.listen(engine, "connect", _prepare_sqlite)
        return engine
    return sa.create_engine(parsed, pool_size=max_pool_size,
                            pool_timeout=pool_timeout, pool_pre_ping=True,
                            pool_recycle=3600)


class Database:
    """The queries of novalite, on one engine."""

    def __init__(self, engine):
        self.engine = engine

    @classmethod
    def from_conf(cls, conf):
        return cls(create_engine(connection_url(conf),
                                 conf.database.max_pool_size,
                                 conf.database.pool_timeout))

    def dispose(self):
        self.engine.dispose()

    def _first(self, statement):
        with self.engine.connect() as connection:
            return connection.execute(statement).first()

    def _all(self, statement):
        with self.engine.connect() as connection:
            return list(connection.execute(statement))

    def _write(self, statement):
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount

    # services ---------------------------------------------------------------

    def service_get_by_host_and_binary(self, host, binary):
        services = models.services
        return self._first(sa.select(services).where(
            services.c.host == host, services.c.binary == binary,
            services.c.deleted == 0))

    def service_get(self, service_id):
        services = models.services
        return self._first(sa.select(services).where(
            services.c.id == service_id, services.c.deleted == 0))

    def service_get_all(self):
        services = models.services
        return self._all(sa.select(services).where(services.c.deleted == 0)
                         .order_by(services.c.host, services.c.binary))

    def service_get_or_create(self, host, binary, topic):
        """The live row of (host, binary), made if there is none.

        Two processes racing to create it end with one row: the loser's
        insert hits the unique constraint and it reads the winner's row.
        """
        existing = self.service_get_by_host_and_binary(host, binary)
        if existing is not None:
            return existing
        try:
            self._write(sa.insert(models.services).values(
                host=host, binary=binary, topic=topic, report_count=0,
                disabled=False))
        except sa.exc.IntegrityError:
            pass
        return self.service_get_by_host_and_binary(host, binary)

    def service_heartbeat(self, service_id):
        """Add one to ``report_count``; False if the row is gone."""
        services = models.services
        return self._write(
            sa.update(services)
            .where(services.c.id == service_id, services.c.deleted == 0)
            .values(report_count=services.c.report_count + 1,
                    updated_at=models.utcnow())) == 1

    def service_update(self, service_id, **values):
        services = models.services
        updated = self._write(
            sa.update(services)
            .where(services.c.id == service_id, services.c.deleted == 0)
            .values(updated_at=models.utcnow(), **values))
        if updated != 1:
            raise exception.ServiceNotFound(service_id=service_id)

    def service_destroy(self, service_id):
        """Soft-delete the row, as nova does."""
        services = models.services
        self._write(
            sa.update(services)
            .where(services.c.id == service_id, services.c.deleted == 0)
            .values(deleted=services.c.id, deleted_at=models.utcnow()))
