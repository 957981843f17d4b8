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

"""The benchmark plumbing that decides what a reader sees: results read
back from a fresh interpreter, failures reported, drift told from jitter,
verdicts. The peers are not needed here."""

import random

from bench import harness
from bench import timers


def test_a_program_runs_apart_and_reports_its_figures():
    result = harness.run("emit(doubled=VALUE * 2, cpu=cpu_seconds() >= 0)",
                         VALUE=21)
    assert result == {"doubled": 42, "cpu": True}


def test_a_failing_program_reports_its_last_error_line():
    result = harness.run("raise ValueError('no such peer')")
    assert result == {"error": "ValueError: no such peer"}


def test_programs_run_together_keep_their_own_results():
    results = harness.run_together(
        {"a": "emit(name='a', value=X)", "b": "emit(name='b', value=X + 1)"},
        X=1)
    assert results == {"a": {"name": "a", "value": 1},
                       "b": {"name": "b", "value": 2}}


def test_drift_is_a_climb_not_jitter():
    jitter = random.Random(7)
    flat = [jitter.uniform(-0.4, 0.4) for _ in range(250)]
    climbing = [0.15 * k + value for k, value in enumerate(flat)]
    assert not timers.drifts(flat)
    assert timers.drifts(climbing)


def test_verdicts_and_ratios():
    assert harness.verdict(0.2, 0.25) == "met"
    assert harness.verdict(0.3, 0.25) == "MISSED"
    assert harness.verdict(None, 0.25) == "not measured"
    assert harness.ratio(1.0, 0) is None
    assert harness.ratio(1.0, 4.0) == 0.25


def test_a_report_keeps_what_it_printed(capsys):
    report = harness.Report("Example")
    report.table(["n", "cost"], [[10, 1.23456], [100, None]])
    text = report.text()
    assert text.startswith("## Example\n")
    assert "| 10 | 1.23 |" in text and "| 100 | n/a |" in text
    assert capsys.readouterr().out.strip() == text.strip()


def test_cpu_per_tick_is_judged_only_when_the_figures_can_tell():
    floor = (100.0, 60.0, 170.0)
    # Below the bare eventlet.sleep loop novalite runs on: noise.
    assert timers.cpu_verdict((80.0, 60.0, 90.0), (105.0, 95.0, 150.0),
                              floor) == (
        "indistinguishable at this machine's noise")
    # Ranges of runs that overlap: noise too.
    assert timers.cpu_verdict((110.0, 100.0, 130.0), (120.0, 125.0, 150.0),
                              floor) == (
        "indistinguishable at this machine's noise")
    assert timers.cpu_verdict((110.0, 100.0, 115.0), (160.0, 150.0, 190.0),
                              floor) == "met"
    assert timers.cpu_verdict((190.0, 180.0, 200.0), (120.0, 110.0, 130.0),
                              floor) == "MISSED"
    assert timers.cpu_verdict((None, None, None), (1.0, 1.0, 1.0),
                              floor) == "not measured"


def _row(name, drift, p99, drifting):
    return [name, drift, p99, p99, "yes" if drifting else "no"]


def test_drift_is_compared_with_every_peer_at_its_best_setting(capsys):
    report = harness.Report("drift")
    rows = [_row("novalite LoopingCall", 0.1, 0.3, False),
            _row("oslo.service FixedIntervalLoopingCall", 46.0, 45.0, True),
            _row("oslo.service PeriodicTasks+DynamicLoopingCall", 40.0, 39.0,
                 True),
            _row("futurist PeriodicWorker", 41.8, 41.3, True),
            _row("futurist PeriodicWorker aligned_last_finished", 0.2, 0.5,
                 False),
            _row("APScheduler BackgroundScheduler", -0.7, -0.4, False)]
    timers._drift_verdict(report, rows, "timers at 20 ms")
    lines = report.lines[2:]
    assert len(lines) == 3
    assert lines[0].startswith(
        "- timers at 20 ms: final drift novalite/oslo.service PeriodicTasks+"
        "DynamicLoopingCall (the peer's best setting) = 0.0025; target at "
        "most 0.02: met")
    assert "futurist PeriodicWorker aligned_last_finished (the peer's best " \
        "setting) does not drift either" in lines[1]
    assert "APScheduler BackgroundScheduler" in lines[2]
    assert "no target" in lines[2]
