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

"""The profile behind the CPU-per-tick figure: Python calls per idle tick.

CPU time on a shared VM varies by 2x from run to run; the number of Python
function calls a loop makes per wake-up does not. cProfile counts them
over TICKS ticks of a 20 ms loop whose function does nothing.

Usage: python -m bench.profile_tick
"""

from bench import harness

TICKS = 250

_PROFILED = '''
import cProfile, pstats
import eventlet; eventlet.monkey_patch()
%s
calls = [0]
def tick():
    calls[0] += 1
    if calls[0] >= TICKS:
        raise loopingcall.LoopingCallDone()
profiler = cProfile.Profile()
profiler.enable()
%s
profiler.disable()
emit(calls_per_tick=pstats.Stats(profiler).total_calls / TICKS)
'''

LOOPS = {
    "bare eventlet.sleep (floor)": _PROFILED % (
        "from novalite import loopingcall",
        "for _ in range(TICKS):\n    eventlet.sleep(0.02)"),
    "novalite LoopingCall": _PROFILED % (
        "from novalite import loopingcall",
        "loopingcall.LoopingCall(tick).start(interval=0.02).wait()"),
    "oslo.service FixedIntervalLoopingCall": _PROFILED % (
        "from oslo_service import loopingcall",
        "loopingcall.FixedIntervalLoopingCall(tick).start("
        "interval=0.02).wait()"),
}


def main():
    report = harness.Report("Profile: Python function calls per idle tick")
    rows = [[name, harness.run(code, TICKS=TICKS).get("calls_per_tick")]
            for name, code in LOOPS.items()]
    report.table(["loop", "calls per tick"], rows)
    calls = dict(rows)
    report.add("- profile: Python calls per idle tick novalite/oslo.service "
               "= %s, novalite above the bare eventlet.sleep loop: %s calls; "
               "the stable figure behind CPU per tick, which this machine's "
               "noise can hide" % (
                   harness.fmt(harness.ratio(
                       calls["novalite LoopingCall"],
                       calls["oslo.service FixedIntervalLoopingCall"])),
                   harness.fmt(None if None in (
                       calls["novalite LoopingCall"],
                       calls["bare eventlet.sleep (floor)"])
                       else calls["novalite LoopingCall"]
                       - calls["bare eventlet.sleep (floor)"])), "")
    return report


if __name__ == "__main__":
    main()
