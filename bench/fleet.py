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

"""The fleet (issue 14): what a host costs, and a fleet through a broker
cut and a compute's kill -9.

  steady   for each N of STEPS, N novalite-compute daemons and two
           novalite-schedulers at their default intervals (report_interval
           10 s, periodic_interval 60 s, periodic_fuzzy_delay 60 s), on the
           local RabbitMQ and a PostgreSQL database of the step, idle for
           SECONDS at the largest step (SHORT_SECONDS at the others) after
           a WARMUP: every daemon up at every reading, the oldest heartbeat
           seen, CPU and RSS per daemon, PostgreSQL and AMQP connections
           per daemon (psutil), queues per daemon (rabbitmqctl), rows
           written and commits per second per host (pg_stat_database),
           AMQP publishes and deliveries per second per host, and the
           capabilities published against those the schedulers received
  simulated  for each N of SIMULATED, N simulated hosts (real compute
           Services sharing one process, as the fan-in benchmark
           simulates) and two real schedulers, SHORT_SECONDS at the
           default intervals: hosts up, rows written, commits, AMQP
           messages per second per host, and capabilities lost
  faults   FAULT_COMPUTES computes and two schedulers at short intervals
           (report 1 s, tick 2 s, down after 5 s), a boot asked every
           BOOT_EVERY s with novalite-manage; the broker cut for 30 s, then
           a compute killed with SIGKILL: a timeline of boots, computes up
           and messages a second (bench/results/fleet.png), and what every
           daemon logged of it

The daemons reach RabbitMQ through a loopback proxy of this process that
reads the AMQP frames going by (Basic.Publish and Basic.Deliver, with
their exchange): without the management plugin, the broker itself does
not count messages. Every daemon is the command itself with an ini of its
own, on an exchange, topics and hosts of this run (deleted at the end)
and a database of the step, dropped at the end.

Usage: python -m bench fleet   (environment: BENCH_FLEET_PARTS
(steady,simulated,faults), BENCH_FLEET_STEPS (10,50), BENCH_FLEET_SIMULATED
(10,50,200), BENCH_FLEET_SECONDS (600),
BENCH_FLEET_SHORT_SECONDS (120), BENCH_FLEET_WARMUP (30))
"""

import collections
import contextlib
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

import psutil
import sqlalchemy as sa

from bench import boots
from bench import fanin
from bench import harness
from bench import rpc as bench_rpc
from novalite import heartbeat
from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models
from tests.functional import tcp_proxy

PARTS = os.environ.get("BENCH_FLEET_PARTS",
                       "steady,simulated,faults").split(",")
STEPS = [int(n) for n in os.environ.get("BENCH_FLEET_STEPS",
                                        "10,50").split(",")]
SIMULATED = [int(n) for n in os.environ.get("BENCH_FLEET_SIMULATED",
                                            "10,50,200").split(",")]
SECONDS = float(os.environ.get("BENCH_FLEET_SECONDS", "600"))
SHORT_SECONDS = float(os.environ.get("BENCH_FLEET_SHORT_SECONDS", "120"))
WARMUP = float(os.environ.get("BENCH_FLEET_WARMUP", "30"))
SCHEDULERS = 2
#: How often the steady part reads heartbeats, RSS and connections.
READING_SECONDS = 5.0
#: How often the CPU of every process is read (psutil).
CPU_SECONDS = 1.0
#: Deliveries of capabilities published before the window's end are
#: counted until this long after it (less those of what was published in
#: that time, so that both counts cover the same messages).
DELIVERY_GRACE = 3.0
#: Connections a daemon keeps to the database at rest: its heartbeat's
#: own and its pool's first; and the benchmark's (its setup engine, the
#: CPU sampler's, a margin for psql).
CONNECTIONS_PER_DAEMON = 2
BENCH_CONNECTIONS = 5
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/%s"

FAULT_COMPUTES = 4
FAULT_OPTIONS = {"report_interval": 1, "service_down_time": 5,
                 "periodic_interval": 2, "periodic_fuzzy_delay": 0,
                 "instance_build_timeout": 10}
BOOT_EVERY = 2.0
#: The faults' script, in seconds from the first boot.
CUT_AT, RESTORE_AT, KILL_AT, END_AT = 20.0, 50.0, 80.0, 110.0
SETTLE_SECONDS = 40.0
MANAGE = [sys.executable, "-m", "novalite.cmd.manage"]

_BASIC = 60
_PUBLISH, _DELIVER = 40, 60


class AmqpFrames:
    """One direction of one AMQP connection, read frame by frame; calls
    ``record(kind, exchange)`` for each Basic.Publish and Basic.Deliver."""

    def __init__(self, record):
        self._record = record
        self._buffer = bytearray()

    def feed(self, data):
        buffer = self._buffer
        buffer += data
        if buffer[:4] == b"AMQP":  # the client's protocol header
            del buffer[:8]
        while len(buffer) >= 7:
            kind, _, size = struct.unpack_from(">BHI", buffer)
            if len(buffer) < size + 8:
                return
            if kind == 1 and size >= 4:
                klass, method = struct.unpack_from(">HH", buffer, 7)
                if klass == _BASIC and method in (_PUBLISH, _DELIVER):
                    self._record(method, _exchange(buffer, method))
            del buffer[:size + 8]


def _short_string(buffer, offset):
    length = buffer[offset]
    return bytes(buffer[offset + 1:offset + 1 + length]).decode(
        "utf-8", "replace"), offset + 1 + length


def _exchange(buffer, method):
    """The exchange argument: after a reserved short for a publish; after
    the consumer tag, delivery tag and redelivered flag for a delivery."""
    offset = 11
    if method == _PUBLISH:
        return _short_string(buffer, offset + 2)[0]
    _, offset = _short_string(buffer, offset)
    return _short_string(buffer, offset + 9)[0]


#: A direction whose frames could not be read: forwarded, not counted.
_UNREADABLE = object()


class MeteringProxy(tcp_proxy.TcpProxy):
    """The tests' cuttable proxy, counting publishes and deliveries by
    second and exchange."""

    def __init__(self, target):
        self.counts = collections.Counter()  # (second, kind, exchange)
        self.unreadable = 0
        self._frames = {}
        self._counting = threading.Lock()
        super().__init__(target)

    def _forward(self, data, sink):
        frames = self._frames.get(sink)
        if frames is None:
            frames = self._frames[sink] = AmqpFrames(self._count)
        if frames is not _UNREADABLE:
            try:
                frames.feed(data)
            except (struct.error, IndexError) as exc:
                self.unreadable += 1
                self._frames[sink] = _UNREADABLE
                print("fleet: a connection's AMQP frames could not be read "
                      "(%s); it is forwarded, not counted" % exc,
                      file=sys.stderr)
        super()._forward(data, sink)

    def _count(self, method, exchange):
        kind = "publish" if method == _PUBLISH else "deliver"
        with self._counting:
            self.counts[(int(time.time()), kind, exchange)] += 1

    def total(self, kind, start, end, exchange=None):
        """Messages of ``kind`` from second ``start`` to before ``end``."""
        with self._counting:
            counts = list(self.counts.items())
        return sum(count for (second, k, name), count in counts
                   if k == kind and start <= second < end
                   and (exchange is None or name == exchange))


# ----------------------------------------------------------------------------
# What the fleet holds: connections and queues


def _connections(pid, port):
    try:
        return sum(1 for c in psutil.Process(pid).net_connections("tcp")
                   if c.raddr and c.raddr.port == port
                   and c.status == psutil.CONN_ESTABLISHED)
    except psutil.Error:
        return 0


def _queues(run):
    rows = bench_rpc._rabbitmqctl("list_queues", "name")
    if rows is None:
        return None
    return sum(1 for row in rows if run in row["name"])


class PostgreSQL(boots.Database):
    """boots' database of the run, with the server's own counters."""

    kind, port = "PostgreSQL", 5432

    def counters(self):
        """Rows written and commits in this database (pg_stat_database)."""
        with self.db.engine.connect() as connection:
            row = connection.execute(sa.text(
                "SELECT tup_inserted + tup_updated + tup_deleted, "
                "xact_commit FROM pg_stat_database WHERE datname = :name"),
                {"name": self.name}).one()
        return {"rows": row[0], "commits": row[1]}

    def server_pids(self):
        return {}  # its backends are found by the CPU sampler


class MariaDB:
    """A MariaDB database of the run, migrated; dropped by drop(). Its
    counters are the server's (rows written by the handlers, temporary
    tables included, and COMMITs, in every database): the server must be
    otherwise idle for them to be this run's."""

    kind, port = "MariaDB", 3306
    admin_url = None  # no backends to find: one server process

    def __init__(self, name):
        self.name = name
        self.url = MARIADB % name
        self._admin = sa.create_engine(MARIADB % "mysql",
                                       isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE %s" % name))
        self.db = db_api.Database(db_api.create_engine(self.url))
        try:
            migration.db_sync(self.db.engine)
        except Exception:
            self.drop()
            raise

    def url_for(self, application):
        return self.url

    def counters(self):
        with self._admin.connect() as connection:
            status = {name: int(value) for name, value in connection.execute(
                sa.text("SHOW GLOBAL STATUS WHERE Variable_name IN ("
                        "'Handler_write', 'Handler_update', 'Handler_delete', "
                        "'Com_commit')")).all()}
        return {"rows": status["Handler_write"] + status["Handler_update"]
                + status["Handler_delete"], "commits": status["Com_commit"]}

    def server_pids(self):
        for process in psutil.process_iter(["name"]):
            if process.info["name"] in ("mariadbd", "mysqld"):
                return {"database server": process.pid}
        return {}

    def drop(self):
        self.db.dispose()
        with self._admin.connect() as connection:
            connection.execute(sa.text("DROP DATABASE IF EXISTS %s"
                                       % self.name))
        self._admin.dispose()


def _database_for(daemons, name):
    """PostgreSQL if its max_connections holds the daemons, else MariaDB;
    and why, for the report."""
    engine = sa.create_engine(fanin.PG_ADMIN % "postgres")
    try:
        with engine.connect() as connection:
            limit = int(connection.execute(sa.text(
                "SHOW max_connections")).scalar())
    finally:
        engine.dispose()
    needed = daemons * CONNECTIONS_PER_DAEMON + BENCH_CONNECTIONS
    if needed <= limit:
        return PostgreSQL(name), None
    return MariaDB(name), (
        "%d daemons need %d connections, more than PostgreSQL's "
        "max_connections (%d) here" % (daemons, needed, limit))


def _heartbeat_ages(db, hosts):
    """Seconds since each host's last beat (any of its services)."""
    now = models.utcnow()
    ages = {}
    for service in db.service_get_all():
        if service.host in hosts:
            beat = heartbeat.last_heartbeat(service)
            ages[service.host] = (now - beat).total_seconds() if beat else (
                float("inf"))
    return ages


# ----------------------------------------------------------------------------
# 1. Steady: the cost of a host


class _Notes:
    """Lines a step has to say, kept for under the table of all steps."""

    def __init__(self):
        self.lines = []

    def add(self, *lines):
        self.lines.extend(line for line in lines if line)


def measure_step(report, top, run, computes, hold):
    names = boots._names("fleet%d" % computes, run)
    deployment = boots.Deployment(names)
    database = proxy = None
    notes = _Notes()
    figures = None
    try:
        database, why = _database_for(
            computes + SCHEDULERS,
            "novalite_bench_fleet%d_%s" % (computes, run))
        proxy = MeteringProxy(_broker_address())
        deployment.start(top, database, computes, boots.COMPUTE_SIZE,
                         schedulers=SCHEDULERS, **_daemon_options(proxy))
        began = time.monotonic()
        deployment.wait_ready(database.db)
        ready = time.monotonic() - began
        time.sleep(WARMUP)
        figures = _hold(report, deployment, database, proxy, names, hold,
                        ready)
        figures.update(database=database.kind, why=why, notes=notes.lines)
        return figures
    except RuntimeError as exc:
        report.add("- %d computes: stopped: %s" % (computes, exc), "")
        return None
    finally:
        deployment.stop()
        if database is not None:
            database.drop()
        if proxy is not None:
            proxy.close()
        boots._clean(notes, names)
        if figures is None:
            report.add(*notes.lines, "")


def _broker_address():
    host, port = bench_rpc.BROKER["host"].split(":")
    return host, int(port)


def _daemon_options(proxy, **options):
    """Through the proxy, at the daemons' default timing unless told."""
    url = bench_rpc.URL.replace(bench_rpc.BROKER["host"],
                                "127.0.0.1:%d" % proxy.port)
    return dict({"transport_url": url, "periodic_fuzzy_delay": 60},
                **options)


def _hold(report, deployment, database, proxy, names, hold, ready):
    pids = deployment.pids()
    watched = dict(pids, bench=os.getpid(), **database.server_pids())
    broker = boots._broker_pid()
    if broker is not None:
        watched["rabbitmq"] = broker
    sampler = boots.CpuSampler(watched, database.admin_url, database.name,
                               period=CPU_SECONDS)
    hosts = set(deployment.computes) | set(deployment.schedulers)
    counters = database.counters()
    start = time.time()
    rss = collections.defaultdict(list)
    up, oldest = [], 0.0
    sampler.start()
    try:
        while time.time() - start < hold:
            ages = _heartbeat_ages(database.db, hosts)
            up.append(sum(1 for host in hosts if ages.get(host, 1e9) < 60))
            oldest = max([oldest] + list(ages.values()))
            for host, pid in pids.items():
                try:
                    rss[host].append(psutil.Process(pid).memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(READING_SECONDS)
        end = time.time()
        connections = {host: (_connections(pid, proxy.port),
                              _connections(pid, database.port))
                       for host, pid in pids.items()}
        queues = _queues(names["run"])
        after = database.counters()
        time.sleep(DELIVERY_GRACE)
    finally:
        sampler.stop()
    alive = sum(1 for process in deployment.daemons
                if process.process.poll() is None)
    return _step_figures(deployment, sampler, proxy, names, start, end,
                         rss, up, oldest, connections, queues,
                         counters, after, alive, ready)


def _step_figures(deployment, sampler, proxy, names, start, end, rss, up,
                  oldest, connections, queues, counters, after, alive,
                  ready):
    seconds = end - start
    computes, schedulers = deployment.computes, deployment.schedulers
    n = len(computes)
    cpu = sampler.between(start, end)
    fanout = "%s_fanout" % names["scheduler"]
    published = proxy.total("publish", start, end, fanout)
    late = proxy.total("publish", end, end + DELIVERY_GRACE, fanout)
    delivered = (proxy.total("deliver", start, end + DELIVERY_GRACE, fanout)
                 - late * len(schedulers))

    def per(hosts, values):
        return [values[host] for host in hosts if host in values]

    def mib(hosts):
        return [rss[host][-1] / 2**20 for host in hosts if rss[host]]

    return {
        "computes": n, "seconds": seconds, "ready_s": ready,
        "daemons": n + len(schedulers), "alive": alive,
        "min_up": min(up) if up else 0, "readings": len(up),
        "oldest_beat_s": oldest,
        "compute_cpu": sum(per(computes, cpu)) / seconds / n,
        "scheduler_cpu": sum(per(schedulers, cpu)) / seconds
        / len(schedulers),
        "database_cpu": sum(value for label, value in cpu.items()
                            if label.startswith("postgres:")
                            or label == "database server") / seconds,
        "rabbitmq_cpu": cpu.get("rabbitmq", 0.0) / seconds,
        "bench_cpu": cpu.get("bench", 0.0) / seconds,
        "compute_rss": mib(computes), "scheduler_rss": mib(schedulers),
        "rss_growth": statistics.median(
            (rss[host][-1] - rss[host][0]) / 2**20 for host in computes
            if rss[host]),
        "amqp_per_compute": statistics.mean(
            connections[host][0] for host in computes),
        "pg_per_compute": statistics.mean(
            connections[host][1] for host in computes),
        "amqp_per_scheduler": statistics.mean(
            connections[host][0] for host in schedulers),
        "pg_per_scheduler": statistics.mean(
            connections[host][1] for host in schedulers),
        "queues": queues,
        "rows_per_host_s": (after["rows"] - counters["rows"]) / seconds / n,
        "commits_per_host_s": None if after["commits"] is None else (
            after["commits"] - counters["commits"]) / seconds / n,
        "publish_per_host_s": proxy.total("publish", start, end) / seconds
        / n,
        "deliver_per_host_s": proxy.total("deliver", start, end) / seconds
        / n,
        "capabilities": (published, delivered),
        "problems": deployment.log_problems(),
        "unreadable": proxy.unreadable,
    }


def _report_steady(report, steps):
    report.add(
        "### The cost of a host, idle", "",
        "Each compute is a real daemon at the default intervals "
        "(heartbeat 10 s, periodic tasks and capabilities 60 s, start "
        "spread over 60 s), with two schedulers; the window starts %d s "
        "after every daemon said READY=1. CPU is in %% of one core, "
        "over the whole window (psutil, user + system)." % WARMUP, "")
    measures = [
        ("window", lambda f: "%.0f s" % f["seconds"]),
        ("up: fewest daemons of all, at any reading",
         lambda f: "%d of %d (%d readings)" % (f["min_up"], f["daemons"],
                                               f["readings"])),
        ("oldest heartbeat seen", lambda f: "%.1f s" % f["oldest_beat_s"]),
        ("CPU per compute", lambda f: "%.2f %%" % (100 * f["compute_cpu"])),
        ("CPU per scheduler",
         lambda f: "%.2f %%" % (100 * f["scheduler_cpu"])),
        ("database", lambda f: f["database"]),
        ("database server CPU (PostgreSQL: this database's backends)",
         lambda f: "%.2f %%" % (100 * f["database_cpu"])),
        ("RabbitMQ CPU", lambda f: "%.2f %%" % (100 * f["rabbitmq_cpu"])),
        ("compute RSS, median / max",
         lambda f: "%.0f / %.0f MiB" % (statistics.median(f["compute_rss"]),
                                        max(f["compute_rss"]))),
        ("compute RSS change over the window, median",
         lambda f: "%+.1f MiB" % f["rss_growth"]),
        ("scheduler RSS, max", lambda f: "%.0f MiB" % max(f["scheduler_rss"])),
        ("database connections per compute / scheduler",
         lambda f: "%.1f / %.1f" % (f["pg_per_compute"],
                                    f["pg_per_scheduler"])),
        ("AMQP connections per compute / scheduler",
         lambda f: "%.1f / %.1f" % (f["amqp_per_compute"],
                                    f["amqp_per_scheduler"])),
        ("broker queues per daemon",
         lambda f: "n/a (no rabbitmqctl)" if f["queues"] is None
         else "%.1f" % (f["queues"] / f["daemons"])),
        ("rows written /s per host",
         lambda f: "%.3f" % f["rows_per_host_s"]),
        ("commits /s per host",
         lambda f: "n/a" if f["commits_per_host_s"] is None
         else "%.3f" % f["commits_per_host_s"]),
        ("AMQP publishes /s per host",
         lambda f: "%.3f" % f["publish_per_host_s"]),
        ("AMQP deliveries /s per host",
         lambda f: "%.3f" % f["deliver_per_host_s"]),
        ("capabilities sent; received of sent x schedulers",
         lambda f: "%d; %d of %d" % (f["capabilities"][0],
                                     f["capabilities"][1],
                                     f["capabilities"][0] * SCHEDULERS)),
    ]
    report.table(["", *("%d computes + %d schedulers" % (f["computes"],
                                                         SCHEDULERS)
                        for f in steps)],
                 [[label, *(show(f) for f in steps)]
                  for label, show in measures])
    for f in steps:
        if f["why"]:
            report.add("- %d computes on MariaDB: %s." % (f["computes"],
                                                          f["why"]))
        published, delivered = f["capabilities"]
        lost = published * SCHEDULERS - delivered
        report.add(
            "- %d computes: %d of %d daemons still running at the end; "
            "ready %.0f s after the start; capabilities lost: %d; ERROR "
            "lines and tracebacks in the logs: %d; the benchmark's own "
            "CPU (proxy, readings): %.1f %%; connections whose AMQP frames "
            "could not be read: %d"
            % (f["computes"], f["alive"], f["daemons"], f["ready_s"],
               max(0, lost), f["problems"], 100 * f["bench_cpu"],
               f["unreadable"]))
        report.add(*("- %d computes, %s" % (f["computes"], line[2:])
                     for line in f["notes"]))
    if any(f["database"] == "MariaDB" for f in steps):
        report.add(
            "- Rows written on MariaDB are the server's Handler_write, "
            "_update and _delete counters, server-wide and counting its "
            "internal temporary tables; on PostgreSQL they are this "
            "database's tuples inserted, updated and deleted. Compare "
            "steps on the same server only.")
    report.add("")


# ----------------------------------------------------------------------------
# 2. Simulated hosts: the load of many hosts on the shared servers

#: One process, SIMULATED hosts: each is a real Service (novalite-compute,
#: the compute manager and fake driver, its periodic tasks, heartbeat and
#: RPC server) on a host name of its own, sharing one database pool and
#: one transport. It logs to LOG and runs until the file STOP exists.
_SIMULATOR = """
from novalite import monkey_patch  # noqa
import logging
import os

from novalite import config, rpc, service
from novalite.db import api as db_api

logging.basicConfig(filename=LOG, level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(name)s %(message)s")
config.parse_args(["novalite-compute", "--config-file", INI],
                  default_config_files=[])
conf = config.CONF
db = db_api.Database.from_conf(conf)
transport = rpc.get_transport(conf)
services = []
for host in HOSTS:
    one = service.Service.create(host=host, binary="novalite-compute",
                                 topic=conf.compute_topic, conf=conf, db=db,
                                 transport=transport)
    one.start()
    services.append(one)
while not os.path.exists(STOP):
    time.sleep(0.5)
for one in services:
    one.stop(graceful_timeout=5)
transport.cleanup()
emit(started=len(services))
"""


def measure_simulated(report, top, run, count, hold):
    """``count`` simulated hosts and two real schedulers for ``hold`` s."""
    names = boots._names("sim%d" % count, run)
    deployment = boots.Deployment(names)
    database = proxy = simulator = None
    notes = _Notes()
    os.makedirs(top, exist_ok=True)
    stop = os.path.join(top, "stop")
    try:
        database, _ = _database_for(SCHEDULERS + 1,
                                    "novalite_bench_sim%d_%s" % (count, run))
        proxy = MeteringProxy(_broker_address())
        options = _daemon_options(proxy)
        deployment.start(top, database, 0, None, schedulers=SCHEDULERS,
                         **options)
        deployment.wait_ready(database.db)
        hosts = ["%s-c%03d-%s" % (names["part"], index, names["run"])
                 for index in range(count)]
        names["hosts"].extend(hosts)
        ini = os.path.join(top, "simulator.conf")
        with open(ini, "w") as handle:
            handle.write(boots._ini(
                names, os.path.join(top, "simulator"), None,
                database.url_for("bench-compute"), boots.COMPUTE_SIZE,
                heartbeat_in_native_thread=False, **options))
        log = os.path.join(top, "simulator.log")
        simulator = harness.start(_SIMULATOR, INI=ini, HOSTS=hosts,
                                  STOP=stop, LOG=log)
        _wait_for_hosts(database.db, set(hosts), simulator)
        time.sleep(WARMUP)
        figures = _hold_simulated(deployment, database, proxy, names,
                                  simulator, set(hosts), hold)
        with open(stop, "w"):
            pass
        result = harness.finish(simulator, timeout=120)
        figures.update(hosts=count, database=database.kind,
                       result=result, notes=notes.lines,
                       problems=deployment.log_problems()
                       + _log_problems(log))
        return figures
    except RuntimeError as exc:
        report.add("- %d simulated hosts: stopped: %s" % (count, exc), "")
        return None
    finally:
        if simulator is not None and simulator.poll() is None:
            simulator.kill()
            simulator.communicate()
        deployment.stop()
        if database is not None:
            database.drop()
        if proxy is not None:
            proxy.close()
        boots._clean(notes, names)


def _log_problems(path):
    """ERROR lines and tracebacks in a log file."""
    try:
        with open(path) as handle:
            return sum(1 for line in handle
                       if " ERROR " in line or line.startswith("Traceback"))
    except OSError:
        return 0


def _wait_for_hosts(db, hosts, simulator):
    deadline = time.monotonic() + boots.READY_SECONDS + len(hosts)
    while time.monotonic() < deadline:
        if simulator.poll() is not None:
            raise RuntimeError("the simulator exited: %s" % (
                simulator.stderr.read().strip().splitlines() or ["?"])[-1])
        nodes = {row.host for row in db.compute_node_get_all()}
        if hosts <= nodes:
            return
        time.sleep(1)
    raise RuntimeError("the simulated hosts did not all start")


def _hold_simulated(deployment, database, proxy, names, simulator, hosts,
                    hold):
    watched = dict(deployment.pids(), simulator=simulator.pid,
                   **database.server_pids())
    broker = boots._broker_pid()
    if broker is not None:
        watched["rabbitmq"] = broker
    sampler = boots.CpuSampler(watched, database.admin_url, database.name,
                               period=CPU_SECONDS)
    counters = database.counters()
    start = time.time()
    up, oldest, rss = [], 0.0, []
    sampler.start()
    try:
        while time.time() - start < hold:
            ages = _heartbeat_ages(database.db, hosts)
            up.append(sum(1 for host in hosts if ages.get(host, 1e9) < 60))
            oldest = max([oldest] + list(ages.values()))
            with contextlib.suppress(psutil.Error):
                rss.append(psutil.Process(simulator.pid).memory_info().rss)
            time.sleep(READING_SECONDS)
        end = time.time()
        connections = (_connections(simulator.pid, proxy.port),
                       _connections(simulator.pid, database.port))
        after = database.counters()
        time.sleep(DELIVERY_GRACE)
    finally:
        sampler.stop()
    seconds, n = end - start, len(hosts)
    cpu = sampler.between(start, end)
    fanout = "%s_fanout" % names["scheduler"]
    published = proxy.total("publish", start, end, fanout)
    late = proxy.total("publish", end, end + DELIVERY_GRACE, fanout)
    delivered = (proxy.total("deliver", start, end + DELIVERY_GRACE, fanout)
                 - late * SCHEDULERS)
    return {
        "seconds": seconds, "min_up": min(up) if up else 0,
        "readings": len(up), "oldest_beat_s": oldest,
        "simulator_cpu": cpu.get("simulator", 0.0) / seconds / n,
        "simulator_rss": max(rss) / 2**20 if rss else None,
        "connections": connections,
        "rows_per_host_s": (after["rows"] - counters["rows"]) / seconds / n,
        "commits_per_host_s": None if after["commits"] is None else (
            after["commits"] - counters["commits"]) / seconds / n,
        "publish_per_host_s": proxy.total("publish", start, end) / seconds
        / n,
        "deliver_per_host_s": proxy.total("deliver", start, end) / seconds
        / n,
        "capabilities": (published, delivered),
        "unreadable": proxy.unreadable,
    }


def _report_simulated(report, steps):
    report.add(
        "### Heartbeats and capabilities of many hosts", "",
        "Simulated hosts, as the fan-in benchmark does: one process holds "
        "every host of a step, each a real novalite-compute Service (its "
        "manager, fake driver, periodic tasks, heartbeat and RPC server) "
        "at the default intervals, sharing one database pool and one "
        "transport, with heartbeats from the event loop "
        "(heartbeat_in_native_thread = false) so that the process does not "
        "open a connection per host; two real schedulers. The window of "
        "%.0f s starts %d s after every host's first audit reached the "
        "database." % (steps[0]["seconds"], WARMUP), "")
    measures = [
        ("database", lambda f: f["database"]),
        ("up: fewest hosts, at any reading",
         lambda f: "%d of %d (%d readings)" % (f["min_up"], f["hosts"],
                                               f["readings"])),
        ("oldest heartbeat seen", lambda f: "%.1f s" % f["oldest_beat_s"]),
        ("rows written /s per host",
         lambda f: "%.3f" % f["rows_per_host_s"]),
        ("commits /s per host",
         lambda f: "n/a" if f["commits_per_host_s"] is None
         else "%.3f" % f["commits_per_host_s"]),
        ("AMQP publishes /s per host",
         lambda f: "%.3f" % f["publish_per_host_s"]),
        ("AMQP deliveries /s per host",
         lambda f: "%.3f" % f["deliver_per_host_s"]),
        ("capabilities sent; received of sent x schedulers",
         lambda f: "%d; %d of %d" % (f["capabilities"][0],
                                     f["capabilities"][1],
                                     f["capabilities"][0] * SCHEDULERS)),
        ("simulator CPU per host",
         lambda f: "%.3f %%" % (100 * f["simulator_cpu"])),
        ("simulator RSS (all hosts)",
         lambda f: "n/a" if f["simulator_rss"] is None
         else "%.0f MiB" % f["simulator_rss"]),
        ("simulator's AMQP / database connections",
         lambda f: "%d / %d" % f["connections"]),
    ]
    report.table(["", *("%d hosts" % f["hosts"] for f in steps)],
                 [[label, *(show(f) for f in steps)]
                  for label, show in measures])
    for f in steps:
        published, delivered = f["capabilities"]
        report.add(
            "- %d simulated hosts: capabilities lost: %d; the simulator %s; "
            "ERROR lines and tracebacks in the logs: %d; "
            "connections whose AMQP frames could not be read: %d"
            % (f["hosts"], max(0, published * SCHEDULERS - delivered),
               "stopped cleanly" if "error" not in f["result"]
               else "failed: %s" % f["result"]["error"], f["problems"],
               f["unreadable"]))
        report.add(*("- %d simulated hosts, %s" % (f["hosts"], line[2:])
                     for line in f["notes"]))
    report.add("")


# ----------------------------------------------------------------------------
# 3. Faults: a timeline


def measure_faults(report, top, run):
    names = boots._names("faults", run)
    deployment = boots.Deployment(names)
    database = proxy = None
    try:
        database = boots.Database("novalite_bench_faults_%s" % run)
        proxy = MeteringProxy(_broker_address())
        options = _daemon_options(proxy, **FAULT_OPTIONS)
        deployment.start(top, database, FAULT_COMPUTES, boots.COMPUTE_SIZE,
                         schedulers=SCHEDULERS, **options)
        deployment.wait_ready(database.db)
        ini = os.path.join(top, "manage.conf")
        with open(ini, "w") as handle:
            handle.write(boots._ini(names, os.path.join(top, "manage"), None,
                                    database.url_for("bench-driver"),
                                    **options))
        time.sleep(2 * FAULT_OPTIONS["periodic_interval"])
        return _timeline(report, deployment, database, proxy, names, ini)
    except RuntimeError as exc:
        report.add("- faults: stopped: %s" % exc, "")
        return None
    finally:
        deployment.stop()
        if database is not None:
            database.drop()
        if proxy is not None:
            proxy.close()
        boots._clean(report, names)


class Booter(threading.Thread):
    """novalite-manage instance boot every BOOT_EVERY s, as an operator
    would; each exit status and when."""

    def __init__(self, ini):
        super().__init__(daemon=True)
        self.ini = ini
        self.results = []
        self.done = threading.Event()

    def run(self):
        index = 0
        while not self.done.is_set():
            began = time.time()
            result = subprocess.run(
                MANAGE + ["--config-file", self.ini, "instance", "boot",
                          "tl-%d" % index, "--flavor", boots.FLAVOR],
                capture_output=True, text=True, timeout=120,
                env=dict(os.environ, PYTHONWARNINGS="ignore"))
            self.results.append((began, result.returncode,
                                 result.stderr.strip().splitlines()))
            index += 1
            self.done.wait(max(0.0, began + BOOT_EVERY - time.time()))


def _timeline(report, deployment, database, proxy, names, ini):
    computes = sorted(deployment.computes)
    victim = computes[0]
    booter = Booter(ini)
    t0 = time.time()
    booter.start()
    samples = []
    events = {}
    script = [(CUT_AT, "cut", proxy.cut), (RESTORE_AT, "restore",
                                           proxy.restore),
              (KILL_AT, "kill", lambda: _kill9(deployment, victim))]
    while time.time() - t0 < END_AT:
        now = time.time() - t0
        while script and now >= script[0][0]:
            _, name, action = script.pop(0)
            events[name] = time.time() - t0
            action()
        samples.append(_timeline_sample(database, proxy, computes, t0))
        time.sleep(max(0.0, t0 + len(samples) - time.time()))
    booter.done.set()
    booter.join(130)
    settled = _settle(database.db)
    fanout = "%s_fanout" % names["scheduler"]
    resumed = next((second - t0 - events["restore"]
                    for second in range(int(t0 + events["restore"]),
                                        int(time.time()) + 1)
                    if proxy.total("deliver", second, second + 1,
                                   fanout)), None)
    down_after = next((s["t"] - events["kill"] for s in samples
                       if s["t"] > events["kill"]
                       and s["up"] < len(computes)), None)
    figures = {"samples": samples, "events": events, "boots":
               booter.results, "settled": settled, "resumed": resumed,
               "down_after": down_after, "t0": t0,
               "logs": _outage_lines(deployment, victim)}
    _report_faults(report, figures)
    return figures


def _kill9(deployment, host):
    process = deployment.computes[host].process
    process.send_signal(signal.SIGKILL)
    process.wait(15)


def _timeline_sample(database, proxy, computes, t0):
    now = time.time()
    ages = _heartbeat_ages(database.db, set(computes))
    states = collections.Counter(row.vm_state for row in
                                 database.db.instance_get_all())
    second = int(now) - 1
    return {"t": now - t0,
            "up": sum(1 for host in computes
                      if ages.get(host, 1e9) < FAULT_OPTIONS[
                          "service_down_time"]),
            "active": states["active"], "error": states["error"],
            "building": states["building"],
            "publish": proxy.total("publish", second, second + 1),
            "deliver": proxy.total("deliver", second, second + 1)}


def _settle(db):
    """Instances by state once none is building (or SETTLE_SECONDS)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        rows = db.instance_get_all()
        states = collections.Counter(row.vm_state for row in rows)
        if not states["building"] or time.monotonic() > deadline:
            return dict(states)
        time.sleep(1)


def _outage_lines(deployment, victim):
    """What each daemon (but the killed one) logged of the cut."""
    lines = {}
    for host, process in list(deployment.computes.items()) + list(
            deployment.schedulers.items()):
        if host == victim:
            continue
        lines[host] = (process.log_count("The message bus is unreachable"),
                       process.log_count("is back after"),
                       process.log_count(" ERROR "))
    return lines


def _report_faults(report, f):
    codes = collections.Counter(code for _, code, _ in f["boots"])
    cut = [(code, lines) for began, code, lines in f["boots"]
           if f["events"]["cut"] <= began - f["t0"] < f["events"]["restore"]]
    refused = [lines for code, lines in cut if code == 69]
    said = set(f["logs"].values())
    report.add(
        "### A broker cut and a compute's kill -9, as a timeline", "",
        "%d computes and %d schedulers at report_interval 1 s, "
        "periodic_interval 2 s, service_down_time 5 s; a `novalite-manage "
        "instance boot` every %.0f s. The broker is cut at %.0f s for %.0f "
        "s; a compute is killed with SIGKILL at %.0f s."
        % (FAULT_COMPUTES, SCHEDULERS, BOOT_EVERY, CUT_AT,
           RESTORE_AT - CUT_AT, KILL_AT), "",
        "- boots asked: %d; exit 0: %d; other exits: %d; asked while the "
        "bus was cut: %d, refused with exit 69: %d, in one line: %d%s"
        % (len(f["boots"]), codes[0], len(f["boots"]) - codes[0], len(cut),
           len(refused), sum(1 for lines in refused if len(lines) == 1),
           (", e.g. `%s`" % refused[0][0][:160]) if refused else ""),
        "- once settled: %s; left building: %d"
        % (", ".join("%s %d" % item for item in sorted(f["settled"].items())),
           f["settled"].get("building", 0)),
        "- capabilities delivered to the schedulers again %s after the "
        "restore" % ("%.0f s" % f["resumed"] if f["resumed"] is not None
                     else "never"),
        "- the killed compute shown down %s after the kill"
        % ("%.0f s" % f["down_after"] if f["down_after"] is not None
           else "never"),
        "- each daemon's log (loss lines, recovery lines, ERROR lines): %s"
        % ", ".join("%d/%d/%d" % item for item in sorted(said)), "")
    report.plot("fleet", _draw_timeline(f), size=(10, 6),
                caption="boots, computes up and AMQP messages through a "
                        "broker cut and a kill -9")


def _draw_timeline(f):
    def draw(figure):
        samples = f["samples"]
        t = [s["t"] for s in samples]
        panels = figure.subplots(3, 1, sharex=True)
        panels[0].plot(t, [s["active"] for s in samples], label="ACTIVE")
        panels[0].plot(t, [s["error"] for s in samples], label="ERROR")
        panels[0].plot(t, [s["building"] for s in samples],
                       label="BUILDING")
        panels[0].set_ylabel("instances")
        panels[1].step(t, [s["up"] for s in samples], where="post")
        panels[1].set_ylabel("computes up")
        panels[1].set_ylim(0, FAULT_COMPUTES + 0.5)
        panels[2].plot(t, [s["publish"] for s in samples], label="publish")
        panels[2].plot(t, [s["deliver"] for s in samples], label="deliver")
        panels[2].set_ylabel("AMQP messages /s")
        panels[2].set_xlabel("seconds")
        for panel in panels:
            panel.axvspan(f["events"]["cut"], f["events"]["restore"],
                          color="0.85", label="broker cut")
            panel.axvline(f["events"]["kill"], color="red",
                          linestyle="--", label="kill -9")
        panels[0].legend(loc="upper left", fontsize="small")
        panels[2].legend(loc="upper left", fontsize="small")
    return draw


def main():
    report = harness.Report("The fleet: what a host costs, and a broker cut "
                            "and a kill -9 as a timeline (issue 14)")
    problems = [problem for problem in (
        bench_rpc._broker_problem() and "the RabbitMQ broker does not "
        "answer", boots._postgresql_problem() and "PostgreSQL does not "
        "answer") if problem]
    if problems:
        report.add("Skipped: %s." % "; ".join(problems), "")
        return report
    run = bench_rpc._names()["run"]
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as top:
        if "steady" in PARTS:
            steps = []
            for index, computes in enumerate(STEPS):
                hold = SECONDS if index == len(STEPS) - 1 else SHORT_SECONDS
                figures = measure_step(report, os.path.join(
                    top, str(computes)), run, computes, hold)
                if figures:
                    steps.append(figures)
            if steps:
                _report_steady(report, steps)
        if "simulated" in PARTS:
            steps = [figures for figures in (
                measure_simulated(report, os.path.join(top, "sim%d" % n),
                                  run, n, SHORT_SECONDS)
                for n in SIMULATED) if figures]
            if steps:
                _report_simulated(report, steps)
        if "faults" in PARTS:
            measure_faults(report, os.path.join(top, "faults"), run)
    return report


if __name__ == "__main__":
    main()
