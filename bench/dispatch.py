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

"""Dispatch: M tasks that do nothing, novalite and every peer, in one run.

  due    wall time per task when all M are due, from the start of the
         scheduler's pass to the end of the last task
  idle   wall time of a pass when none is due

novalite's Manager and oslo.service's PeriodicTasks have a pass to call:
both are timed over a second of back-to-back passes. futurist's
PeriodicWorker and APScheduler are timed from the moment the M tasks are
handed over until the M-th has run (their own threads, their own
executors: a synchronous one for futurist, APScheduler's default pool).
APScheduler's idle pass is its _process_jobs() with no job due; futurist
has no pass (its loop sleeps until the first task is due), so n/a.

Usage: python -m bench.dispatch   (environment: BENCH_REPEATS=3,
BENCH_M=10,100,1000,10000)
"""

import os

from bench import harness

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
TASK_COUNTS = [int(m) for m in
               os.environ.get("BENCH_M", "10,100,1000,10000").split(",")]

_TIMED_PASSES = '''
import logging
logging.disable(logging.CRITICAL)

def timed_passes(manager, seconds=1.0):
    run(manager)
    start = time.perf_counter()
    passes = 0
    while time.perf_counter() - start < seconds:
        run(manager)
        passes += 1
    return (time.perf_counter() - start) / passes

all_due = timed_passes(make(1e-9))
none_due = timed_passes(make(3600))
emit(due_us_per_task=all_due / M * 1e6, idle_us_per_pass=none_due * 1e6)
'''

_EVENTLET = "import eventlet; eventlet.monkey_patch()"
_MANY_TASKS = '''
%(prepare)s
%(imports)s
def make(spacing):
    namespace = {}
    for i in range(M):
        def task(self, context):
            return None
        task.__name__ = "task%%d" %% i
        namespace[task.__name__] = %(decorator)s(
            spacing=spacing, run_immediately=True)(task)
    return type("Many", (%(base)s,), namespace)(%(arguments)s)
def run(instance):
    return instance.%(one_pass)s(None)
'''

SYSTEMS = {
    "novalite Manager": harness.program(_MANY_TASKS % {
        "prepare": _EVENTLET, "imports": "from novalite import manager",
        "decorator": "manager.periodic_task", "base": "manager.Manager",
        "arguments": "", "one_pass": "periodic_tasks"}, _TIMED_PASSES),
    "novalite Manager, threading": harness.program(
        harness.THREADING, _MANY_TASKS % {
            "prepare": "", "imports": "from novalite import manager",
            "decorator": "manager.periodic_task", "base": "manager.Manager",
            "arguments": "", "one_pass": "periodic_tasks"}, _TIMED_PASSES),
    "oslo.service PeriodicTasks": harness.program(_MANY_TASKS % {
        "prepare": _EVENTLET, "imports": "from oslo_config import cfg\n"
                   "from oslo_service import periodic_task",
        "decorator": "periodic_task.periodic_task",
        "base": "periodic_task.PeriodicTasks", "arguments": "cfg.CONF",
        "one_pass": "run_periodic_tasks"}, _TIMED_PASSES),
    "futurist PeriodicWorker": harness.program('''
        import threading
        import futurist
        from futurist import periodics
        ran = []
        finished = threading.Event()
        def make(index):
            @periodics.periodic(3600, run_immediately=True)
            def task():
                ran.append(index)
                if len(ran) == M:
                    finished.set()
            return (task, (), {})
        worker = periodics.PeriodicWorker(
            [make(i) for i in range(M)],
            executor_factory=futurist.SynchronousExecutor)
        thread = threading.Thread(target=worker.start)
        start = time.perf_counter()
        thread.start()
        finished.wait()
        elapsed = time.perf_counter() - start
        worker.stop()
        thread.join()
        emit(due_us_per_task=elapsed / M * 1e6)
        '''),
    "APScheduler BackgroundScheduler": harness.program('''
        import datetime, logging, threading
        from apscheduler.schedulers import base
        from apscheduler.schedulers.background import BackgroundScheduler
        logging.disable(logging.CRITICAL)
        ran = []
        finished = threading.Event()
        def task():
            ran.append(1)
            if len(ran) == M:
                finished.set()

        def scheduler_with(first_run):
            # Started paused, its thread waits for a wake-up that never
            # comes; the passes are then made here, one at a time. No
            # misfire grace limit: adding 10,000 jobs can take longer than
            # its default second, and a skipped job never finished the run.
            scheduler = BackgroundScheduler()
            for _ in range(M):
                scheduler.add_job(task, "interval", hours=1,
                                  next_run_time=first_run,
                                  misfire_grace_time=None)
            scheduler.start(paused=True)
            scheduler.state = base.STATE_RUNNING
            return scheduler

        later = datetime.datetime.now() + datetime.timedelta(hours=1)
        idle = scheduler_with(later)
        idle._process_jobs()
        start = time.perf_counter()
        passes = 0
        while time.perf_counter() - start < 1.0:
            idle._process_jobs()
            passes += 1
        idle_s = (time.perf_counter() - start) / passes
        idle.shutdown(wait=False)
        due = scheduler_with(datetime.datetime.now())
        start = time.perf_counter()
        due._process_jobs()
        finished.wait()
        elapsed = time.perf_counter() - start
        due.shutdown(wait=False)
        emit(due_us_per_task=elapsed / M * 1e6, idle_us_per_pass=idle_s * 1e6)
        '''),
}

NOVALITE = "novalite Manager"
OSLO = "oslo.service PeriodicTasks"


def _measure():
    figures = {}
    for count in TASK_COUNTS:
        runs = {name: [] for name in SYSTEMS}
        for _ in range(REPEATS):
            for name, code in SYSTEMS.items():
                runs[name].append(harness.run(code, M=count))
        figures[count] = {name: (harness.median_of(r, "due_us_per_task"),
                                 harness.median_of(r, "idle_us_per_pass"),
                                 [x["error"] for x in r if "error" in x])
                          for name, r in runs.items()}
    return figures


def _best_peer(by_system, index):
    peers = [(values[index], name) for name, values in by_system.items()
             if not name.startswith("novalite") and values[index] is not None]
    return min(peers) if peers else (None, None)


def main():
    report = harness.Report("Dispatch: M tasks that do nothing")
    figures = _measure()
    report.add("Median of %d; microseconds of wall time." % REPEATS, "")
    names = list(SYSTEMS)
    for index, label in ((0, "per due task"), (1, "per idle pass")):
        report.add("### Cost %s" % label, "")
        rows = []
        for count, by_system in figures.items():
            best, best_name = _best_peer(by_system, index)
            rows.append([count] + [by_system[n][index] for n in names]
                        + [harness.ratio(by_system[NOVALITE][index], best),
                           harness.ratio(by_system[NOVALITE][index],
                                         by_system[OSLO][index])])
        report.table(["M"] + names + ["novalite/best peer",
                                      "novalite/oslo.service"], rows)
    for count, by_system in figures.items():
        due = harness.ratio(by_system[NOVALITE][0], by_system[OSLO][0])
        line = ("- dispatch, M=%d: per due task novalite/oslo.service = %s "
                "(target at most 0.25: %s)" % (count, harness.fmt(due),
                                               harness.verdict(due, 0.25)))
        if count == 10000:
            idle = harness.ratio(by_system[NOVALITE][1], by_system[OSLO][1])
            line += "; idle pass %s (target at most 0.01: %s)" % (
                harness.fmt(idle), harness.verdict(idle, 0.01))
        report.add(line)
        for name, values in by_system.items():
            for error in values[2]:
                report.add("- M=%d, %s failed: %s" % (count, name, error))
    report.add("")

    def draw(figure):
        for index, label in ((0, "per due task"), (1, "per idle pass")):
            axes = figure.add_subplot(1, 2, index + 1)
            for name in names:
                counts = [count for count, by_system in figures.items()
                          if by_system[name][index] is not None]
                if counts:
                    axes.plot(counts, [figures[count][name][index]
                                       for count in counts],
                              marker="o", label=name,
                              color="C%d" % names.index(name))
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_xlabel("tasks (M)")
            axes.set_ylabel("microseconds")
            axes.set_title("Cost " + label)
            axes.legend(fontsize=7)
    report.plot("dispatch", draw, size=(11, 4),
                caption="dispatch cost against task count")
    return report


if __name__ == "__main__":
    main()
