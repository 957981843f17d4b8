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

"""Task overhead with many instances: the two tasks that read them all.

A ComputeManager on the fake driver with COUNT running instances booted
through run_instance, on SQLite (the embedded default): wall time of one
_sync_power_states and one update_available_resource pass, the median of
the passes made in a second, each size in a fresh interpreter.

The peers are schedulers and have no compute tasks, so these figures have
no ratio; what they show is how a pass grows with the instances.

Usage: python -m bench.overhead   (environment: BENCH_INSTANCES
(10,100,1000), BENCH_REPEATS (3))
"""

import os

from bench import harness

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
COUNTS = [int(n) for n in
          os.environ.get("BENCH_INSTANCES", "10,100,1000").split(",")]
TASKS = ("_sync_power_states", "update_available_resource")

_PROGRAM = '''
import logging, os, statistics, tempfile
from novalite import monkey_patch
from novalite import conf, context
from novalite.compute import manager as compute_manager
from novalite.db import api as db_api
from novalite.db import migration
logging.disable(logging.CRITICAL)

workdir = tempfile.mkdtemp()
conf.CONF([], project="novalite", default_config_files=[])
conf.CONF.set_override("state_path", workdir)
conf.CONF.set_override("instances_path", os.path.join(workdir, "instances"))
conf.CONF.set_override("vcpus", 4096, group="fake_driver")
conf.CONF.set_override("memory_mb", 4096 * 1024, group="fake_driver")
conf.CONF.set_override("local_gb", 100000, group="fake_driver")
db = db_api.Database(db_api.create_engine(
    "sqlite:///%s" % os.path.join(workdir, "novalite.sqlite")))
migration.prepare(db.engine)
manager = compute_manager.ComputeManager(host="bench", db=db)
manager.init_host()
admin = context.get_admin_context()
for index in range(COUNT):
    manager.run_instance(admin, display_name="vm-%d" % index, vcpus=1,
                         memory_mb=512, root_gb=1)
assert len(db.instance_get_all_by_host("bench")) == COUNT

figures = {}
for name in TASKS:
    task = getattr(manager, name)
    task(admin)
    times = []
    began = time.perf_counter()
    while time.perf_counter() - began < 1.0 or len(times) < 3:
        start = time.perf_counter()
        task(admin)
        times.append(time.perf_counter() - start)
    figures[name + "_ms"] = statistics.median(times) * 1e3
emit(**figures)
'''


def main():
    report = harness.Report("Task overhead with many instances")
    rows = []
    errors = []
    for count in COUNTS:
        runs = [harness.run(_PROGRAM, COUNT=count, TASKS=TASKS)
                for _ in range(REPEATS)]
        errors += [r["error"] for r in runs if "error" in r]
        figures = [harness.median_of(runs, name + "_ms") for name in TASKS]
        rows.append([count] + figures + [
            None if value is None else value * 1e3 / count
            for value in figures])
    report.add("SQLite, the fake driver; median of %d fresh runs, each the "
               "median pass over a second. No peer has these tasks, so no "
               "ratio." % REPEATS, "")
    report.table(["instances"] + ["%s ms/pass" % name for name in TASKS]
                 + ["%s us/instance" % name for name in TASKS], rows)
    for error in errors:
        report.add("- failed: %s" % error)
    return report


if __name__ == "__main__":
    main()
