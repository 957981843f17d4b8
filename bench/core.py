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

"""The periodic-task core against oslo.service, in one run.

  drift     one function every INTERVAL s for TICKS ticks; lateness of call k
            is t_k - (t_0 + k * INTERVAL)
  idle      CPU per tick of a 20 ms loop whose function does nothing, with
            the floor: a bare eventlet.sleep loop and a bare time.sleep loop
  dispatch  M tasks on one manager: cost per task when all are due, and
            cost of a pass when none is

Usage: python -m bench.core [drift] [idle] [dispatch]   (default: all)
Environment: BENCH_INTERVAL (0.02), BENCH_TICKS (250), BENCH_REPEATS (3),
BENCH_M (100,1000,10000).
"""

import os
import sys

from bench import harness

INTERVAL = float(os.environ.get("BENCH_INTERVAL", "0.02"))
TICKS = int(os.environ.get("BENCH_TICKS", "250"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
TASK_COUNTS = [int(m) for m in
               os.environ.get("BENCH_M", "100,1000,10000").split(",")]

# A looped function "tick()" that records its call times and ends the loop
# after TICKS calls by raising the system's LoopingCallDone.
_TICK = '''
stamps = []
def tick(*args):
    stamps.append(time.monotonic())
    if len(stamps) == 1:
        stamps_cpu.append(cpu_seconds())
    if len(stamps) >= TICKS:
        raise loopingcall.LoopingCallDone()
stamps_cpu = []

def report():
    late = sorted(s - (stamps[0] + k * INTERVAL) for k, s in enumerate(stamps))
    final = stamps[-1] - (stamps[0] + (len(stamps) - 1) * INTERVAL)
    emit(final_drift_ms=final * 1e3, max_late_ms=late[-1] * 1e3,
         p99_late_ms=late[int(len(late) * 0.99) - 1] * 1e3,
         cpu_us_per_tick=(cpu_seconds() - stamps_cpu[0]) / len(stamps) * 1e6)
'''

_PERIODIC_DRIVER = '''
def run_manager(manager):
    def one_pass():
        return manager.%s(None, raise_on_error=True)
    loopingcall.DynamicLoopingCall(one_pass).start(
        initial_delay=None, periodic_interval_max=INTERVAL).wait()
'''

LOOPS = {
    "novalite LoopingCall": harness.program('''
        import eventlet; eventlet.monkey_patch()
        from novalite import loopingcall
        ''', _TICK, '''
        loopingcall.LoopingCall(tick).start(interval=INTERVAL).wait()
        report()
        '''),
    "oslo.service FixedIntervalLoopingCall": harness.program('''
        import eventlet; eventlet.monkey_patch()
        from oslo_service import loopingcall
        ''', _TICK, '''
        loopingcall.FixedIntervalLoopingCall(tick).start(
            interval=INTERVAL).wait()
        report()
        '''),
    "novalite Manager+DynamicLoopingCall": harness.program('''
        import eventlet; eventlet.monkey_patch()
        from novalite import loopingcall, manager
        ''', _TICK, _PERIODIC_DRIVER % "periodic_tasks", '''
        class Ticker(manager.Manager):
            @manager.periodic_task(spacing=INTERVAL, run_immediately=True)
            def task(self, context):
                tick()
        run_manager(Ticker())
        report()
        '''),
    "oslo.service PeriodicTasks+DynamicLoopingCall": harness.program('''
        import eventlet; eventlet.monkey_patch()
        from oslo_config import cfg
        from oslo_service import loopingcall, periodic_task
        ''', _TICK, _PERIODIC_DRIVER % "run_periodic_tasks", '''
        class Ticker(periodic_task.PeriodicTasks):
            @periodic_task.periodic_task(spacing=INTERVAL,
                                         run_immediately=True)
            def task(self, context):
                tick()
        run_manager(Ticker(cfg.CONF))
        report()
        '''),
}

FLOORS = {
    "floor: bare eventlet.sleep loop": harness.program('''
        import eventlet; eventlet.monkey_patch()
        start = cpu_seconds()
        for _ in range(TICKS):
            eventlet.sleep(INTERVAL)
        emit(cpu_us_per_tick=(cpu_seconds() - start) / TICKS * 1e6)
        '''),
    "floor: bare time.sleep loop, no eventlet": harness.program('''
        start = cpu_seconds()
        for _ in range(TICKS):
            time.sleep(INTERVAL)
        emit(cpu_us_per_tick=(cpu_seconds() - start) / TICKS * 1e6)
        '''),
}

_DISPATCH_BODY = '''
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
emit(all_due_us_per_task=all_due / M * 1e6,
     none_due_us_per_pass=none_due * 1e6)
'''

_MANY_TASKS = '''
import eventlet; eventlet.monkey_patch()
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

DISPATCH = {
    "novalite Manager": harness.program(_MANY_TASKS % {
        "imports": "from novalite import manager",
        "decorator": "manager.periodic_task", "base": "manager.Manager",
        "arguments": "", "one_pass": "periodic_tasks"}, _DISPATCH_BODY),
    "oslo.service PeriodicTasks": harness.program(_MANY_TASKS % {
        "imports": "from oslo_config import cfg\n"
                   "from oslo_service import periodic_task",
        "decorator": "periodic_task.periodic_task",
        "base": "periodic_task.PeriodicTasks", "arguments": "cfg.CONF",
        "one_pass": "run_periodic_tasks"}, _DISPATCH_BODY),
}


def _repeat(programs, **params):
    """Run every program REPEATS times, interleaved; medians per key."""
    runs = {name: [] for name in programs}
    for _ in range(REPEATS):
        for name, code in programs.items():
            runs[name].append(harness.run(code, **params))
    return runs


def _verdict(value, limit):
    if value is None:
        return "not measured"
    return "met" if value <= limit else "MISSED"


def drift_and_idle():
    params = {"INTERVAL": INTERVAL, "TICKS": TICKS}
    runs = _repeat({**LOOPS, **FLOORS}, **params)
    rows = []
    for name in LOOPS:
        rows.append([name] + [harness.median_of(runs[name], key) for key in
                              ("final_drift_ms", "p99_late_ms", "max_late_ms",
                               "cpu_us_per_tick")])
    for name in FLOORS:
        rows.append([name, None, None, None,
                     harness.median_of(runs[name], "cpu_us_per_tick")])
    errors = {n: r["error"] for n, rs in runs.items() for r in rs
              if "error" in r}
    print("## Timer accuracy and idle CPU: %d ticks every %g ms, median of %d"
          "\n" % (TICKS, INTERVAL * 1e3, REPEATS))
    print(harness.table(["system", "final drift ms", "p99 late ms",
                         "max late ms", "CPU us/tick"], rows))
    by_name = {row[0]: row for row in rows}
    drift = by_name["novalite LoopingCall"][1]
    oslo_drift = by_name["oslo.service FixedIntervalLoopingCall"][1]
    cpu = harness.ratio(by_name["novalite LoopingCall"][4],
                        by_name["oslo.service FixedIntervalLoopingCall"][4])
    floor = by_name["floor: bare eventlet.sleep loop"][4]
    floor_ratio = harness.ratio(
        floor, by_name["oslo.service FixedIntervalLoopingCall"][4])
    print()
    print("- final drift: novalite %s ms vs oslo.service %s ms; target at "
          "most 2 ms: %s" % (_fmt(drift), _fmt(oslo_drift),
                             _verdict(abs(drift or 0), 2.0)))
    print("- idle CPU per tick: novalite/oslo.service = %s; target at most "
          "0.333: %s (a bare eventlet.sleep wake-up alone is %s of "
          "oslo.service's tick)" % (_fmt(cpu), _verdict(cpu, 1 / 3),
                                    _fmt(floor_ratio)))
    for name, error in errors.items():
        print("- %s failed: %s" % (name, error))
    return rows


def dispatch():
    rows = []
    for count in TASK_COUNTS:
        runs = _repeat(DISPATCH, M=count)
        ours = [harness.median_of(runs["novalite Manager"], key)
                for key in ("all_due_us_per_task", "none_due_us_per_pass")]
        oslo = [harness.median_of(runs["oslo.service PeriodicTasks"], key)
                for key in ("all_due_us_per_task", "none_due_us_per_pass")]
        rows.append([count, ours[0], oslo[0], harness.ratio(ours[0], oslo[0]),
                     ours[1], oslo[1], harness.ratio(ours[1], oslo[1])])
    print("\n## Dispatch: one pass over M tasks, median of %d\n" % REPEATS)
    print(harness.table(
        ["M", "novalite us/due task", "oslo us/due task", "ratio",
         "novalite us/idle pass", "oslo us/idle pass", "ratio"], rows))
    print()
    for row in rows:
        idle = ("idle-pass ratio %s (target at 10,000 tasks 0.01: %s)"
                % (_fmt(row[6]), _verdict(row[6], 0.01))
                if row[0] >= 10000 else "idle-pass ratio %s" % _fmt(row[6]))
        print("- M=%d: due-task ratio %s (target 0.25: %s); %s" % (
            row[0], _fmt(row[3]), _verdict(row[3], 0.25), idle))
    return rows


def _fmt(value):
    return "n/a" if value is None else "%.3g" % value


def main(argv):
    wanted = argv or ["drift", "dispatch"]
    if "drift" in wanted or "idle" in wanted:
        drift_and_idle()
    if "dispatch" in wanted:
        dispatch()


if __name__ == "__main__":
    main(sys.argv[1:])
