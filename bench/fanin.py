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

"""Heartbeat fan-in: how many compute services one database keeps up with.

N simulated services, each with its service row and compute node (the
fake driver's pinned resources), beat every INTERVAL s with novalite's own
heartbeat write (Database.service_heartbeat), each at its host's phase of
the interval (service.host_phase), as the daemon does. The lateness of a
beat is the time from its slot to its commit. N passes when every beat
after the warm-up lands within the interval; N steps up until one fails.

A real deployment has one process and one connection per host; 2,000
processes do not fit on this machine, nor 2,000 connections in a default
PostgreSQL (max_connections = 100). The services are shared out over
WORKERS processes of THREADS threads, each thread with a connection of
its own, beating its hosts in slot order: a thread that cannot keep up
makes every later beat of its hosts late, which the measure sees.

Usage: python -m bench.fanin   (environment: BENCH_FANIN_N
(100,250,500,1000,1500,2000), BENCH_FANIN_ROUNDS (12))
"""

import os
import tempfile
import time

import sqlalchemy as sa

from bench import harness
from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models

INTERVAL = 1.0
WARMUP_ROUNDS = 2
ROUNDS = int(os.environ.get("BENCH_FANIN_ROUNDS", "12"))
STEPS = [int(n) for n in os.environ.get(
    "BENCH_FANIN_N", "100,250,500,1000,1500,2000").split(",")]
WORKERS = 4
THREADS = 8
BINARY = "novalite-compute"
PG_ADMIN = "postgresql+pg8000://postgres@127.0.0.1:5432/%s"
PG_DATABASE = "novalite_bench_fanin"

_WORKER = '''
import statistics, threading
from novalite.db import api as db_api
from novalite import service

db = db_api.Database(db_api.create_engine(URL, max_pool_size=THREADS,
                                          pool_timeout=60))
late = []

def lane(hosts):
    schedule = sorted((service.host_phase(host, BINARY) * INTERVAL, sid)
                      for host, sid in hosts)
    mine = []
    for round_ in range(ROUNDS):
        for offset, service_id in schedule:
            slot = START + round_ * INTERVAL + offset
            wait = slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            db.service_heartbeat(service_id)
            if round_ >= WARMUP_ROUNDS:
                mine.append(time.monotonic() - slot)
    late.extend(mine)

threads = [threading.Thread(target=lane, args=(HOSTS[i::THREADS],))
           for i in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
late.sort()
emit(beats=len(late), max_late_s=late[-1] if late else None,
     p99_late_s=late[int(len(late) * 0.99) - 1] if late else None,
     over=sum(1 for x in late if x > INTERVAL))
'''


def _create_hosts(db, count):
    """N services with their compute nodes; [(host, service id)]."""
    hosts = []
    for index in range(count):
        host = "fanin-%04d" % index
        service_id = db.service_get_or_create(host, BINARY, "compute").id
        db.compute_node_save(host, vcpus=8, memory_mb=16384, local_gb=100,
                             vcpus_used=0, memory_mb_used=0, local_gb_used=0,
                             free_ram_mb=16384, free_disk_gb=100,
                             running_vms=0, hypervisor_type="fake",
                             hypervisor_hostname=host, cpu_info="x86_64")
        hosts.append((host, service_id))
    return hosts


def _report_count(db):
    with db.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.sum(
            models.services.c.report_count))).scalar() or 0


def one_step(url, db, hosts):
    """Run len(hosts) services for ROUNDS rounds; figures of the step."""
    before = _report_count(db)
    start = time.monotonic() + 3.0  # time for the workers to import
    processes = [harness.start(
        _WORKER, URL=url, HOSTS=hosts[index::WORKERS], THREADS=THREADS,
        BINARY=BINARY, INTERVAL=INTERVAL, ROUNDS=ROUNDS,
        WARMUP_ROUNDS=WARMUP_ROUNDS, START=start)
        for index in range(WORKERS)]
    results = [harness.finish(p, ROUNDS * INTERVAL + 120) for p in processes]
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"error": errors[0]}
    landed = _report_count(db) - before
    return {"beats": sum(r["beats"] for r in results),
            "max_late_s": max(r["max_late_s"] for r in results),
            "p99_late_s": max(r["p99_late_s"] for r in results),
            "over": sum(r["over"] for r in results),
            "lost": len(hosts) * ROUNDS - landed}


def sweep(url):
    """Step N up until a step fails; rows for the table."""
    engine = db_api.create_engine(url)
    migration.db_sync(engine)
    db = db_api.Database(engine)
    rows = []
    hosts = []
    try:
        for count in STEPS:
            hosts += _create_hosts(db, count - len(hosts))
            figures = one_step(url, db, hosts)
            if "error" in figures:
                rows.append([count, None, None, None, None, "failed: "
                             + figures["error"]])
                break
            kept_up = figures["over"] == 0 and figures["lost"] == 0
            rows.append([count, figures["beats"],
                         figures["p99_late_s"] * 1e3,
                         figures["max_late_s"] * 1e3, figures["lost"],
                         "yes" if kept_up else "no (%d late)"
                         % figures["over"]])
            if not kept_up:
                break
    finally:
        db.dispose()
    return rows


def _postgresql():
    """A fresh database on the local PostgreSQL; (url, drop) or a reason."""
    try:
        admin = sa.create_engine(PG_ADMIN % "postgres",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(
                "DROP DATABASE IF EXISTS %s WITH (FORCE)" % PG_DATABASE))
            connection.execute(sa.text("CREATE DATABASE %s" % PG_DATABASE))
    except Exception as exc:
        return None, "PostgreSQL is not reachable: %s" % str(exc)[:120]

    def drop():
        with admin.connect() as connection:
            connection.execute(sa.text(
                "DROP DATABASE IF EXISTS %s WITH (FORCE)" % PG_DATABASE))
        admin.dispose()
    return (PG_ADMIN % PG_DATABASE, drop), None


def largest(rows):
    passed = [row[0] for row in rows if row[-1] == "yes"]
    return max(passed) if passed else 0


def main():
    report = harness.Report("Heartbeat fan-in: services reporting every %g s"
                            % INTERVAL)
    report.add("%d processes of %d threads share the services; %d rounds, "
               "the first %d not counted. A step passes when every beat "
               "lands within %g s of its slot and none is lost."
               % (WORKERS, THREADS, ROUNDS, WARMUP_ROUNDS, INTERVAL), "")
    headers = ["services", "beats", "p99 late ms", "max late ms", "lost",
               "all within interval"]
    best = {}
    with tempfile.TemporaryDirectory() as workdir:
        report.add("### SQLite (the embedded default)", "")
        rows = sweep("sqlite:///%s" % os.path.join(workdir, "fanin.sqlite"))
        report.table(headers, rows)
        best["SQLite"] = largest(rows)
    report.add("### PostgreSQL (local, synchronous_commit on)", "")
    database, reason = _postgresql()
    if database is None:
        report.add("Not measured: %s" % reason, "")
    else:
        url, drop = database
        try:
            rows = sweep(url)
        finally:
            drop()
        report.table(headers, rows)
        best["PostgreSQL"] = largest(rows)
    for kind, count in best.items():
        line = "- fan-in, %s: %d services kept up (largest step tried %d)" % (
            kind, count, STEPS[-1])
        if kind == "PostgreSQL":
            line += "; target at least 1000: %s" % (
                "met" if count >= 1000 else "MISSED")
        report.add(line)
    report.add("")
    return report


if __name__ == "__main__":
    main()
