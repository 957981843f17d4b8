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

import contextlib
import functools
import json
import logging
import os
import random
import sqlite3
import time

import sqlalchemy as sa

from novalite import conf as novalite_conf
from novalite import exception
from novalite.db import models

LOG = logging.getLogger(__name__)

SQLITE_FILE = "novalite.sqlite"


def default_connection(state_path):
    """The embedded default: an SQLite file under ``state_path``."""
    path = os.path.abspath(os.path.expanduser(state_path))
    return "sqlite:///" + os.path.join(path, SQLITE_FILE)


def connection_url(conf):
    return conf.database.connection or default_connection(conf.state_path)


def is_sqlite(url):
    return sa.engine.make_url(url).get_backend_name() == "sqlite"


#: Milliseconds SQLite itself waits for a lock (a blocking C call: on the
#: event loop nothing else runs meanwhile) before it hands the wait back to
#: ``_retry_while_locked``, which sleeps between tries so that the other
#: greenthreads run.
SQLITE_NATIVE_BUSY_MS = 10

#: Seconds an engine of an OS thread of its own (the heartbeat's) waits for
#: an SQLite lock: the service's stop waits for that thread.
OWN_THREAD_LOCK_WAIT = 1.0


def _prepare_sqlite(busy_ms, lock_timeout=0.0):
    def prepare(dbapi_connection, _record):
        # The driver opens no transaction of its own: SQLAlchemy emits BEGIN
        # (_begin_sqlite), so DDL is transactional too (a migration killed
        # halfway leaves nothing behind), as SQLAlchemy documents for
        # pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout=%d" % busy_ms)
            # WAL lets novalite-manage read while the daemon writes. Setting
            # it needs the file unlocked if it is not in WAL mode yet.
            call_while_locked(cursor.execute, ("PRAGMA journal_mode=WAL",),
                              lock_timeout)
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()
    return prepare


#: Execution option of a connection whose transactions read before they
#: write: on SQLite they begin with ``BEGIN IMMEDIATE`` (see writing()).
SQLITE_BEGIN = "novalite_sqlite_begin"


def _begin_sqlite(connection):
    connection.exec_driver_sql(
        connection.get_execution_options().get(SQLITE_BEGIN, "BEGIN"))


@contextlib.contextmanager
def writing(engine):
    """A transaction that reads, then writes what it read.

    On SQLite it takes the write lock at BEGIN (``BEGIN IMMEDIATE``): a
    plain BEGIN reads a snapshot, and if another connection writes before
    this one does, its first write fails at once with SQLITE_BUSY_SNAPSHOT,
    which no wait cures. Servers begin as usual.
    """
    with engine.connect() as connection:
        connection.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        with connection.begin():
            yield connection


#: Tries of a transaction the server rolled back as a deadlock's victim.
DEADLOCK_TRIES = 5

#: A deadlock's victim, by the server's code: PostgreSQL's SQLSTATE (pg8000
#: puts it under "C"), MySQL's error number (PyMySQL's first argument).
_DEADLOCK_CODES = {"40P01", 1213}


def is_deadlock(exc):
    """Whether ``exc`` is the server rolling a transaction back to end a
    deadlock: nothing of it was written, and running it again is the
    cure."""
    args = getattr(getattr(exc, "orig", None), "args", ())
    if args and isinstance(args[0], dict):
        return args[0].get("C") in _DEADLOCK_CODES
    return bool(args) and args[0] in _DEADLOCK_CODES


def in_transaction(engine, work, reads_first=False, sleep=time.sleep):
    """``work(connection)`` in one transaction, run again (up to
    DEADLOCK_TRIES) when the server picks it as a deadlock's victim, as
    oslo.db's ``wrap_db_retry(retry_on_deadlock=True)`` does for nova: many
    hosts starting at once on InnoDB, each inserting its rows, is enough.

    :param reads_first: the transaction reads, then writes what it read
        (see writing()).
    """
    for attempt in range(1, DEADLOCK_TRIES + 1):
        try:
            with (writing(engine) if reads_first
                  else engine.begin()) as connection:
                return work(connection)
        except sa.exc.DBAPIError as exc:
            if attempt == DEADLOCK_TRIES or not is_deadlock(exc):
                raise
            sleep(random.uniform(0.0, 0.02 * attempt))
    return None


def _sqlite_locked(exc):
    """Whether ``exc`` is SQLite's SQLITE_BUSY that a later try of the same
    statement can get past: not BUSY_SNAPSHOT (517), which no wait cures
    (the transaction read a snapshot a writer has since replaced)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "database is locked" in str(exc)
    return code & 0xFF == 5 and code != 517


def call_while_locked(method, args, timeout, sleep=None,
                      clock=time.monotonic):
    """``method(*args)``, tried again while SQLite says the database is
    locked, for at most ``timeout`` seconds, sleeping between tries.

    A statement that finds the database locked (SQLITE_BUSY) did nothing,
    so it may run again. ``sleep`` is ``time.sleep`` as it is when called:
    eventlet's under monkey patching, so the other greenthreads (the
    heartbeat's beacon, the signal handler) run during the wait, and a
    stop signal during start-up is raised right there.
    """
    deadline = None
    pause = 0.002
    while True:
        try:
            return method(*args)
        except sqlite3.OperationalError as exc:
            if not _sqlite_locked(exc):
                raise
            now = clock()
            if deadline is None:
                deadline = now + timeout
            if now >= deadline:
                raise
            (sleep or time.sleep)(min(pause, deadline - now))
            pause = min(pause * 2, 0.05)


def _retry_while_locked(dialect, timeout, sleep=None, clock=time.monotonic):
    """Make ``dialect`` wait for an SQLite lock in short tries
    (:func:`call_while_locked`), up to ``timeout`` seconds."""
    def retrying(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            return call_while_locked(functools.partial(method, **kwargs),
                                     args, timeout, sleep, clock)
        return call

    for name in ("do_execute", "do_execute_no_params", "do_executemany",
                 "do_commit"):
        setattr(dialect, name, retrying(getattr(dialect, name)))


def _existing_file_only(url):
    """``url`` opened read-write but never created: a beat that finds the
    database file gone must not make an empty one (which would pick up the
    lost file's journal); the service reopens it (``FileGuard``)."""
    if url.database in (None, "", ":memory:"):
        return url
    return url.set(database="file:%s" % os.path.abspath(url.database),
                   query={"mode": "rw", "uri": "true"})


def configured_timeouts():
    """``(connect_timeout, statement_timeout)`` of ``[database]``."""
    group = novalite_conf.CONF.database
    return group.connect_timeout, group.statement_timeout


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


def create_engine(url, max_pool_size=5, pool_timeout=10.0, own_thread=False,
                  connect_timeout=None, statement_timeout=None):
    """An engine for ``url``; SQLite gets its pragmas, servers a pool.

    :param own_thread: an engine for one OS thread of its own (the
        heartbeat), which must share no pool lock with the hub. SQLite opens
        its file on each use (``NullPool``); a server keeps one connection
        (``StaticPool``, pinged before each use): a new connection per beat
        would cost the server a backend start every ``report_interval``
        for every host.
    :param connect_timeout: seconds a server may take to accept a
        connection and answer its handshake.
    :param statement_timeout: seconds a server may take to answer a
        statement; on SQLite, the longest wait for a lock. Both default to
        ``[database]`` of the global configuration, so that every engine,
        the commands' included, is bounded.
    """
    parsed = check_url(url)
    configured = configured_timeouts()
    if connect_timeout is None:
        connect_timeout = configured[0]
    if statement_timeout is None:
        statement_timeout = configured[1]
    if parsed.get_backend_name() == "sqlite":
        if own_thread:
            # An OS thread of its own: SQLite's own wait blocks nobody else,
            # but a stop waits for the thread, so a beat waits for a lock
            # at most OWN_THREAD_LOCK_WAIT; the next beat tries again.
            wait = min(statement_timeout, OWN_THREAD_LOCK_WAIT)
            busy_ms = int(wait * 1000)
            engine = sa.create_engine(_existing_file_only(parsed),
                                      poolclass=sa.pool.NullPool,
                                      connect_args={"timeout": wait})
        else:
            busy_ms = SQLITE_NATIVE_BUSY_MS
            engine = sa.create_engine(parsed, connect_args={
                "check_same_thread": False, "timeout": busy_ms / 1000.0})
            _retry_while_locked(engine.dialect, statement_timeout)
        sa.event.listen(engine, "connect", _prepare_sqlite(
            busy_ms, 0.0 if own_thread else statement_timeout))
        sa.event.listen(engine, "begin", _begin_sqlite)
        sa.event.listen(engine, "handle_error",
                        _sqlite_failure_is_a_disconnect)
        sa.event.listen(engine, "handle_error", _no_background_link)
        return engine
    driver_args, bound = _server_timeouts(parsed, connect_timeout,
                                          statement_timeout)
    options = {"pool_pre_ping": True, "connect_args": driver_args}
    if parsed.get_backend_name() == "mysql":
        # PostgreSQL's default: InnoDB's REPEATABLE READ locks the gap an
        # UPDATE finds empty, and two hosts adding their first rows at
        # once (update, then insert) deadlock on it.
        options["isolation_level"] = "READ COMMITTED"
    if own_thread:
        engine = sa.create_engine(parsed, poolclass=sa.pool.StaticPool,
                                  **options)
    else:
        engine = sa.create_engine(parsed, pool_size=max_pool_size,
                                  pool_timeout=pool_timeout,
                                  pool_recycle=3600, **options)
    if bound is not None:
        sa.event.listen(engine, "connect", bound)
    if engine.dialect.driver == "pg8000":
        _socket_errors_are_driver_errors(engine.dialect)
    _ping_survives_socket_errors(engine.dialect)
    _closing_a_dead_connection_is_quiet(engine.dialect)
    sa.event.listen(engine, "handle_error", _no_background_link)
    return engine


def _no_background_link(context):
    """Leave SQLAlchemy's "(Background on this error at: <url>)" out of
    its errors' text: on a line of its own, it made every logged database
    error one line longer (a connection refused: two lines instead of
    one), for a link to a generic page."""
    if context.sqlalchemy_exception is not None:
        context.sqlalchemy_exception.code = None


def _closing_a_dead_connection_is_quiet(dialect):
    """Close a connection whose server is gone without a traceback.

    The pool closes every connection it drops; the driver's close() first
    tells the server goodbye, which fails when the server went away (a
    dropped database, a restart), and SQLAlchemy's pool logged that as an
    ERROR with a traceback, once per pooled connection and per outage,
    next to the heartbeat's one line. The drivers close their socket
    whether the goodbye went through or not, so there is nothing to
    report.
    """
    dbapi = dialect.loaded_dbapi

    def quiet(method):
        @functools.wraps(method)
        def close(dbapi_connection):
            try:
                method(dbapi_connection)
            except (dbapi.Error, OSError) as exc:
                LOG.debug("Closed a connection whose server was gone: %s",
                          exc)
        return close

    dialect.do_close = quiet(dialect.do_close)
    dialect.do_terminate = quiet(dialect.do_terminate)


def _socket_errors_are_driver_errors(dialect):
    """Make pg8000 raise its InterfaceError("network error") for every
    failure of its socket.

    pg8000 lets the first read of each message raise the socket's own
    error (a TimeoutError when the server does not answer within the
    timeout, a ConnectionResetError): SQLAlchemy then neither wraps it nor
    drops the connection, whose protocol state is lost, and the commands
    printed a traceback instead of one line.
    """
    def wrapped(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except OSError as exc:
                raise dialect.loaded_dbapi.InterfaceError(
                    "network error") from exc
        return call

    for name in ("connect", "do_execute", "do_execute_no_params",
                 "do_executemany", "do_commit", "do_rollback"):
        setattr(dialect, name, wrapped(getattr(dialect, name)))


def _server_timeouts(parsed, connect_timeout, statement_timeout):
    """The driver's connect arguments that bound the connection and its
    handshake by ``connect_timeout``, and a ``connect`` listener that then
    bounds every later wait for the server by ``statement_timeout``."""
    driver = parsed.get_dialect().driver
    if driver == "pg8000":
        # One socket timeout, for the connection and every read after.
        def bound(dbapi_connection, _record):
            sock = getattr(dbapi_connection, "_usock", None)
            if sock is not None:
                sock.settimeout(statement_timeout)
        return {"timeout": connect_timeout}, bound
    if driver == "pymysql":
        # connect_timeout covers the TCP connect only: the server's greeting
        # and the authentication are reads.
        def bound(dbapi_connection, _record):
            dbapi_connection._read_timeout = statement_timeout
            dbapi_connection._write_timeout = statement_timeout
        return {"connect_timeout": connect_timeout,
                "read_timeout": connect_timeout,
                "write_timeout": connect_timeout}, bound
    return {}, None


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
                                 conf.database.pool_timeout,
                                 connect_timeout=conf.database.connect_timeout,
                                 statement_timeout=(
                                     conf.database.statement_timeout)))

    def dispose(self):
        self.engine.dispose()

    def _first(self, statement):
        with self.engine.connect() as connection:
            return connection.execute(statement).first()

    def _all(self, statement):
        with self.engine.connect() as connection:
            return list(connection.execute(statement))

    def _write(self, statement):
        return in_transaction(self.engine, lambda connection: connection
                              .execute(statement).rowcount)

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

    def service_get_or_create(self, host, binary, topic, rpc_version=None):
        """The live row of (host, binary), made if there is none, with
        the topic and RPC API version this start of the service has.

        Two processes racing to create it end with one row: the loser's
        insert hits the unique constraint and it reads the winner's row.
        """
        existing = self.service_get_by_host_and_binary(host, binary)
        if existing is None:
            try:
                self._write(sa.insert(models.services).values(
                    host=host, binary=binary, topic=topic, report_count=0,
                    disabled=False, rpc_version=rpc_version))
            except sa.exc.IntegrityError:
                pass
            existing = self.service_get_by_host_and_binary(host, binary)
        if (existing.topic, existing.rpc_version) != (topic, rpc_version):
            self.service_update(existing.id, topic=topic,
                                rpc_version=rpc_version)
            existing = self.service_get(existing.id)
        return existing

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

    def service_delete_everywhere(self, service):
        """Remove a service that is gone for good, in one transaction: its
        row (soft-deleted), its host's compute node if it is a compute,
        and what it published (capabilities, task statistics)."""
        services, nodes = models.services, models.compute_nodes
        capabilities = models.service_capabilities
        stats = models.periodic_task_stats
        now = models.utcnow()

        def delete(connection):
            connection.execute(
                sa.update(services)
                .where(services.c.id == service.id, services.c.deleted == 0)
                .values(deleted=services.c.id, deleted_at=now))
            if service.binary == "novalite-compute":
                connection.execute(
                    sa.update(nodes)
                    .where(nodes.c.host == service.host,
                           nodes.c.deleted == 0)
                    .values(deleted=nodes.c.id, deleted_at=now))
            connection.execute(sa.delete(capabilities).where(
                capabilities.c.host == service.host,
                capabilities.c.service_name == service.topic))
            connection.execute(sa.delete(stats).where(
                stats.c.host == service.host,
                stats.c.binary == service.binary))

        in_transaction(self.engine, delete)

    def purge_orphans(self):
        """Delete the capabilities and task statistics of services that
        no longer have a live row (deleted, or their host renamed).

        :returns: ``(capability rows, task statistics rows)`` deleted.
        """
        services = models.services
        capabilities = models.service_capabilities
        stats = models.periodic_task_stats
        live = sa.select(services.c.id).where(services.c.deleted == 0)

        def purge(connection):
            published = connection.execute(
                sa.delete(capabilities).where(~sa.exists(live.where(
                    services.c.host == capabilities.c.host,
                    services.c.topic == capabilities.c.service_name))))
            recorded = connection.execute(
                sa.delete(stats).where(~sa.exists(live.where(
                    services.c.host == stats.c.host,
                    services.c.binary == stats.c.binary))))
            return published.rowcount, recorded.rowcount

        return in_transaction(self.engine, purge)

    # compute nodes ----------------------------------------------------------

    def compute_node_get(self, host):
        nodes = models.compute_nodes
        return self._first(sa.select(nodes).where(nodes.c.host == host,
                                                  nodes.c.deleted == 0))

    def compute_node_get_all(self):
        nodes = models.compute_nodes
        return self._all(sa.select(nodes).where(nodes.c.deleted == 0)
                         .order_by(nodes.c.host))

    def compute_hosts_for_scheduling(self, binary):
        """Every live compute node joined with its live ``binary`` service,
        by host: only the columns a scheduling decision reads (it runs at
        every decision, over every host): the node's totals; what the
        instances given to the host take (``memory_mb_given``,
        ``vcpus_given``, ``root_gb_given``: every live instance whose
        ``host`` it is, as the host's claims count them); ``audited_at``,
        when the node row was last written; ``last_heartbeat``, when the
        service last beat, None if the node has no service row. The sums
        are cast back to integers: MySQL's SUM is a DECIMAL. (Each time
        column costs a parse per row in a pure-Python driver such as
        pg8000: two, not four.)"""
        nodes, services = models.compute_nodes, models.services
        instances = models.instances
        given = (
            sa.select(instances.c.host,
                      *[sa.func.sum(instances.c[key]).label(key)
                        for key in ("memory_mb", "vcpus", "root_gb")])
            .where(instances.c.deleted == 0, instances.c.host.isnot(None))
            .group_by(instances.c.host).subquery())
        columns = [nodes.c[name] for name in (
            "host", "vcpus", "memory_mb", "local_gb", "running_vms",
            "availability_zone")]
        columns += [sa.cast(sa.func.coalesce(given.c[key], 0), sa.Integer)
                    .label(key + "_given")
                    for key in ("memory_mb", "vcpus", "root_gb")]
        columns += [
            sa.func.coalesce(nodes.c.updated_at,
                             nodes.c.created_at).label("audited_at"),
            sa.func.coalesce(services.c.updated_at,
                             services.c.created_at).label("last_heartbeat"),
            services.c.disabled, services.c.disabled_reason]
        return self._all(
            sa.select(*columns).select_from(
                nodes.outerjoin(services, sa.and_(
                    services.c.host == nodes.c.host,
                    services.c.binary == binary,
                    services.c.deleted == 0))
                .outerjoin(given, given.c.host == nodes.c.host))
            .where(nodes.c.deleted == 0).order_by(nodes.c.host))

    def compute_node_save(self, host, **values):
        """Create or update the one live row of ``host``."""
        nodes = models.compute_nodes

        def save(connection):
            updated = connection.execute(
                sa.update(nodes)
                .where(nodes.c.host == host, nodes.c.deleted == 0)
                .values(updated_at=models.utcnow(), **values)).rowcount
            if not updated:
                connection.execute(sa.insert(nodes).values(
                    host=host, updated_at=models.utcnow(), **values))

        in_transaction(self.engine, save)

    # instances --------------------------------------------------------------

    def instance_create(self, **values):
        self._write(sa.insert(models.instances).values(**values))
        return self.instance_get(values["uuid"], read_deleted="yes")

    def instance_get(self, uuid, read_deleted="no"):
        instances = models.instances
        query = sa.select(instances).where(instances.c.uuid == uuid)
        return self._first(_read_deleted(query, instances, read_deleted))

    def instance_get_all_by_uuids(self, uuids):
        """The rows of ``uuids``, deleted ones included, by uuid."""
        instances = models.instances
        return {row.uuid: row for row in self._all(
            sa.select(instances).where(instances.c.uuid.in_(list(uuids))))}

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

    def instance_get_all_in_task_states(self, task_states, updated_before):
        """Live instances in one of ``task_states`` whose row has not
        changed since ``updated_before`` (naive UTC): requests that stalled."""
        instances = models.instances
        changed = sa.func.coalesce(instances.c.updated_at,
                                   instances.c.created_at)
        return self._all(sa.select(instances).where(
            instances.c.deleted == 0,
            instances.c.task_state.in_(list(task_states)),
            changed < updated_before).order_by(instances.c.id))

    def instance_update(self, uuid, expected=None, **values):
        """Update one live instance; with ``expected`` (column -> value,
        None for NULL, a tuple for any of its values) only if its row still
        holds those values: a compare-and-swap against racing requests and
        tasks.

        :returns: the updated row, or None if it no longer matched (or it
            was deleted).
        :raises InstanceNotFound: there is no such instance, even deleted.
        """
        instances = models.instances
        statement = sa.update(instances).where(instances.c.uuid == uuid,
                                               instances.c.deleted == 0)
        for column, value in (expected or {}).items():
            if value is None:
                condition = instances.c[column].is_(None)
            elif isinstance(value, tuple):
                condition = instances.c[column].in_(value)
            else:
                condition = instances.c[column] == value
            statement = statement.where(condition)
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

    # instance faults -------------------------------------------------------

    def instance_fault_create(self, uuid, code, message, details=None,
                              host=None):
        """Record why an instance failed; the message is cut to fit."""
        self._write(sa.insert(models.instance_faults).values(
            instance_uuid=uuid, code=code, message=message[:255],
            details=details, host=host, created_at=models.utcnow()))

    def instance_fault_get_latest(self, uuid):
        faults = models.instance_faults
        return self._first(
            sa.select(faults).where(faults.c.instance_uuid == uuid)
            .order_by(faults.c.id.desc()).limit(1))

    # flavors ----------------------------------------------------------------

    def flavor_get_all(self):
        flavors = models.instance_types
        return self._all(sa.select(flavors).where(flavors.c.deleted == 0)
                         .order_by(flavors.c.memory_mb, flavors.c.name))

    def flavor_get(self, flavor_id):
        """The flavor of that id, deleted or not, or None."""
        flavors = models.instance_types
        return self._first(sa.select(flavors).where(
            flavors.c.id == flavor_id))

    def flavor_get_by_name(self, name):
        """The live flavor called ``name``.

        :raises FlavorNotFound: there is none.
        """
        flavors = models.instance_types
        row = self._first(sa.select(flavors).where(
            flavors.c.name == name, flavors.c.deleted == 0))
        if row is None:
            raise exception.FlavorNotFound(name=name)
        return row

    def flavor_create(self, name, memory_mb, vcpus, root_gb):
        """:raises FlavorExists: a live flavor has that name."""
        try:
            self._write(sa.insert(models.instance_types).values(
                name=name, memory_mb=memory_mb, vcpus=vcpus,
                root_gb=root_gb, deleted=0))
        except sa.exc.IntegrityError:
            raise exception.FlavorExists(name=name)
        return self.flavor_get_by_name(name)

    def flavor_destroy(self, name):
        """Soft-delete a flavor; its instances keep their sizes.

        :raises FlavorNotFound: there is no live flavor of that name.
        """
        flavors = models.instance_types
        if not self._write(
                sa.update(flavors)
                .where(flavors.c.name == name, flavors.c.deleted == 0)
                .values(deleted=flavors.c.id, deleted_at=models.utcnow())):
            raise exception.FlavorNotFound(name=name)

    # periodic task statistics -----------------------------------------------

    def task_stats_save(self, host, binary, rows):
        """Make the statistics rows of (host, binary) ``rows``, in place:
        a task's row is updated (it keeps its id), a new task's inserted,
        a task that is gone deleted. Rewriting every row on each save made
        a server database bloat (dead tuples, a growing id).

        :param rows: dicts with task, schedule, runs, failures, timeouts,
            last_start, last_duration, next_due, last_error.
        """
        stats = models.periodic_task_stats
        now = models.utcnow()
        mine = sa.and_(stats.c.host == host, stats.c.binary == binary)

        def save(connection):
            stored = {row.task: row for row in connection.execute(
                sa.select(stats).where(mine))}
            wanted = {row["task"] for row in rows}
            gone = [row.id for task, row in stored.items()
                    if task not in wanted]
            if gone:
                connection.execute(sa.delete(stats).where(
                    stats.c.id.in_(gone)))
            new = []
            for row in rows:
                old = stored.get(row["task"])
                if old is None:
                    new.append(dict(row, host=host, binary=binary,
                                    updated_at=now))
                elif any(getattr(old, key) != value
                         for key, value in row.items()):
                    connection.execute(
                        sa.update(stats).where(stats.c.id == old.id)
                        .values(updated_at=now, **row))
            if new:
                connection.execute(sa.insert(stats), new)

        in_transaction(self.engine, save, reads_first=True)

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

        def save(connection):
            if not connection.execute(
                    sa.update(table)
                    .where(table.c.service_name == service_name,
                           table.c.host == host)
                    .values(capabilities=text,
                            updated_at=models.utcnow())).rowcount:
                connection.execute(sa.insert(table).values(
                    service_name=service_name, host=host,
                    capabilities=text, updated_at=models.utcnow()))

        in_transaction(self.engine, save)

    def capabilities_get(self, service_name, host):
        table = models.service_capabilities
        row = self._first(sa.select(table.c.capabilities).where(
            table.c.service_name == service_name, table.c.host == host))
        return None if row is None else json.loads(row.capabilities)

    def capabilities_get_all(self, service_name):
        """``(host, capabilities, updated_at)`` of every host that
        published for ``service_name``."""
        table = models.service_capabilities
        return [(row.host, json.loads(row.capabilities), row.updated_at)
                for row in self._all(
                    sa.select(table)
                    .where(table.c.service_name == service_name)
                    .order_by(table.c.host))]


def _read_deleted(query, table, read_deleted):
    if read_deleted == "no":
        return query.where(table.c.deleted == 0)
    if read_deleted == "only":
        return query.where(table.c.deleted != 0)
    return query
