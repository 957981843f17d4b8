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
"""Soak: novalite-compute for ten minutes with every task running often.

Records the daemon's RSS every second; after a warm-up minute, the end must
be within 5 % of the start. Writes bench/results/soak.png.

Usage: python -m bench.soak   (environment: BENCH_SECONDS=600,
BENCH_WARMUP=60)
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

from bench import harness

SECONDS = float(os.environ.get("BENCH_SECONDS", "600"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "60"))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = ("update_available_resource", "report_driver_status",
         "sync_power_states", "cleanup_running_deleted_instances",
         "reclaim_queued_deletes", "run_image_cache_manager_pass")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def main():
    with tempfile.TemporaryDirectory() as workdir:
        ini = os.path.join(workdir, "compute.conf")
        with open(ini, "w") as handle:
            handle.write(
                "[DEFAULT]\nstate_path = %s\nhost = soak\n"
                "periodic_interval = 0.5\nperiodic_fuzzy_delay = 0\n"
                "report_interval = 0.5\nservice_down_time = 10\n"
                "[fake_driver]\nvcpus = 8\nmemory_mb = 8192\n"
                "local_gb = 80\n" % os.path.join(workdir, "state")
                + "".join("[periodic_task:%s]\nspacing = 1\n" % task
                          for task in TASKS))
        process = subprocess.Popen(
            [sys.executable, "-m", "novalite.cmd.compute", "--config-file",
             ini], cwd=REPO, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=REPO))
        samples = []
        start = time.monotonic()
        try:
            while time.monotonic() - start < SECONDS:
                time.sleep(1.0)
                samples.append((time.monotonic() - start,
                                rss_mib(process.pid)))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    after_warmup = [rss for when, rss in samples if when >= WARMUP]
    first, last = after_warmup[0], after_warmup[-1]
    change = (last - first) / first
    report = harness.Report("Soak: %g s, every task every second" % SECONDS)
    report.add("novalite-compute on SQLite, heartbeat every 0.5 s, RSS read "
               "every second; the first %g s are warm-up." % WARMUP, "")
    report.table(["RSS after warm-up MiB", "RSS at the end MiB", "change",
                  "max MiB"], [[first, last, "%+.1f %%" % (change * 100),
                                max(after_warmup)]])
    report.add("- target: within 5 %%: %s" % harness.verdict(abs(change),
                                                               0.05), "")

    def draw(figure):
        axes = figure.add_subplot()
        axes.plot([when for when, _ in samples], [rss for _, rss in samples])
        axes.axvline(WARMUP, linestyle=":", color="grey")
        axes.set_xlabel("seconds")
        axes.set_ylabel("RSS MiB")
        axes.set_title("novalite-compute, every task every second")
        axes.set_ylim(bottom=0)

    report.plot("soak", draw, size=(9, 3.5), caption="RSS over the run")
    return report


if __name__ == "__main__":
    main()
