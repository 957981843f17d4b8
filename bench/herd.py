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
"""Thundering herd: 100 compute services started at the same moment.

All services run in one process on one SQLite database (the fake driver,
pinned resources); every database write is time-stamped. Two ways to
start them:

  novalite  heartbeat and first tick at each host's own phase (a hash
            of its name) of report_interval and periodic_fuzzy_delay
  nova      the first heartbeat one report_interval after start, in step
            on every host, and the first tick after random.uniform(0,
            periodic_fuzzy_delay)

Writes: python -m bench.herd  -> a table, bench/results/herd.png
Environment: BENCH_HOSTS (100), BENCH_SECONDS (30).
"""

import collections
import os
import random
import tempfile
import time

from novalite import monkey_patch  # noqa: F401  (before anything else)

import eventlet  # noqa: E402

from bench import harness  # noqa: E402
from novalite import conf  # noqa: E402
from novalite.db import api as db_api  # noqa: E402
from novalite.db import migration  # noqa: E402
from novalite import service  # noqa: E402

HOSTS = int(os.environ.get("BENCH_HOSTS", "100"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
REPORT_INTERVAL = 2.0
PERIODIC_INTERVAL = 10.0
FUZZY_DELAY = 10.0

WRITES = []
_original_write = db_api.Database._write


def _timed_write(self, statement):
    WRITES.append(time.monotonic())
    return _original_write(self, statement)


class NovaStyleService(service.Service):
    """nova's start-up: heartbeats in step, a random first tick."""

    @property
    def phase(self):
        return self._random_phase

    def _heartbeat_delay(self):
        return self.report_interval


def run(service_class, url):
    del WRITES[:]
    db = db_api.Database(db_api.create_engine(url))
    services = []
    for index in range(HOSTS):
        server = service_class(
            "compute-%03d" % index, "novalite-compute", "compute",
            "novalite.compute.manager.ComputeManager", REPORT_INTERVAL, True,
            PERIODIC_INTERVAL, FUZZY_DELAY, db=db)
        server._random_phase = random.random()
        services.append(server)
    for server in services:
        server.start()
    start = time.monotonic()  # the start-up writes themselves not counted
    eventlet.sleep(SECONDS)
    for server in services:
        server.stop(graceful_timeout=1)
    db.dispose()
    return [t - start for t in WRITES if 0 <= t - start <= SECONDS]


BUCKET = 0.1


def per_bucket(times):
    """Writes per BUCKET seconds, as a rate per second."""
    counts = collections.Counter(int(t / BUCKET) for t in times)
    return [counts.get(index, 0) / BUCKET
            for index in range(int(SECONDS / BUCKET))]


def main():
    conf.CONF([], project="novalite", default_config_files=[])
    conf.CONF.set_override("vcpus", 8, group="fake_driver")
    conf.CONF.set_override("memory_mb", 16384, group="fake_driver")
    conf.CONF.set_override("local_gb", 100, group="fake_driver")
    db_api.Database._write = _timed_write
    figures = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, service_class in (("novalite", service.Service),
                                    ("nova", NovaStyleService)):
            url = "sqlite:///%s" % os.path.join(workdir, name + ".sqlite")
            migration.prepare(db_api.create_engine(url))
            conf.CONF.set_override("instances_path",
                                   os.path.join(workdir, name))
            figures[name] = per_bucket(run(service_class, url))
    rows = [[name, max(counts), sum(counts) / len(counts),
             sorted(counts)[int(len(counts) * 0.99)]]
            for name, counts in figures.items()]
    report = harness.Report("Thundering herd: %d services started together, "
                            "%g s" % (HOSTS, SECONDS))
    report.add("One process, one SQLite database; report_interval = %g, "
               "periodic_interval = %g, periodic_fuzzy_delay = %g. Rates "
               "over %g s windows, from the moment all had started."
               % (REPORT_INTERVAL, PERIODIC_INTERVAL, FUZZY_DELAY, BUCKET),
               "")
    report.table(["start-up", "peak writes/s", "mean writes/s",
                  "p99 writes/s"], rows)
    report.add("- peak: novalite/nova = %s" % harness.fmt(
        harness.ratio(rows[0][1], rows[1][1])), "")

    def draw(figure):
        axes = figure.add_subplot()
        for name, counts in figures.items():
            axes.step([index * BUCKET for index in range(len(counts))],
                      counts, where="post", label=name)
        axes.set_xlabel("seconds after %d services started together"
                        % HOSTS)
        axes.set_ylabel("database writes per second (%g s windows)"
                        % BUCKET)
        axes.set_title("Heartbeats and first periodic passes")
        axes.legend()

    report.plot("herd", draw, caption="database writes per second")
    return report


if __name__ == "__main__":
    main()
