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

"""Boots (issue 13): request to ACTIVE through the real daemons, the filter
scheduler's decision time as the hosts grow, and two schedulers racing for
the last room.

  boots      COMPUTES novalite-compute daemons (the fake driver, pinned
             sizes) and one novalite-scheduler on the local RabbitMQ and a
             PostgreSQL database of the run; BOOTS boots of m1.tiny, at most
             CONCURRENCY outstanding, each made as novalite-manage makes it
             (the instance row, then SchedulerAPI.run_instance): p50 and p99
             from the cast to the row ACTIVE, boots a second, and the CPU
             seconds each kind of process spent per boot
  decisions  FilterScheduler.select_destinations in one process, no daemons,
             at 100, 1,000 and 5,000 hosts, on SQLite and on PostgreSQL:
             p50 and p99 per decision and how they grow with the hosts
  race       two novalite-schedulers and RACE_HOSTS small computes (room for
             4 m1.tiny each at ram_allocation_ratio 1.0); RACE_BOOTS boots
             cast alternately to each scheduler's own queue, all at once:
             hosts over capacity once every boot is ACTIVE or ERROR

Every daemon is the command itself (python -m novalite.cmd.compute,
novalite.cmd.scheduler) with an ini file of its own, on an exchange, topics
and hosts of this run (bench/rpc.py's clean_broker deletes them at the end)
and a database of this run, dropped at the end. The boots are driven by one
client program in its own interpreter, monkey-patched as novalite-manage
is: a process per boot would measure Python's start-up, and the benchmark
process itself must stay unpatched for the scenarios that follow it.

Usage: python -m bench boots   (environment: BENCH_BOOTS_PARTS
(boots,decisions,race), BENCH_BOOTS_COMPUTES (20), BENCH_BOOTS_COUNT (200),
BENCH_BOOTS_CONCURRENCY (10), BENCH_BOOTS_POLL_MS (5), BENCH_BOOTS_HOSTS
(100,1000,5000), BENCH_BOOTS_DECISIONS (200), BENCH_BOOTS_DECISION_SECONDS
(20), BENCH_BOOTS_RACE_HOSTS (20), BENCH_BOOTS_RACE_COUNT (100),
BENCH_BOOTS_PROFILE (1: profile the decision even when it meets its
target); BENCH_RPC_URL for another RabbitMQ)
"""

import collections
import concurrent.futures
import math
import os
import statistics
import sys
import tempfile
import threading
import time

import psutil
import sqlalchemy as sa

from bench import fanin
from bench import harness
from bench import rpc as bench_rpc
from novalite import conf as novalite_conf
from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models

PARTS = os.environ.get("BENCH_BOOTS_PARTS", "boots,decisions,race").split(",")
COMPUTES = int(os.environ.get("BENCH_BOOTS_COMPUTES", "20"))
BOOTS = int(os.environ.get("BENCH_BOOTS_COUNT", "200"))
CONCURRENCY = int(os.environ.get("BENCH_BOOTS_CONCURRENCY", "10"))
POLL_SECONDS = float(os.environ.get("BENCH_BOOTS_POLL_MS", "5")) / 1e3
DECISION_HOSTS = [int(n) for n in os.environ.get(
    "BENCH_BOOTS_HOSTS", "100,1000,5000").split(",")]
DECISIONS = int(os.environ.get("BENCH_BOOTS_DECISIONS", "200"))
DECISION_SECONDS = float(os.environ.get("BENCH_BOOTS_DECISION_SECONDS", "20"))
RACE_HOSTS = int(os.environ.get("BENCH_BOOTS_RACE_HOSTS", "20"))
RACE_BOOTS = int(os.environ.get("BENCH_BOOTS_RACE_COUNT", "100"))
ALWAYS_PROFILE = os.environ.get("BENCH_BOOTS_PROFILE") == "1"

FLAVOR = "m1.tiny"
#: Each boots compute takes 48 m1.tiny by RAM (16384 MiB x 1.5 / 512), so
#: the boots of the run fit many times over and none fails for room.
COMPUTE_SIZE = {"vcpus": 8, "memory_mb": 16384, "local_gb": 200}
#: Each race compute takes 4 m1.tiny by RAM at a ratio of 1.0 (the vCPUs,
#: 2 x 16, and the disk, 20 GiB, leave more): RACE_HOSTS x 4 fit.
RACE_SIZE = {"vcpus": 2, "memory_mb": 2048, "local_gb": 20}
RACE_RAM_RATIO = 1.0
RACE_SCHEDULERS = 2
#: The decision hosts are the boots computes' size, so that no decision
#: of the run finds a host full.
DECISION_SIZE = COMPUTE_SIZE

P50_TARGET_MS = 250.0
P99_TARGET_MS = 1000.0
RATE_TARGET = 20.0
DECISION_TARGET_MS = 20.0
DECISION_TARGET_HOSTS = 1000
#: Growth at most linear: the exponent k of p50 ~ hosts^k between two
#: steps, with a margin for this machine's noise.
GROWTH_TARGET = 1.1

#: The kinds of PostgreSQL backends, by the application_name of each
#: kind's connection URL (Database.url_for).
BACKENDS = {"bench-scheduler": "the scheduler", "bench-compute":
            "the computes", "bench-driver": "the client",
            "bench-setup": "the benchmark (its checks)"}
#: A boot not ACTIVE or ERROR this long after its cast is given up.
BOOT_SECONDS = 60.0
#: Seconds every daemon's CPU is read idle, before the boots: what the
#: same processes cost doing nothing, for the window's share of it.
IDLE_SECONDS = 5.0
#: How often the CPU of every process is read (psutil).
SAMPLE_SECONDS = 0.2
#: The race polls its 100 rows at this interval: only the outcome counts.
RACE_POLL_SECONDS = 0.05
#: Decisions timed under cProfile when the decision is profiled.
PROFILE_DECISIONS = 20
READY_SECONDS = 180
COMPUTE = [sys.executable, "-m", "novalite.cmd.compute"]
SCHEDULER = [sys.executable, "-m", "novalite.cmd.scheduler"]

# ----------------------------------------------------------------------------
# The programs, each in its own interpreter.

# The client of the boots: novalite-manage's own row (InstanceCommands.
# _create) and SchedulerAPI's cast, then the rows polled every POLL_SECONDS
# with one query for all the outstanding boots. MODE "boots": COUNT boots,
# at most CONCURRENCY outstanding, a new one cast as soon as one finishes.
# MODE "race": COUNT rows first, then every cast at once, alternately to
# each of SERVERS' own queue (topic.host): the schedulers decide together.
_DRIVER = '''
from novalite import monkey_patch  # noqa: green sockets, as novalite-manage
import datetime
from novalite.cmd import manage
from novalite.compute import vm_states
from novalite import config, context, rpc
from novalite.db import api as db_api
from novalite.scheduler import rpcapi

config.parse_args(["novalite-bench-boots", "--config-file", INI],
                  default_config_files=[])
conf = config.CONF
db = db_api.Database.from_conf(conf)
transport = rpc.get_transport(conf)
scheduler = rpcapi.SchedulerAPI(conf, db, transport)
ctxt = context.get_admin_context()
flavor = db.flavor_get_by_name(FLAVOR)
# As InstanceCommands.boot asks for them.
properties = {"memory_mb": flavor.memory_mb, "vcpus": flavor.vcpus,
              "root_gb": flavor.root_gb, "image_ref": None,
              "availability_zone": None}
FINISHED = (vm_states.ACTIVE, vm_states.ERROR)


def create(name):
    [uuid] = manage.InstanceCommands._create(db, name, flavor, None, None,
                                             None, 1)
    return uuid


def cast(uuid, server=None):
    spec = {"instance_uuids": [uuid], "instance_properties": properties}
    if server is None:
        scheduler.run_instance(ctxt, spec, {})
    else:  # the same cast, to one scheduler's own queue
        scheduler.cast(ctxt, "run_instance", "1.1", server=server,
                       request_spec=spec, filter_properties={})


def launched_after(row, sent_wall):
    """Seconds from the cast to launched_at, which the compute stamps as it
    makes the row ACTIVE: the same clock as the cast's (one machine)."""
    if row.vm_state != vm_states.ACTIVE or row.launched_at is None:
        return None
    stamp = row.launched_at.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp() - sent_wall


def boots():
    pending = {}  # uuid -> (perf_counter, time.time()) just before the cast
    done, created, gaps, queries = [], [], [], []
    given_up = 0
    index = 0
    last_poll = None
    window_start = time.time()
    first = time.perf_counter()
    last_seen = first
    while index < COUNT or pending:
        while index < COUNT and len(pending) < CONCURRENCY:
            before = time.perf_counter()
            uuid = create("%s-%d" % (PREFIX, index))
            created.append(time.perf_counter() - before)
            pending[uuid] = (time.perf_counter(), time.time())
            cast(uuid)
            index += 1
        poll = time.perf_counter()
        if last_poll is not None:
            gaps.append(poll - last_poll)
        last_poll = poll
        rows = db.instance_get_all_by_uuids(list(pending))
        seen = time.perf_counter()
        queries.append(seen - poll)
        for uuid, row in rows.items():
            if row.vm_state in FINISHED:
                sent_perf, sent_wall = pending.pop(uuid)
                done.append({"state": row.vm_state, "host": row.host,
                             "polled_s": seen - sent_perf,
                             "launched_s": launched_after(row, sent_wall)})
                last_seen = seen
        for uuid, (sent_perf, _) in list(pending.items()):
            if seen - sent_perf > BOOT_SECONDS:
                del pending[uuid]
                given_up += 1
        time.sleep(max(0.0, poll + POLL - time.perf_counter()))
    return {"done": done, "given_up": given_up, "created_s": created,
            "gaps_s": gaps, "queries_s": queries,
            "seconds": last_seen - first, "window": [window_start,
                                                     time.time()]}


def race():
    uuids = [create("%s-%d" % (PREFIX, index)) for index in range(COUNT)]
    started = time.perf_counter()
    for index, uuid in enumerate(uuids):
        cast(uuid, SERVERS[index % len(SERVERS)])
    cast_seconds = time.perf_counter() - started
    pending = set(uuids)
    states = {}
    while pending and time.perf_counter() - started < BOOT_SECONDS:
        for uuid, row in db.instance_get_all_by_uuids(list(pending)).items():
            if row.vm_state in FINISHED:
                pending.discard(uuid)
                states[row.vm_state] = states.get(row.vm_state, 0) + 1
        time.sleep(POLL)
    return {"states": states, "unfinished": len(pending),
            "cast_seconds": cast_seconds,
            "seconds": time.perf_counter() - started}


figures = boots() if MODE == "boots" else race()
transport.cleanup()
db.dispose()
emit(cpu_s=cpu_seconds(), **figures)
'''

# FilterScheduler.select_destinations for one m1.tiny, in this process, on
# a HostManager and a FilterScheduler of a fresh ConfigOpts, monkey-patched
# as novalite-scheduler is. The hosts are added to the database in bulk
# (the rows tests/unit/test_scheduling.py's _compute_host writes, one
# statement each for all of them) and their heartbeats refreshed before
# each step and every HEARTBEAT_SECONDS, outside the timed calls, so that
# the ComputeFilter always finds them up. A new HostManager per step: the
# first decision builds every HostState (cold, reported apart), the later
# ones reuse them, as a running scheduler does.
_DECISIONS = '''
from novalite import monkey_patch  # noqa: as novalite-scheduler
import cProfile, pstats, statistics
from oslo_config import cfg
import sqlalchemy as sa
from novalite import conf as novalite_conf
from novalite import concurrency
from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models
from novalite.scheduler import filter_scheduler
from novalite.scheduler import host_manager

HEARTBEAT_SECONDS = 20.0
conf = cfg.ConfigOpts()
novalite_conf.register_all(conf)
conf([], default_config_files=[])
db = db_api.Database(db_api.create_engine(URL))
migration.db_sync(db.engine)
spec = {"instance_uuids": ["00000000-0000-0000-0000-000000000001"],
        "instance_properties": {"memory_mb": 512, "vcpus": 1, "root_gb": 1,
                                "availability_zone": None,
                                "image_ref": None}}


def add_hosts(first, last):
    now = models.utcnow()
    names = ["decide-%05d" % index for index in range(first, last)]
    with db.engine.begin() as connection:
        connection.execute(sa.insert(models.services), [
            {"host": host, "binary": "novalite-compute", "topic": "compute",
             "report_count": 0, "disabled": False, "rpc_version": "1.1",
             "created_at": now, "deleted": 0} for host in names])
        connection.execute(sa.insert(models.compute_nodes), [
            {"host": host, "vcpus": SIZE["vcpus"], "vcpus_used": 0,
             "memory_mb": SIZE["memory_mb"], "memory_mb_used": 0,
             "local_gb": SIZE["local_gb"], "local_gb_used": 0,
             "free_ram_mb": SIZE["memory_mb"],
             "free_disk_gb": SIZE["local_gb"], "running_vms": 0,
             "hypervisor_type": "fake", "hypervisor_hostname": host,
             "cpu_info": "x86_64", "availability_zone": "nova",
             "created_at": now, "deleted": 0} for host in names])


def beat():
    with db.engine.begin() as connection:
        connection.execute(sa.update(models.services).values(
            updated_at=models.utcnow()))
    return time.monotonic()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def where(key):
    filename, line, name = key
    for marker in ("site-packages/", "/novalite/", "/lib/python"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return "%s (%s:%d)" % (name, filename, line)


def profile(scheduler):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILE_DECISIONS):
        scheduler.select_destinations(spec, {})
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    top = sorted(stats.items(), key=lambda item: -item[1][2])[:15]
    return {"total_ms": total / PROFILE_DECISIONS * 1e3,
            "calls": sum(entry[1] for entry in stats.values())
            / PROFILE_DECISIONS,
            "top": [[where(key), entry[1] / PROFILE_DECISIONS,
                     entry[2] / PROFILE_DECISIONS * 1e3,
                     entry[3] / PROFILE_DECISIONS * 1e3]
                    for key, entry in top]}


steps = []
profiled = None
have = 0
for count in HOSTS:
    add_hosts(have, count)
    have = count
    last_beat = beat()
    hosts = host_manager.HostManager(conf, db, concurrency.CLOCK)
    scheduler = filter_scheduler.FilterScheduler(conf, db, hosts)
    reading = []
    read_hosts = hosts.get_all_host_states

    def timed_read():
        started = time.perf_counter()
        try:
            return read_hosts()
        finally:
            reading.append(time.perf_counter() - started)

    hosts.get_all_host_states = timed_read
    started = time.perf_counter()
    scheduler.select_destinations(spec, {})
    cold = time.perf_counter() - started
    del reading[:]
    times = []
    begun = time.monotonic()
    while len(times) < DECISIONS and (
            len(times) < 20 or time.monotonic() - begun < SECONDS):
        if time.monotonic() - last_beat > HEARTBEAT_SECONDS:
            last_beat = beat()
        started = time.perf_counter()
        scheduler.select_destinations(spec, {})
        times.append(time.perf_counter() - started)
    p50 = statistics.median(times) * 1e3
    steps.append({"hosts": count, "decisions": len(times),
                  "cold_ms": cold * 1e3, "p50_ms": p50,
                  "p99_ms": percentile(times, 0.99) * 1e3,
                  "max_ms": max(times) * 1e3,
                  "read_p50_ms": statistics.median(reading) * 1e3})
    if count == PROFILE_HOSTS and (p50 > TARGET_MS or ALWAYS):
        hosts.get_all_host_states = read_hosts
        profiled = profile(scheduler)
db.dispose()
emit(steps=steps, profile=profiled)
'''

# ----------------------------------------------------------------------------
# CPU of the run's processes


class CpuSampler(threading.Thread):
    """CPU seconds (user + system, psutil) of the run's processes and of
    the PostgreSQL backends of its database, read every ``period`` s.

    The driver says when its boots began and ended, on the wall clock;
    ``between()`` then gives every process's CPU in that window, without
    the driver having to wait for the benchmark at each end. The backends
    are found in ``pg_stat_activity`` by database, and told apart by the
    ``application_name`` each daemon's connection URL sets; a backend that
    ends between two readings loses at most a period of its count.
    """

    def __init__(self, processes, admin_url=None, database=None,
                 period=SAMPLE_SECONDS):
        super().__init__(daemon=True)
        self._period = period
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._processes = {}  # key -> (label, psutil.Process, created)
        self._samples = collections.defaultdict(list)  # key -> [(t, cpu)]
        self.peak_backends = 0
        self.peak_by_kind = collections.Counter()
        self.denied = 0
        for label, pid in processes.items():
            self.add(label, pid)
        self._database = database
        self._admin = (sa.create_engine(admin_url, pool_size=1)
                       if admin_url and database else None)

    def add(self, label, pid, key=None):
        try:
            process = psutil.Process(pid)
            created = process.create_time()
        except psutil.Error:
            return
        with self._lock:
            self._processes[key or ("pid", pid)] = (label, process, created)

    def _backends(self):
        with self._admin.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT pid, application_name FROM pg_stat_activity "
                "WHERE datname = :name"), {"name": self._database}).all()
        self.peak_backends = max(self.peak_backends, len(rows))
        counts = collections.Counter(application for _, application in rows)
        for application, count in counts.items():
            label = BACKENDS.get(application, "other clients")
            self.peak_by_kind[label] = max(self.peak_by_kind[label], count)
        for pid, application in rows:
            if ("backend", pid) not in self._processes:
                self.add("postgres: %s" % (application or "other"), pid,
                         key=("backend", pid))

    def sample(self):
        if self._admin is not None:
            try:
                self._backends()
            except sa.exc.SQLAlchemyError:
                pass  # the next reading finds them
        now = time.time()
        with self._lock:
            processes = list(self._processes.items())
        for key, (_, process, _) in processes:
            try:
                times = process.cpu_times()
            except psutil.AccessDenied:
                self.denied += 1
                continue
            except psutil.Error:
                continue  # gone: its last reading stands
            self._samples[key].append((now, times.user + times.system))

    def run(self):
        self.sample()
        while not self._done.wait(self._period):
            self.sample()

    def stop(self):
        self._done.set()
        self.join()
        if self._admin is not None:
            self._admin.dispose()

    def _at(self, key, when):
        """CPU seconds of ``key`` at ``when``: interpolated between
        readings; 0 before a process was created."""
        samples = self._samples.get(key)
        created = self._processes[key][2]
        if not samples:
            return 0.0
        if when <= samples[0][0]:
            return 0.0 if created >= when else samples[0][1]
        if when >= samples[-1][0]:
            return samples[-1][1]
        for (before, cpu_before), (after, cpu_after) in zip(
                samples, samples[1:], strict=False):
            if before <= when <= after:
                return cpu_before + (cpu_after - cpu_before) * (
                    when - before) / ((after - before) or 1)
        return samples[-1][1]

    def between(self, start, end):
        """``{label: CPU seconds}`` from ``start`` to ``end`` (wall clock),
        the backends summed by label."""
        used = collections.defaultdict(float)
        with self._lock:
            processes = dict(self._processes)
        for key, (label, _, _) in processes.items():
            used[label] += max(0.0, self._at(key, end) - self._at(key, start))
        return dict(used)


def _broker_pid():
    """The RabbitMQ node's pid (beam.smp), if this machine runs it."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "beam.smp":
            return process.pid
    return None


# ----------------------------------------------------------------------------
# The deployment: a database, an ini per daemon, the daemons


class Database:
    """A PostgreSQL database of this run, migrated; dropped by drop()."""

    def __init__(self, name):
        self.name = name
        self.admin_url = fanin.PG_ADMIN % "postgres"
        self.url = fanin.PG_ADMIN % name
        self._admin = sa.create_engine(self.admin_url,
                                       isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE %s" % name))
        self.db = db_api.Database(db_api.create_engine(
            self.url_for("bench-setup")))
        try:
            migration.db_sync(self.db.engine)
        except Exception:
            self.drop()
            raise

    def url_for(self, application):
        """The URL with an ``application_name``, by which the backends of
        each kind of process are told apart."""
        return "%s?application_name=%s" % (self.url, application)

    def drop(self):
        self.db.dispose()
        with self._admin.connect() as connection:
            connection.execute(sa.text(
                "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name))
        self._admin.dispose()


def _postgresql_problem():
    """None if the local PostgreSQL answers, else why not."""
    engine = sa.create_engine(fanin.PG_ADMIN % "postgres")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return str(exc).splitlines()[0][:160]
    finally:
        engine.dispose()
    return None


def _names(part, run):
    """Exchange, topics and hosts of this run and part, in bench/rpc.py's
    shape so that its clean_broker() deletes them (the hosts' queues are
    added by _clean)."""
    names = bench_rpc._names()
    names.update(run=run, part=part, exchange="bench-%s-%s" % (part, run),
                 compute="bench_%s_compute_%s" % (part, run),
                 scheduler="bench_%s_scheduler_%s" % (part, run),
                 hosts=[], schedulers=[])
    return names


def _ini(names, workdir, host, url, size=None, **options):
    """bench/rpc.py's ini on this run's broker, with the database and, for
    a compute, the fake driver's pinned size."""
    text = bench_rpc._novalite_ini(names, workdir, host, **options)
    text += "[database]\nconnection = %s\n" % url
    if size:
        text += "[fake_driver]\n" + "".join(
            "%s = %s\n" % item for item in sorted(size.items()))
    return text


class Deployment:
    """Schedulers and computes of one part, started together; stop()
    stops every one that was started, in parallel."""

    def __init__(self, names, env=None):
        self.names = names
        self.env = env
        self.daemons = []
        self.computes = {}
        self.schedulers = {}

    def start(self, top, database, computes, size, schedulers=1, **options):
        names = self.names
        for index in range(schedulers):
            host = "%s-s%d-%s" % (names["part"], index, names["run"])
            names["schedulers"].append(host)
            self.schedulers[host] = self._start(
                top, host, SCHEDULER, names, database.url_for(
                    "bench-scheduler"), None, options)
        for index in range(computes):
            host = "%s-c%02d-%s" % (names["part"], index, names["run"])
            names["hosts"].append(host)
            self.computes[host] = self._start(
                top, host, COMPUTE, names, database.url_for("bench-compute"),
                size, options)

    def _start(self, top, host, argv, names, url, size, options):
        workdir = os.path.join(top, host)
        process = bench_rpc.Daemon(host, workdir, argv=argv, env=self.env,
                                   ini=_ini(names, workdir, host, url, size,
                                            **options))
        self.daemons.append(process)
        return process

    def wait_ready(self, db):
        """Every daemon said READY=1 and the database holds every compute's
        service row and audit: what the scheduler chooses from."""
        for process in self.daemons:
            process.wait_ready(READY_SECONDS)
        deadline = time.monotonic() + READY_SECONDS
        wanted = set(self.computes)
        while time.monotonic() < deadline:
            nodes = {row.host for row in db.compute_node_get_all()}
            services = {row.host for row in db.service_get_all()
                        if row.binary == "novalite-compute"}
            if wanted <= nodes & services:
                return
            time.sleep(0.2)
        raise RuntimeError("the computes' audits did not reach the database "
                           "within %d s" % READY_SECONDS)

    def pids(self):
        pids = {"scheduler" if len(self.schedulers) == 1 else host:
                process.process.pid
                for host, process in self.schedulers.items()}
        pids.update((host, process.process.pid)
                    for host, process in self.computes.items())
        return pids

    def log_problems(self):
        """Lines at ERROR or CRITICAL, and tracebacks, in every log."""
        return sum(process.log_count(" ERROR ") + process.log_count(
            " CRITICAL ") + process.log_count("Traceback")
            for process in self.daemons)

    def stop(self):
        with concurrent.futures.ThreadPoolExecutor(len(self.daemons) or 1) \
                as pool:
            list(pool.map(_stop_quietly, self.daemons))


def _stop_quietly(process):
    try:
        process.stop()
    except OSError:
        pass


def _clean(report, names):
    for host in names["hosts"] + names["schedulers"]:
        names["queues"].update("%s.%s" % (topic, host) for topic in
                               (names["compute"], names["scheduler"]))
    try:
        left = bench_rpc.clean_broker(names)
    except Exception as exc:  # the broker went away meanwhile
        report.add("- broker clean-up failed: %s" % exc, "")
        return
    bench_rpc._report_clean_up(report, left)


def _driver_ini(top, names, database):
    path = os.path.join(top, "driver.conf")
    with open(path, "w") as handle:
        handle.write(_ini(names, os.path.join(top, "driver"), None,
                          database.url_for("bench-driver")))
    return path


def _drive(ini, mode, count, prefix, sampler=None, **params):
    """Run the driver program; its figures. With a sampler, the driver's
    own CPU is read with the daemons'."""
    process = harness.start(_DRIVER, INI=ini, MODE=mode, COUNT=count,
                            PREFIX=prefix, FLAVOR=FLAVOR,
                            BOOT_SECONDS=BOOT_SECONDS, **params)
    if sampler is not None:
        sampler.add("driver", process.pid)
    return harness.finish(process, BOOT_SECONDS + count * 5 + 120)


# ----------------------------------------------------------------------------
# 1. Boots: request to ACTIVE

def measure_boots(report, top, run, threads=False):
    """The boots part; with ``threads``, every daemon on native threads
    (NOVALITE_BACKEND=threading), reported in one line beside eventlet's."""
    part = "threads" if threads else "boots"
    names = _names(part, run)
    deployment = Deployment(names, {"NOVALITE_BACKEND": "threading"}
                            if threads else None)
    database = None
    figures = None
    try:
        database = Database("novalite_bench_%s_%s" % (part, run))
        deployment.start(top, database, COMPUTES, COMPUTE_SIZE)
        deployment.wait_ready(database.db)
        watched = deployment.pids()
        broker = _broker_pid()
        if broker is not None:
            watched["rabbitmq"] = broker
        sampler = CpuSampler(watched, database.admin_url, database.name)
        sampler.start()
        try:
            idle = (time.time(), time.time() + IDLE_SECONDS)
            time.sleep(IDLE_SECONDS)
            ini = _driver_ini(top, names, database)
            # One boot per compute first (the RAM weigher spreads them):
            # every daemon's first boot (connections, lazy imports) is not
            # the figure.
            warm = _drive(ini, "boots", COMPUTES, "warm",
                          CONCURRENCY=CONCURRENCY, POLL=POLL_SECONDS)
            if "error" in warm:
                raise RuntimeError("the warm-up failed: %s" % warm["error"])
            result = _drive(ini, "boots", BOOTS, "boot", sampler,
                            CONCURRENCY=CONCURRENCY, POLL=POLL_SECONDS)
            time.sleep(2 * SAMPLE_SECONDS)  # a reading after the window
        finally:
            sampler.stop()
        if "error" in result:
            raise RuntimeError("the driver failed: %s" % result["error"])
        figures = _boot_figures(result, sampler, idle, deployment)
        if threads:
            _report_threaded_boots(report, figures,
                                   deployment.log_problems())
        else:
            _report_boots(report, figures, deployment.log_problems())
    except RuntimeError as exc:
        report.add("- boots%s: stopped: %s" % (
            " on native threads" if threads else "", exc), "")
    finally:
        deployment.stop()
        if database is not None:
            database.drop()
        _clean(report, names)
    return figures


def _percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _boot_figures(result, sampler, idle, deployment):
    done = result["done"]
    active = [boot for boot in done if boot["state"] == "active"]
    polled = [boot["polled_s"] * 1e3 for boot in active]
    launched = [boot["launched_s"] * 1e3 for boot in active
                if boot["launched_s"] is not None]
    window = result["window"]
    used = sampler.between(*window)
    idle_used = sampler.between(*idle)
    per_host = collections.Counter(boot["host"] for boot in active)
    computes = {host: used.get(host, 0.0) for host in deployment.computes}
    return {
        "boots": len(done), "active": len(active),
        "error": len(done) - len(active), "given_up": result["given_up"],
        "polled_ms": polled, "launched_ms": launched,
        "p50_ms": _percentile(polled, 0.5), "p99_ms": _percentile(polled,
                                                                 0.99),
        "launched_p50_ms": _percentile(launched, 0.5),
        "launched_p99_ms": _percentile(launched, 0.99),
        "rate": len(active) / result["seconds"] if result["seconds"] else None,
        "seconds": result["seconds"],
        "window_s": window[1] - window[0],
        "created_ms": statistics.median(result["created_s"]) * 1e3,
        "gap_p99_ms": (_percentile(result["gaps_s"], 0.99) or 0) * 1e3,
        "gap_max_ms": max(result["gaps_s"], default=0) * 1e3,
        "query_p99_ms": (_percentile(result["queries_s"], 0.99) or 0) * 1e3,
        "used": used, "computes": computes, "per_host": per_host,
        "idle_per_s": sum(value for label, value in idle_used.items()
                          if label in deployment.pids()) / IDLE_SECONDS,
        "peak_backends": sampler.peak_backends,
        "peak_by_kind": sampler.peak_by_kind, "denied": sampler.denied,
    }


def _report_threaded_boots(report, figures, problems):
    report.add("- boots on native threads (NOVALITE_BACKEND=threading for "
               "the scheduler and every compute; the same boots, client and "
               "database): p50 request to ACTIVE %s ms, p99 %s ms, %s boots/s"
               ", %d ERROR, %d ERROR lines or tracebacks in the logs; no "
               "target (side by side with the table above)" % (
                   harness.fmt(figures["p50_ms"]),
                   harness.fmt(figures["p99_ms"]),
                   harness.fmt(figures["rate"]), figures["error"], problems))
    report.add("")


def _report_boots(report, figures, problems):
    report.add("### 1. Request to ACTIVE: %d boots of %s, at most %d "
               "outstanding, %d computes and 1 scheduler"
               % (BOOTS, FLAVOR, CONCURRENCY, COMPUTES), "")
    report.add(
        "novalite-scheduler and %d novalite-compute daemons (the fake "
        "driver pinned to %d vCPUs, %d MiB, %d GiB: 48 %s each at the "
        "default ram_allocation_ratio of 1.5), every interval at its "
        "default, on the local RabbitMQ and a PostgreSQL database of the "
        "run. One client, in its own monkey-patched interpreter, makes each "
        "boot as novalite-manage instance boot does (the row, by "
        "InstanceCommands._create; then SchedulerAPI.run_instance) and casts "
        "a new one as soon as one of its %d finishes; %d boots first, one "
        "per compute, are not counted. Latency: from just before the cast "
        "to the poll that finds the row ACTIVE; the client polls the rows "
        "of every outstanding boot with one query (instance_get_all_by_uuids)"
        " %g ms after the previous poll began. A figure is therefore late by "
        "at most the gap between two polls plus one query: gaps p99 %.1f ms "
        "(max %.1f, longer while new boots are cast), query p99 %.1f ms. "
        "The launched_at figures need no polling: the compute's own time "
        "stamp as it makes the row ACTIVE, minus the client's at the cast "
        "(one machine, one clock). Writing the row before the cast took "
        "%.1f ms (median), not counted."
        % (COMPUTES, COMPUTE_SIZE["vcpus"], COMPUTE_SIZE["memory_mb"],
           COMPUTE_SIZE["local_gb"], FLAVOR, CONCURRENCY, COMPUTES,
           POLL_SECONDS * 1e3, figures["gap_p99_ms"], figures["gap_max_ms"],
           figures["query_p99_ms"], figures["created_ms"]), "")
    report.table(
        ["boots", "ACTIVE", "ERROR", "given up after %g s" % BOOT_SECONDS,
         "p50 ms", "p99 ms", "max ms", "launched_at p50 ms",
         "launched_at p99 ms", "boots/s"],
        [[figures["boots"], figures["active"], figures["error"],
          figures["given_up"], figures["p50_ms"], figures["p99_ms"],
          max(figures["polled_ms"], default=None),
          figures["launched_p50_ms"], figures["launched_p99_ms"],
          figures["rate"]]])
    boots = figures["active"] or None
    used = figures["used"]
    rows = []

    def row(label, seconds, note=""):
        rows.append([label, seconds, seconds / boots * 1e3 if boots
                     else None, note])

    row("novalite-scheduler", used.get("scheduler", 0.0))
    computes = figures["computes"]
    row("novalite-compute, all %d" % len(computes), sum(computes.values()))
    per_boot = sorted(seconds / figures["per_host"][host] * 1e3
                      for host, seconds in computes.items()
                      if figures["per_host"].get(host))
    built = sorted(figures["per_host"].values())
    if per_boot:
        rows.append(["novalite-compute, each (CPU per boot it built)", None,
                     statistics.median(per_boot),
                     "range %.3g-%.3g ms; %d-%d boots each"
                     % (per_boot[0], per_boot[-1], built[0], built[-1])])
    for label in sorted(used):
        if label.startswith("postgres: "):
            row("PostgreSQL backends of %s" % BACKENDS.get(
                label.split(": ", 1)[1], "other clients"), used[label])
    row("the client (rows, casts, polls)", used.get("driver", 0.0),
        "polls every %g ms" % (POLL_SECONDS * 1e3))
    if "rabbitmq" in used:
        row("RabbitMQ node", used["rabbitmq"], "the whole broker: other "
            "users' traffic included")
    report.add(
        "CPU (psutil, user + system) from the first row written to the last "
        "boot seen, %.1f s; the same daemons idle cost %.3g CPU s a second "
        "together (their timers and heartbeats: %.2g s of the window). "
        "PostgreSQL backends by the application_name of each kind's "
        "connection URL; %d backends of the database at most (%s: each "
        "kind's most)."
        % (figures["window_s"], figures["idle_per_s"],
           figures["idle_per_s"] * figures["window_s"],
           figures["peak_backends"], ", ".join(
               "%s %d" % item for item in sorted(
                   figures["peak_by_kind"].items()))), "")
    report.table(["process", "CPU s", "CPU ms per boot", ""], rows)
    if figures["denied"]:
        report.add("(%d readings refused by the system: some backends are "
                   "not counted)" % figures["denied"], "")
    report.add("Log lines at ERROR or CRITICAL, and tracebacks, in the "
               "daemons' logs: %d." % problems, "")
    report.add("- boots p50 request to ACTIVE: %s ms (launched_at: %s ms); "
               "target at most %g ms: %s" % (
                   harness.fmt(figures["p50_ms"]),
                   harness.fmt(figures["launched_p50_ms"]), P50_TARGET_MS,
                   harness.verdict(figures["p50_ms"], P50_TARGET_MS)))
    report.add("- boots p99 request to ACTIVE: %s ms (launched_at: %s ms); "
               "target at most %g ms: %s" % (
                   harness.fmt(figures["p99_ms"]),
                   harness.fmt(figures["launched_p99_ms"]), P99_TARGET_MS,
                   harness.verdict(figures["p99_ms"], P99_TARGET_MS)))
    rate = figures["rate"]
    report.add("- boots sustained: %s boots/s over %d computes (%d ERROR, %d "
               "given up); target at least %g: %s" % (
                   harness.fmt(rate), COMPUTES, figures["error"],
                   figures["given_up"], RATE_TARGET, "not measured"
                   if rate is None else "met" if rate >= RATE_TARGET
                   and not figures["error"] and not figures["given_up"]
                   else "MISSED"))
    report.add("")


# ----------------------------------------------------------------------------
# 2. The scheduler's decision

def measure_decisions(report, run, postgresql):
    report.add("### 2. select_destinations: decision time against hosts", "")
    report.add(
        "FilterScheduler.select_destinations for one %s, in one process "
        "(monkey-patched, as novalite-scheduler), on a HostManager and a "
        "FilterScheduler of a fresh ConfigOpts with every default (six "
        "filters, the RAM weigher). Each host is a service row and a "
        "compute_nodes row (%d vCPUs, %d MiB, %d GiB), written in bulk; "
        "the heartbeats are refreshed outside the timed calls. Each decision"
        " reads every service and compute node (HostManager."
        "get_all_host_states: the 'reading' column), filters, weighs and "
        "consumes the chosen host in memory. Up to %d decisions a step (at "
        "least 20, at most %g s); the first decision of a step builds "
        "every HostState and is reported apart (cold)."
        % (FLAVOR, DECISION_SIZE["vcpus"], DECISION_SIZE["memory_mb"],
           DECISION_SIZE["local_gb"], DECISIONS, DECISION_SECONDS), "")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-boots-") as top:
        results["SQLite"] = _decide("sqlite:///%s" % os.path.join(
            top, "decide.sqlite"))
    if postgresql:
        results["PostgreSQL"] = _decide_on_postgresql(run, "pg8000")
        if _has_psycopg2():
            results["PostgreSQL, psycopg2"] = _decide_on_postgresql(
                run, "psycopg2")
    rows = []
    for backend, result in results.items():
        if "error" in result:
            report.add("- decisions on %s failed: %s"
                       % (backend, result["error"]))
            continue
        for step in result["steps"]:
            rows.append([backend, "{:,}".format(step["hosts"]),
                         step["decisions"], step["cold_ms"], step["p50_ms"],
                         step["p99_ms"], step["max_ms"],
                         step["read_p50_ms"]])
    report.table(["database", "hosts", "decisions", "cold ms", "p50 ms",
                  "p99 ms", "max ms", "reading p50 ms"], rows)
    for backend, result in results.items():
        if "error" not in result:
            _report_decisions(report, backend, result)
    report.add("")
    return results


def _decide_on_postgresql(run, driver):
    """``_decide`` on a database of its own, reached through ``driver``."""
    database = "novalite_bench_boots_%s_decide_%s" % (run, driver)
    admin = sa.create_engine(fanin.PG_ADMIN % "postgres",
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE %s" % database))
        return _decide((fanin.PG_ADMIN % database).replace(
            "+pg8000", "+" + driver))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(
                "DROP DATABASE IF EXISTS %s WITH (FORCE)" % database))
        admin.dispose()


def _has_psycopg2():
    """psycopg2 decodes rows in C: beside pg8000 (pure Python, the
    product's driver) it shows how much of a decision is the driver's."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return False
    return True


def _decide(url):
    return harness.run(
        _DECISIONS, timeout=600 + 3 * DECISION_SECONDS * len(DECISION_HOSTS),
        URL=url, HOSTS=sorted(DECISION_HOSTS), SIZE=DECISION_SIZE,
        DECISIONS=DECISIONS, SECONDS=DECISION_SECONDS,
        PROFILE_HOSTS=DECISION_TARGET_HOSTS, TARGET_MS=DECISION_TARGET_MS,
        ALWAYS=ALWAYS_PROFILE, PROFILE_DECISIONS=PROFILE_DECISIONS)


def growth(steps):
    """``[(hosts, hosts', exponent)]``: p50 ~ hosts^exponent between
    consecutive steps (1 is linear)."""
    return [(a["hosts"], b["hosts"],
             math.log(b["p50_ms"] / a["p50_ms"])
             / math.log(b["hosts"] / a["hosts"]))
            for a, b in zip(steps, steps[1:], strict=False)
            if a["p50_ms"] > 0 and b["hosts"] > a["hosts"]]


def _report_decisions(report, backend, result):
    steps = result["steps"]
    at_target = [step for step in steps
                 if step["hosts"] == DECISION_TARGET_HOSTS]
    p50 = at_target[0]["p50_ms"] if at_target else None
    report.add("- decision p50 at {:,} hosts on {}: {} ms; target at most "
               "{:g} ms: {}".format(DECISION_TARGET_HOSTS, backend,
                                    harness.fmt(p50), DECISION_TARGET_MS,
                                    harness.verdict(p50, DECISION_TARGET_MS)))
    exponents = growth(steps)
    if exponents:
        worst = max(exponent for _, _, exponent in exponents)
        report.add("- decision growth on %s: p50 ~ hosts^k with k = %s; "
                   "target at most linear (k at most %g, for noise): %s" % (
                       backend, ", ".join(
                           "{:.2f} ({:,} to {:,})".format(k, a, b)
                           for a, b, k in exponents), GROWTH_TARGET,
                       harness.verdict(worst, GROWTH_TARGET)))
    profile = result.get("profile")
    if profile:
        report.add("", "Where a decision at {:,} hosts on {} goes (cProfile, "
                   "{} decisions; {:.1f} ms and {:,.0f} Python calls per "
                   "decision under the profiler, which slows calls down; "
                   "own time, the 15 largest):".format(
                       DECISION_TARGET_HOSTS, backend, PROFILE_DECISIONS,
                       profile["total_ms"], profile["calls"]), "")
        report.table(["function", "calls per decision", "own ms",
                      "cumulative ms"], profile["top"])


# ----------------------------------------------------------------------------
# 3. Two schedulers racing for the last room

def measure_race(report, top, run):
    names = _names("race", run)
    deployment = Deployment(names)
    database = None
    figures = None
    report.add("### 3. Two schedulers racing: %d boots for %d hosts' room "
               "of %d" % (RACE_BOOTS, RACE_HOSTS, RACE_HOSTS * 4), "")
    try:
        database = Database("novalite_bench_boots_%s_race" % run)
        deployment.start(top, database, RACE_HOSTS, RACE_SIZE,
                         schedulers=RACE_SCHEDULERS,
                         ram_allocation_ratio=RACE_RAM_RATIO)
        deployment.wait_ready(database.db)
        ini = _driver_ini(top, names, database)
        result = _drive(ini, "race", RACE_BOOTS, "race",
                        SERVERS=list(deployment.schedulers),
                        POLL=RACE_POLL_SECONDS)
        if "error" in result:
            raise RuntimeError("the driver failed: %s" % result["error"])
        figures = _race_figures(database.db, result)
        _report_race(report, figures, deployment.log_problems())
    except RuntimeError as exc:
        report.add("- race: stopped: %s" % exc, "")
    finally:
        deployment.stop()
        if database is not None:
            database.drop()
        _clean(report, names)
    return figures


def _race_figures(db, result):
    """Per host, what its ACTIVE instances take against its totals times
    the allocation ratios (the race's: RAM 1.0, vCPUs and disk at their
    defaults); the faults, by kind."""
    ratios = {"memory_mb": RACE_RAM_RATIO,
              "vcpus": novalite_conf.CONF.cpu_allocation_ratio,
              "root_gb": novalite_conf.CONF.disk_allocation_ratio}
    totals = {row.host: {"memory_mb": row.memory_mb, "vcpus": row.vcpus,
                         "root_gb": row.local_gb}
              for row in db.compute_node_get_all()}
    used = collections.defaultdict(lambda: collections.Counter())
    states = collections.Counter()
    for instance in db.instance_get_all():
        states[instance.vm_state] += 1
        if instance.vm_state == "active" and instance.host:
            for key in ratios:
                used[instance.host][key] += getattr(instance, key)
            used[instance.host]["instances"] += 1
    over = collections.Counter()
    hosts_over = set()
    for host, taken in used.items():
        for key, ratio in ratios.items():
            if taken[key] > totals[host][key] * ratio:
                over[key] += 1
                hosts_over.add(host)
    faults = collections.Counter()
    with db.engine.connect() as connection:
        for message, in connection.execute(sa.select(
                models.instance_faults.c.message)):
            if message.startswith("Insufficient compute resources"):
                faults["claim refused"] += 1
            elif message.startswith("Exceeded maximum number of retries"):
                faults["retries exhausted"] += 1
            elif message.startswith("No valid host"):
                faults["no valid host"] += 1
            else:
                faults["other"] += 1
    per_host = sorted(taken["instances"] for taken in used.values())
    return {"states": states, "over": over, "hosts_over": len(hosts_over),
            "faults": faults, "most": per_host[-1] if per_host else 0,
            "full": sum(1 for count in per_host if count >= 4),
            "result": result}


def _report_race(report, figures, problems):
    result = figures["result"]
    states, faults = figures["states"], figures["faults"]
    report.add(
        "Two novalite-schedulers and %d novalite-computes (fake driver: %d "
        "vCPUs, %d MiB, %d GiB) with ram_allocation_ratio = %g on every "
        "daemon, so that each host takes 4 %s and %d fit in all. The client "
        "writes the %d rows, then casts them all (%.2f s) alternately to "
        "each scheduler's own queue (scheduler_topic.<host>): both decide "
        "at once, each from its own memory of what it placed plus the "
        "compute_nodes rows. A compute refuses a claim that does not fit "
        "and sends the boot back (scheduler_max_attempts = 3). Every boot "
        "finished within %.1f s of the first cast (%d unfinished). Over "
        "capacity: the ACTIVE instances of a host take more RAM, vCPUs or "
        "disk than its total times the ratio."
        % (RACE_HOSTS, RACE_SIZE["vcpus"], RACE_SIZE["memory_mb"],
           RACE_SIZE["local_gb"], RACE_RAM_RATIO, FLAVOR, RACE_HOSTS * 4,
           RACE_BOOTS, result["cast_seconds"], result["seconds"],
           result["unfinished"]), "")
    report.table(
        ["boots", "ACTIVE", "ERROR", "hosts full (4)", "most on a host",
         "claims refused (sent back)", "ERROR: no valid host",
         "ERROR: retries exhausted", "other faults", "hosts over capacity "
         "(RAM / vCPUs / disk)"],
        [[RACE_BOOTS, states.get("active", 0), states.get("error", 0),
          figures["full"], figures["most"], faults.get("claim refused", 0),
          faults.get("no valid host", 0), faults.get("retries exhausted", 0),
          faults.get("other", 0), "%d (%d / %d / %d)" % (figures["hosts_over"],
                                 figures["over"].get("memory_mb", 0),
                                 figures["over"].get("vcpus", 0),
                                 figures["over"].get("root_gb", 0))]])
    report.add("Log lines at ERROR or CRITICAL, and tracebacks, in the "
               "daemons' logs: %d (a refused claim is logged at WARNING, a "
               "boot no host can take at ERROR by the compute that gave up "
               "or WARNING by the scheduler)." % problems, "")
    report.add("- race: %d hosts over capacity after %d boots from 2 "
               "schedulers (%d ACTIVE of %d that fit, %d ERROR); target "
               "none: %s" % (
                   figures["hosts_over"], RACE_BOOTS, states.get("active", 0),
                   RACE_HOSTS * 4, states.get("error", 0),
                   "met" if figures["hosts_over"] == 0 else "MISSED"))
    report.add("")


# ----------------------------------------------------------------------------

def _draw(boots, decisions):
    def draw(figure):
        from matplotlib import ticker  # harness.plot imported matplotlib
        plain = ticker.FuncFormatter(lambda value, _: "%g" % value)
        left = figure.add_subplot(1, 2, 1)
        if boots and boots["polled_ms"]:
            for values, label, style in (
                    (boots["polled_ms"], "polled (%g ms)" % (
                        POLL_SECONDS * 1e3), "-"),
                    (boots["launched_ms"], "launched_at", "--")):
                ordered = sorted(values)
                left.step(ordered, [(i + 1) / len(ordered)
                                    for i in range(len(ordered))],
                          style, where="post", label=label)
            for target in (P50_TARGET_MS, P99_TARGET_MS):
                left.axvline(target, color="grey", linewidth=0.8, ls=":")
            left.set_xscale("log")
            left.legend(loc="lower right", fontsize=8)
        left.set_xlabel("cast to ACTIVE, ms (targets: p50 250, p99 1000)")
        left.set_ylabel("fraction of boots")
        left.set_title("%d boots, %d outstanding, %d computes"
                       % (BOOTS, CONCURRENCY, COMPUTES), fontsize=10)
        right = figure.add_subplot(1, 2, 2)
        for backend, result in (decisions or {}).items():
            if "error" in result or not result["steps"]:
                continue
            steps = result["steps"]
            hosts = [step["hosts"] for step in steps]
            line, = right.plot(hosts, [step["p50_ms"] for step in steps],
                               "o-", label="%s p50" % backend)
            right.plot(hosts, [step["p99_ms"] for step in steps], "s--",
                       color=line.get_color(), label="%s p99" % backend)
            right.plot(hosts, [steps[0]["p50_ms"] * n / hosts[0]
                               for n in hosts], ":", color=line.get_color(),
                       linewidth=0.8, label="%s linear from p50" % backend)
        right.axhline(DECISION_TARGET_MS, color="grey", linewidth=0.8,
                      ls=":")
        right.set_xscale("log")
        right.set_yscale("log")
        for axis in (left.xaxis, right.xaxis, right.yaxis):
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(ticker.NullFormatter())
        right.set_xlabel("hosts")
        right.set_ylabel("select_destinations, ms (target 20 at 1,000)")
        right.set_title("one decision", fontsize=10)
        right.legend(fontsize=7)
    return draw


def main():
    report = harness.Report("Boots: request to ACTIVE, the scheduler's "
                            "decision, two schedulers racing (issue 13)")
    broker = bench_rpc._broker_problem()
    database = _postgresql_problem()
    run = bench_rpc._names()["run"]
    daemons = "boots" in PARTS or "race" in PARTS
    if daemons and (broker or database):
        report.add("Skipped, the boots and the race: %s." % "; ".join(
            problem for problem in (
                broker and "the RabbitMQ broker at %s does not answer (%s)"
                % (bench_rpc.BROKER["host"], broker),
                database and "PostgreSQL does not answer (%s)" % database)
            if problem), "")
    boots = decisions = None
    with tempfile.TemporaryDirectory(prefix="bench-boots-") as top:
        if "boots" in PARTS and not (broker or database):
            boots = measure_boots(report, top, run)
            measure_boots(report, top, run, threads=True)
        if "decisions" in PARTS:
            decisions = measure_decisions(report, run, database is None)
        if "race" in PARTS and not (broker or database):
            measure_race(report, top, run)
    if boots or decisions:
        report.plot("boots", _draw(boots, decisions), size=(11, 4.2),
                    caption="boot latency and decision time")
    return report


if __name__ == "__main__":
    main()
