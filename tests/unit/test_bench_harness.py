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

import os
import random
import re

import pytest

from bench import daemon
from bench import harness
from bench import profile_tick
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
    # A grid set before the first call: later ticks early by a constant.
    offset = [flat[0]] + [value - 784 for value in flat[1:]]
    assert abs(timers.rise_ms(offset)) < 1 and not timers.drifts(offset)


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


# The daemon's idle CPU (issue 15, item 14): windows of whole periods that
# hold the same task runs, not the minute after READY=1.

def _daemon_timeline(passes, beats_at):
    runs = [(stamp, name) for stamp, names in passes for name in names]
    runs += [(stamp, "heartbeat") for stamp in beats_at]
    return sorted(runs)


_EVERY_MINUTE = ("update_available_resource", "_reclaim_queued_deletes",
                 "_publish_service_capabilities")
_TWO_MINUTES = _EVERY_MINUTE + ("_report_driver_status",)
# As measured: READY=1 at 0 for both. novalite audits once at start, ticks
# first at 0.7 s (its host's phase), its 60 s tasks due a minute later;
# oslo.service's are due a minute after its import, just before 60 s.
NOVALITE = _daemon_timeline(
    [(-0.02, ["update_available_resource"]),
     (0.7, ["_publish_service_capabilities", "_report_driver_status"]),
     (60.7, _EVERY_MINUTE), (120.7, _TWO_MINUTES), (180.7, _EVERY_MINUTE)],
    [0.117 + 10 * k for k in range(19)])
OSLO = _daemon_timeline(
    [(59.5, _EVERY_MINUTE), (119.5, _TWO_MINUTES), (179.5, _EVERY_MINUTE)],
    [10.2 + 10 * k for k in range(18)])


def test_the_minute_after_ready_holds_unequal_work():
    assert (daemon.work_between(NOVALITE, 0, 60)
            != daemon.work_between(OSLO, 0, 60))


def test_idle_windows_start_before_a_pass_and_hold_the_same_work():
    start_ours, start_theirs, work = daemon.matching_windows(
        NOVALITE, OSLO, 120, lead=1.0, after=0)
    assert (start_ours, start_theirs) == pytest.approx((59.7, 58.5))
    assert work == {"update_available_resource": 2,
                    "_reclaim_queued_deletes": 2,
                    "_publish_service_capabilities": 2,
                    "_report_driver_status": 1, "heartbeat": 12}
    assert daemon.work_between(NOVALITE, 59.7, 179.7) == work
    assert daemon.work_between(OSLO, 58.5, 178.5) == work


def test_idle_windows_wait_until_both_are_complete():
    assert daemon.matching_windows(NOVALITE, OSLO, 120, lead=1.0, after=0,
                                   until=170) is None


def test_no_idle_verdict_without_windows_of_equal_work():
    lonely = _daemon_timeline([(30, ["update_available_resource"])],
                              [10, 20, 30, 40])
    assert daemon.matching_windows(NOVALITE, lonely, 60, after=0) is None
    line = daemon.idle_verdict(None, None, 120)
    assert line.startswith("- daemon idle CPU")
    assert "target" in line and line.endswith("not measured)")


def test_idle_verdict_reports_the_ratio_of_equal_work():
    assert daemon.idle_verdict(0.03, 0.05, 120).endswith(
        "novalite/oslo.service = 0.6 (target at most 0.5: MISSED)")
    assert daemon.idle_verdict(0.01, 0.05, 120).endswith(
        "= 0.2 (target at most 0.5: met)")


def test_cpu_over_a_window_reads_the_samples_at_its_ends():
    samples = [(t * 0.5, t * 0.001) for t in range(400)]
    assert abs(daemon.cpu_between(samples, 10.2, 130.2) - 0.24) < 1e-9
    assert daemon.cpu_between(samples, 150, 250) is None  # not seen yet
    assert daemon.pass_starts(NOVALITE) == [-0.02, 60.7, 120.7, 180.7]


# Drift against every peer at its best setting (item 15).

def _row(name, final_drift, rise):
    return [name, final_drift, None, None, rise,
            "yes" if rise > 1.0 else "no"]


# Final drift and fitted rise in ms: the drift-free peers' final drifts
# are offsets (their grid is set before the first call), not drift.
_ROWS_20MS = [
    _row("novalite LoopingCall", 0.0998, 0.02),
    _row("novalite Manager+DynamicLoopingCall", 0.101, 0.03),
    _row("oslo.service FixedIntervalLoopingCall", 46.3, 46.0),
    _row("oslo.service PeriodicTasks+DynamicLoopingCall", 46.6, 46.2),
    _row("futurist PeriodicWorker last_started", 41.8, 41.5),
    _row("futurist PeriodicWorker aligned_last_finished", -15.1, 0.04),
    _row("APScheduler BackgroundScheduler", -0.736, -0.05),
]


def test_each_peer_is_taken_at_its_best_setting():
    best = timers.best_settings(_ROWS_20MS)
    assert {peer: row[0] for peer, row in best.items()} == {
        "oslo.service": "oslo.service FixedIntervalLoopingCall",
        "futurist": "futurist PeriodicWorker aligned_last_finished",
        "APScheduler": "APScheduler BackgroundScheduler"}


def test_drift_is_compared_with_every_peer_including_drift_free_ones():
    lines = timers.drift_verdicts("timers at 20 ms", _ROWS_20MS)
    assert len(lines) == 3
    oslo, futurist, apscheduler = lines
    assert "oslo.service at its best setting" in oslo
    assert "novalite/peer = 0.00216" in oslo and oslo.endswith(": met")
    for line in (futurist, apscheduler):
        assert "neither drifts (fitted rise over the run: novalite 0.02 ms" \
            in line
        assert line.endswith("target no drift: met, a tie, not an advantage")
    assert "aligned_last_finished" in futurist


def test_a_drifting_novalite_misses_against_a_drift_free_peer():
    rows = [_row("novalite LoopingCall", 12.0, 11.8)] + _ROWS_20MS[1:]
    lines = timers.drift_verdicts("timers at 1 s", rows)
    assert lines[0].endswith("target at most 0.02: MISSED")
    assert all(line.endswith("target no drift: MISSED")
               for line in lines[1:])


# CPU per idle tick (item 16): noise is not a result.

def test_cpu_below_the_floor_or_overlapping_a_peer_is_noise():
    # The figures of the run that declared "met": 2026-11-27.
    verdict = timers.cpu_verdict(
        (79.5, (62, 90)), (104, (64, 174)),
        {"futurist PeriodicWorker": (104, (86, 190)),
         "APScheduler BackgroundScheduler": (169, (152, 187))})
    assert verdict == "indistinguishable at this machine's noise"
    overlapping = timers.cpu_verdict(
        (60, (55, 70)), (40, (35, 45)),
        {"a": (100, (90, 110)), "b": (120, (65, 130))})
    assert overlapping == timers.NOISE


def test_cpu_clearly_apart_is_met_or_missed():
    peers = {"a": (100, (90, 110)), "b": (120, (115, 130))}
    assert timers.cpu_verdict((50, (45, 55)), (40, (35, 45)), peers) == "met"
    assert timers.cpu_verdict((150, (140, 160)), (40, (35, 45)),
                              peers) == "MISSED"
    assert timers.cpu_verdict((None, None), (40, (35, 45)),
                              peers) == "not measured"


def test_the_cpu_line_shows_the_call_count_beside_a_noisy_verdict(
        monkeypatch):
    monkeypatch.setattr(profile_tick, "measure", lambda: {
        "bare eventlet.sleep (floor)": 26.0, "novalite LoopingCall": 40.3,
        "oslo.service FixedIntervalLoopingCall": 73.1})

    def runs(*values):
        return [{"cpu_us_per_tick": value} for value in values]

    fast = {"novalite LoopingCall": runs(62, 79.5, 90),
            "futurist PeriodicWorker last_started": runs(86, 104, 190),
            timers.FLOOR: runs(64, 104, 174)}
    rows = [["novalite LoopingCall", 0.1, 0.3, 0.4, 79.5, "62-90", 0.02,
             "no"],
            ["futurist PeriodicWorker last_started", 41.8, 41.3, 41.8, 104,
             "86-190", 41.5, "yes"]]
    floors = [[timers.FLOOR, None, None, None, 104, "64-174", None, "n/a"]]
    line = timers._cpu_line(rows, floors, fast)
    assert "target below 1 (ahead of every peer): indistinguishable at " \
        "this machine's noise (novalite's median 79.5 us is below" in line
    assert "overlaps futurist PeriodicWorker last_started's 86-190" in line
    assert line.endswith("novalite LoopingCall 40.3, oslo.service "
                         "FixedIntervalLoopingCall 73.1")
    assert ": met" not in line


# Figures in the docs come from one source, the latest run (item 17). These
# read the committed bench/results/latest.md: whoever commits a new run
# updates the figures the docs quote from it.

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _text(path):
    with open(os.path.join(_ROOT, path)) as handle:
        return " ".join(handle.read().split())


def test_docs_name_the_run_whose_figures_they_quote():
    latest = _text("bench/results/latest.md")
    written = re.search(r"on (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", latest)
    for doc in ("README.md", "docs/reliability.md"):
        runs = set(re.findall(r"run of (\d{4}-\d\d-\d\d \d\d:\d\d UTC)",
                              _text(doc)))
        assert runs == {written.group(1)}, doc


def test_the_herd_peaks_quoted_are_the_latest_runs():
    latest = _text("bench/results/latest.md")
    section = latest[latest.index("## Thundering herd"):]
    section = section[:section.index(" ## ", 1)]
    peaks = dict(re.findall(r"\| (novalite|nova) \| ([^ |]+) \|", section))
    assert ("%s/s for novalite against %s/s for nova"
            % (peaks["novalite"], peaks["nova"])) in _text(
                "docs/reliability.md")


def test_the_readme_quotes_the_latest_daemon_idle_verdict():
    latest = _text("bench/results/latest.md")
    line = re.search(r"daemon idle CPU, \d+ s windows holding the same task "
                     r"runs: novalite/oslo.service = ([^ ]+) \(target at "
                     r"most 0.5: (\w+)\)", latest)
    assert line is not None
    readme = _text("README.md")
    assert ("%s of the oslo.service daemon's CPU (target at most 0.5: %s)"
            % line.groups()) in readme
