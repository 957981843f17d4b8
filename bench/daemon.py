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

"""novalite-compute against the same daemon on oslo.service, in one run.

  start-up   exec to READY=1 on a notify socket (median of REPEATS)
  idle       RSS and CPU seconds over IDLE_SECONDS (two whole periodic
             ticks) from SETTLE_SECONDS after READY=1, both daemons idling
             side by side, their first tick at start (periodic_fuzzy_delay
             0): both run the same passes inside the window
  stop       SIGTERM to exit, idle

Usage: python -m bench.daemon   (environment: BENCH_REPEATS=5,
BENCH_IDLE_SECONDS=120)
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bench import harness

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
#: Whole periods of the default periodic_interval (60 s): a window that
#: starts or ends mid-period counts one daemon's pass and not the other's.
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "120"))
#: The first passes, at start, are over by then in both daemons.
SETTLE_SECONDS = 5.0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOVALITE = "novalite-compute"
NOVALITE_THREADING = "novalite-compute, threading"
PEER = "oslo.service daemon"
DAEMONS = {
    NOVALITE: [sys.executable, "-m", "novalite.cmd.compute"],
    NOVALITE_THREADING: [sys.executable, "-m", "novalite.cmd.compute"],
    PEER: [sys.executable, "-m", "bench.peers.oslo_daemon"],
}
#: What a daemon's environment adds: the same novalite-compute, on native
#: threads.
ENVIRONMENT = {NOVALITE_THREADING: {"NOVALITE_BACKEND": "threading"}}


class Running:
    """One daemon started with a notify socket, in its own state dir."""

    def __init__(self, name, workdir, **options):
        self.name = name
        self.workdir = workdir
        ini = os.path.join(workdir, "compute.conf")
        with open(ini, "w") as handle:
            handle.write("[DEFAULT]\nstate_path = %s\nhost = bench\n"
                         % os.path.join(workdir, "state") + "".join(
                             "%s = %s\n" % item for item in options.items()))
        self.socket_path = os.path.join(workdir, "notify.sock")
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.listener.bind(self.socket_path)
        self.listener.settimeout(60)
        env = dict(os.environ, NOTIFY_SOCKET=self.socket_path,
                   PYTHONPATH=REPO, PYTHONWARNINGS="ignore",
                   **ENVIRONMENT.get(name, {}))
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            DAEMONS[name] + ["--config-file", ini], env=env, cwd=REPO,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self):
        while b"READY=1" not in self.listener.recv(4096):
            pass
        return time.monotonic() - self.started

    def cpu_seconds(self):
        """CPU time of every thread, to the nanosecond (the clock-tick
        figures of /proc/PID/stat cannot tell 0.02 s from 0.03 s)."""
        total = 0
        task_dir = "/proc/%d/task" % self.process.pid
        for thread in os.listdir(task_dir):
            with open(os.path.join(task_dir, thread, "schedstat")) as stat:
                total += int(stat.read().split()[0])
        return total / 1e9

    def rss_mib(self):
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return None

    def stop(self):
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.listener.close()
        return time.monotonic() - start


def startup_and_stop():
    """Restarts on an existing state directory, as after a reboot; the
    first start of each daemon, which creates the database, is not
    counted."""
    ready = {name: [] for name in DAEMONS}
    stop = {name: [] for name in DAEMONS}
    with tempfile.TemporaryDirectory() as top:
        for name in DAEMONS:
            os.makedirs(os.path.join(top, name))
            daemon = Running(name, os.path.join(top, name))
            daemon.wait_ready()
            daemon.stop()
        for _ in range(REPEATS):
            for name in DAEMONS:
                daemon = Running(name, os.path.join(top, name))
                ready[name].append(daemon.wait_ready())
                time.sleep(0.5)
                stop[name].append(daemon.stop())
    return ({n: statistics.median(v) for n, v in ready.items()},
            {n: statistics.median(v) for n, v in stop.items()})


def idle():
    figures = {}
    with tempfile.TemporaryDirectory() as workdir:
        daemons = {}
        for name in DAEMONS:
            os.makedirs(os.path.join(workdir, name))
            daemons[name] = Running(name, os.path.join(workdir, name),
                                    periodic_fuzzy_delay=0)
        for daemon in daemons.values():
            daemon.wait_ready()
        time.sleep(SETTLE_SECONDS)
        start = {n: d.cpu_seconds() for n, d in daemons.items()}
        time.sleep(IDLE_SECONDS)
        for name, daemon in daemons.items():
            figures[name] = (daemon.rss_mib(),
                             daemon.cpu_seconds() - start[name])
            daemon.stop()
    return figures


def main():
    report = harness.Report("Daemon: exec to READY=1, memory, idle CPU, stop")
    ready, stop = startup_and_stop()
    idle_figures = idle()
    rows = {}
    for name in DAEMONS:
        rss, cpu = idle_figures[name]
        rows[name] = [name, ready[name] * 1e3, rss, cpu * 60 / IDLE_SECONDS,
                      stop[name] * 1e3]
    report.add("Default configuration on SQLite; start-up and stop are the "
               "median of %d restarts. Memory and CPU: the daemons side by "
               "side, their first periodic pass at start "
               "(periodic_fuzzy_delay = 0), measured over %g s from %g s "
               "after READY=1: whole periods of the 60 s tick, in which both "
               "run the same passes. futurist and APScheduler have no "
               "daemon, so the peer is the same service on oslo.service's "
               "ServiceLauncher (bench/peers/oslo_daemon.py)."
               % (REPEATS, IDLE_SECONDS, SETTLE_SECONDS), "")
    report.table(["daemon", "exec to READY ms", "RSS MiB",
                  "idle CPU s/min", "SIGTERM to exit ms"], list(rows.values()))
    ours, threads, peer = (rows[NOVALITE], rows[NOVALITE_THREADING],
                           rows[PEER])
    for label, index, target in (("start-up", 1, None), ("memory", 2, None),
                                 ("idle CPU", 3, 0.5), ("stop", 4, None)):
        value = harness.ratio(ours[index], peer[index])
        line = "- daemon %s: novalite/oslo.service = %s" % (label,
                                                     harness.fmt(value))
        if target is not None:
            line += " (target at most %g: %s)" % (
                target, harness.verdict(value, target))
        report.add(line)
    report.add("- daemon on native threads (NOVALITE_BACKEND=threading) over "
               "the same on eventlet: start-up %s, memory %s, idle CPU %s, "
               "stop %s; no target (side by side)" % tuple(
                   harness.fmt(harness.ratio(threads[index], ours[index]))
                   for index in range(1, 5)))
    report.add("")
    return report


if __name__ == "__main__":
    main()
