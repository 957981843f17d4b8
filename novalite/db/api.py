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

import json
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


# SQLite errors after which a connection cannot be trusted again: once its
# file was unwritable or failed, a pooled connection keeps failing
# ("disk I/O error") after the file is fine, unless it is replaced.
_SQLITE_BROKEN = ("disk I/O error", "readonly database", "unable to open",
                  "database disk image is malformed")


def _sqlite_failure_is_a_disconnect(context):
    message = str(context.original_exception)
    if any(text in message for text in _SQLITE_BROKEN):
        context.is_disconnect = True


def create_engine(url, max_pool_size=5, pool_timeout=10.0, own_thread=False):
    """An engine for ``url``; SQLite gets its pragmas, servers a pool.

    :param own_thread: an engine for one OS thread of its own (the
        heartbeat), which must share no pool lock with the hub. SQLite opens
        its file on each use (``NullPool``); a server keeps one connection
        (``StaticPool``, pinged before each use): a new connection per beat
        would cost the server a backend start every ``report_interval``
        for every host.
    """
    parsed = check_url(url)
    if parsed.get_backend_name() == "sqlite":
        if own_thread:
            engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
        else:
            engine = sa.create_engine(parsed, connect_args={
                "check_same_thread": False, "timeout": 5})
        sa.event.listen(engine, "connect", _prepare_sqlite)
        sa.event.listen(engine, "handle_error",
                        _sqlite_failure_is_a_disconnect)
        return engine
    if own_thread:
        engine = sa.create_engine(parsed, poolclass=sa.pool.StaticPool,
                                  pool_pre_ping=True)
    else:
        engine = sa.create_engine(parsed, pool_size=max_pool_size,
                                  pool_timeout=pool_timeout,
                                  pool_pre_ping=True, pool_recycle=3600)
    _ping_survives_socket_errors(engine.dialect)
    return engine


def _ping_survives_socket_errors(dialect):
    """Make the pre-ping answer "gone" when the socket itself fails.

    SQLAlchemy's pre-ping replaces a connection whose ping raises the
    driver's own errors; pg8000 can let a bare ConnectionResetError out
    when the server has closed the connection (a restart, a killed
    backend), and that went past the ping to fail the first real use.
    """
    ping = dialect.do_ping

    def do_ping(dbapi_connection):
        try:
            return ping(dbapi_connection)
        except OSError:
            return False

    dialect.do_ping = do_ping


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

    # compute nodes ----------------------------------------------------------

    def compute_node_get(self, host):
        nodes = models.compute_nodes
        return self._first(sa.select(nodes).where(nodes.c.host == host,
                                                  nodes.c.deleted == 0))

    def compute_node_get_all(self):
        nodes = models.compute_nodes
        return self._all(sa.select(nodes).where(nodes.c.deleted == 0)
                         .order_by(nodes.c.host))

    def compute_node_save(self, host, **values):
        """Create or update the one live row of ``host``."""
        nodes = models.compute_nodes
        with self.engine.begin() as connection:
            updated = connection.execute(
                sa.update(nodes)
                .where(nodes.c.host == host, nodes.c.deleted == 0)
                .values(updated_at=models.utcnow(), **values)).rowcount
            if not updated:
                connection.execute(sa.insert(nodes).values(
                    host=host, updated_at=models.utcnow(), **values))

    # instances --------------------------------------------------------------

    def instance_create(self, **values):
        with self.engine.begin() as connection:
            connection.execute(sa.insert(models.instances).values(**values))
        return self.instance_get(values["uuid"], read_deleted="yes")

    def instance_get(self, uuid, read_deleted="no"):
        instances = models.instances
        query = sa.select(instances).where(instances.c.uuid == uuid)
        return self._first(_read_deleted(query, instances, read_deleted))

    def instance_get_all_by_host(self, host, read_deleted="no"):
        instances = models.instances
        query = sa.select(instances).where(instances.c.host == host)
        return self._all(_read_deleted(query, instances, read_deleted)
                         .order_by(instances.c.id))

    def instance_get_all(self, read_deleted="no"):
        instances = models.instances
        return self._all(_read_deleted(sa.select(instances), instances,
                                       read_deleted)
                         .order_by(instances.c.host, instances.c.id))

    def instance_update(self, uuid, expected_vm_state=None, **values):
        """Update one instance; with ``expected_vm_state`` only if it is
        still in that state (a compare-and-swap against racing tasks).

        :returns: the updated row, or None if it was not in that state.
        """
        instances = models.instances
        statement = sa.update(instances).where(instances.c.uuid == uuid)
        if expected_vm_state is not None:
            statement = statement.where(
                instances.c.vm_state == expected_vm_state)
        if not self._write(statement.values(updated_at=models.utcnow(),
                                            **values)):
            if self.instance_get(uuid, read_deleted="yes") is None:
                raise exception.InstanceNotFound(instance_id=uuid)
            return None
        return self.instance_get(uuid, read_deleted="yes")

    def instance_destroy(self, uuid, **values):
        """Soft-delete an instance, with ``values`` set in the same write."""
        instances = models.instances
        now = models.utcnow()
        values.setdefault("terminated_at", now)
        if not self._write(
                sa.update(instances)
                .where(instances.c.uuid == uuid, instances.c.deleted == 0)
                .values(deleted=instances.c.id, deleted_at=now,
                        updated_at=now, **values)):
            raise exception.InstanceNotFound(instance_id=uuid)
        return self.instance_get(uuid, read_deleted="yes")

    # periodic task statistics -----------------------------------------------

    def task_stats_save(self, host, binary, rows):
        """Replace the statistics rows of (host, binary) with ``rows``.

        :param rows: dicts with task, schedule, runs, failures, timeouts,
            last_start, last_duration, next_due, last_error.
        """
        stats = models.periodic_task_stats
        now = models.utcnow()
        with self.engine.begin() as connection:
            connection.execute(sa.delete(stats).where(
                stats.c.host == host, stats.c.binary == binary))
            if rows:
                connection.execute(sa.insert(stats), [
                    dict(row, host=host, binary=binary, updated_at=now)
                    for row in rows])

    def task_stats_get_all(self, host=None):
        stats = models.periodic_task_stats
        query = sa.select(stats)
        if host is not None:
            query = query.where(stats.c.host == host)
        return self._all(query.order_by(stats.c.host, stats.c.binary,
                                        stats.c.id))

    # published capabilities -------------------------------------------------

    def capabilities_save(self, service_name, host, capabilities):
        table = models.service_capabilities
        text = json.dumps(capabilities, sort_keys=True, default=str)
        with self.engine.begin() as connection:
            if not connection.execute(
                    sa.update(table)
                    .where(table.c.service_name == service_name,
                           table.c.host == host)
                    .values(capabilities=text,
                            updated_at=models.utcnow())).rowcount:
                connection.execute(sa.insert(table).values(
                    service_name=service_name, host=host,
                    capabilities=text, updated_at=models.utcnow()))

    def capabilities_get(self, service_name, host):
        table = models.service_capabilities
        row = self._first(sa.select(table.c.capabilities).where(
            table.c.service_name == service_name, table.c.host == host))
        return None if row is None else json.loads(row.capabilities)


def _read_deleted(query, table, read_deleted):
    if read_deleted == "no":
        return query.where(table.c.deleted == 0)
    if read_deleted == "only":
        return query.where(table.c.deleted != 0)
    return query
