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

"""Service with a fake clock and a temporary SQLite database."""

import functools
import logging

import pytest
import sqlalchemy as sa

from novalite import concurrency
from novalite import exception
from novalite import heartbeat
from novalite import manager
from novalite.periodic import render
from novalite import service
from tests import fakes

CALLS = []
#: What Recording.quarter_second also does, set by a test (context -> None).
WORK = {}


class Recording(manager.Manager):
    """Records hooks and task runs in CALLS."""

    @manager.periodic_task(ticks_between_runs=1)
    def every_other_tick(self, context):
        CALLS.append(("every_other_tick", self._clock.monotonic()))

    @manager.periodic_task(spacing=0.25)
    def quarter_second(self, context):
        CALLS.append(("quarter_second", self._clock.monotonic()))
        WORK.get("quarter_second", lambda context: None)(context)

    def init_host(self):
        CALLS.append("init_host")

    def pre_start_hook(self):
        CALLS.append("pre_start_hook")

    def post_start_hook(self):
        CALLS.append("post_start_hook")

    def cleanup_host(self):
        CALLS.append("cleanup_host")

    def reset(self):
        CALLS.append("reset")


RECORDING = __name__ + ".Recording"


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()
    WORK.clear()


@pytest.fixture
def task_config(config, tmp_path):
    """Write an ini file and make it the one the global CONF read, as a
    daemon started with ``--config-file`` would have."""
    path = tmp_path / "novalite.conf"

    def write(text):
        path.write_text(text)
        config.set_config_files([str(path)])
        config.config(compute_manager=RECORDING, host="node1")
    return write




class FlakyDatabase:
    """A Database whose heartbeat fails while ``down`` is true."""

    def __init__(self, real):
        self.real = real
        self.down = False

    def __getattr__(self, name):
        attribute = getattr(self.real, name)
        if name.startswith("service_") and callable(attribute):
            def guarded(*args, **kwargs):
                if self.down:
                    raise sa.exc.OperationalError("UPDATE", {}, OSError(
                        "connection refused"))
                return attribute(*args, **kwargs)
            return guarded
        return attribute


def make_service(db, clock, config, **kwargs):
    config.config(compute_manager=RECORDING, host="node1")
    options = {"report_interval": 10, "periodic_enable": True,
               "periodic_interval": 1.0, "periodic_fuzzy_delay": 0}
    options.update(kwargs)
    return service.Service.create(binary="novalite-compute", db=db,
                                  clock=clock, **options)


def test_create_fills_from_the_configuration(db, clock, config):
    config.config(compute_manager=RECORDING, host="node9",
                  report_interval=4, periodic_interval=7)
    server = service.Service.create(binary="novalite-compute", db=db,
                                    clock=clock)
    assert (server.host, server.binary, server.topic) == (
        "node9", "novalite-compute", "compute")
    assert isinstance(server.manager, Recording)
    assert server.manager.service_name == "compute"
    assert server.report_interval == 4 and server.periodic_interval == 7


def test_create_refuses_an_unknown_topic(db, clock):
    with pytest.raises(exception.InvalidManager, match="network_manager"):
        service.Service.create(binary="novalite-network", db=db, clock=clock)


def test_create_refuses_an_unloadable_manager(db, clock, config):
    config.config(compute_manager="no.such.Manager")
    with pytest.raises(exception.InvalidManager, match="no.such.Manager"):
        service.Service.create(binary="novalite-compute", db=db, clock=clock)


def test_attributes_fall_through_to_the_manager(db, clock, config):
    server = make_service(db, clock, config)
    assert server.every_other_tick == server.manager.every_other_tick
    assert not hasattr(server, "no_such_thing")


def test_start_follows_novas_order(db, clock, config, monkeypatch):
    notified = []
    monkeypatch.setattr(service.systemd, "ready",
                        lambda status=None: notified.append("READY=1"))
    original = db.service_get_or_create

    def get_or_create(*args):
        CALLS.append("services row")
        return original(*args)

    monkeypatch.setattr(db, "service_get_or_create", get_or_create)
    server = make_service(db, clock, config, report_interval=0,
                          periodic_enable=False)
    server.start()
    assert CALLS == ["init_host", "services row", "pre_start_hook",
                     "post_start_hook"]
    assert notified == ["READY=1"]
    row = db.service_get_by_host_and_binary("node1", "novalite-compute")
    assert row.topic == "compute" and server.service_id == row.id
    server.stop()
    assert CALLS[-1] == "cleanup_host"


def test_ticks_count_on_a_grid_and_spacing_tasks_keep_their_own_time(
        db, clock, config):
    server = make_service(db, clock, config)
    start = clock.now
    waits = []
    for _ in range(40):
        waits.append(server.periodic_tasks())
        clock.advance(waits[-1])
    ticks = [t - start for name, t in CALLS if name == "every_other_tick"]
    quarters = [t - start for name, t in CALLS if name == "quarter_second"]
    assert ticks[:4] == pytest.approx([1.0, 3.0, 5.0, 7.0])
    assert quarters[:6] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5])
    assert max(waits) <= 0.25 + 1e-9


def test_a_slow_tick_does_not_shift_the_tick_grid(db, clock, config):
    server = make_service(db, clock, config, periodic_interval=10.0)
    start = clock.now
    server.periodic_tasks()
    clock.advance(23.5)  # the first pass took 23.5 s
    wait = server.periodic_tasks()
    assert wait == pytest.approx(0.25)
    clock.now = start + 30
    server.periodic_tasks()
    clock.now = start + 40
    server.periodic_tasks()
    assert [t - start for name, t in CALLS
            if name == "every_other_tick"] == [23.5, 40]


def test_heartbeat_counts_reports(db, clock, config):
    server = make_service(db, clock, config)
    server.service_id = db.service_get_or_create(
        "node1", "novalite-compute", "compute").id
    for _ in range(3):
        server.report_state()
    assert db.service_get(server.service_id).report_count == 3


def test_heartbeat_recreates_a_deleted_row(db, clock, config, caplog):
    server = make_service(db, clock, config)
    deleted = server.service_id = db.service_get_or_create(
        "node1", "novalite-compute", "compute").id
    db.service_destroy(deleted)
    server.report_state()
    row = db.service_get_by_host_and_binary("node1", "novalite-compute")
    assert row.id != deleted and row.deleted == 0
    assert row.report_count == 1
    assert server.service_id == row.id


def test_heartbeat_survives_an_outage_and_says_so_once(db, clock, config,
                                                       caplog):
    flaky = FlakyDatabase(db)
    server = make_service(flaky, clock, config)
    server.service_id = db.service_get_or_create(
        "node1", "novalite-compute", "compute").id
    server.report_state()
    flaky.down = True
    for _ in range(5):
        server.report_state()  # never raises
    assert server.model_disconnected
    flaky.down = False
    server.report_state()
    server.report_state()
    messages = [r.getMessage() for r in caplog.records
                if r.name.startswith("novalite")]
    assert messages.count("model server went away") == 1
    assert messages.count("Recovered model server connection!") == 1
    assert not server.model_disconnected
    assert db.service_get(server.service_id).report_count == 3


def test_stop_abandons_a_task_past_the_graceful_timeout(db, config,
                                                       caplog):
    released = concurrency.new_event()

    class Hung(manager.Manager):
        @manager.periodic_task
        def hangs(self, context):
            CALLS.append("hangs")
            concurrency.CLOCK.wait(released, 3600)

    config.config(compute_manager=__name__ + ".test_stop_hung")
    globals()["test_stop_hung"] = Hung
    try:
        server = service.Service.create(
            binary="novalite-compute", db=db, report_interval=0,
            periodic_enable=True, periodic_interval=1,
            periodic_fuzzy_delay=0)
        server.start()
        fakes.wait_until(lambda: CALLS)
        assert CALLS == ["hangs"]
        server.stop(graceful_timeout=0.05)
        server.wait()
        assert any("abandoning it" in r.getMessage()
                   for r in caplog.records)
    finally:
        released.send(True)  # a native thread is abandoned, not interrupted
        del globals()["test_stop_hung"]


def test_kill_deletes_the_service_row(db, clock, config):
    server = make_service(db, clock, config, report_interval=0,
                          periodic_enable=False)
    server.start()
    server.kill()
    assert db.service_get_by_host_and_binary("node1",
                                             "novalite-compute") is None


def test_reset_rereads_the_files_applies_them_and_resets_the_manager(
        db, clock, config, task_config, caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    task_config("")
    server = make_service(db, clock, config)
    task_config("[periodic_task:quarter_second]\nenabled = false\n")
    server.reset()
    assert CALLS == ["reset"]
    assert not server.manager.periodic_task_settings(
        "quarter_second").enabled
    assert ("Periodic task Recording.quarter_second is now: disabled"
            in [r.getMessage() for r in caplog.records])


def test_schedule_is_logged_once_per_task(db, clock, config, caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    server = make_service(db, clock, config)
    server.periodic_runner.log_schedule(first_delay=3.2)
    messages = [r.getMessage() for r in caplog.records]
    assert "Periodic timer: a tick every 1 s, first tick in 3.2 s" in messages
    assert ("Periodic task Recording.every_other_tick: every 2 ticks (2 s)"
            in messages)
    assert "Periodic task Recording.quarter_second: every 0.25 s" in messages


@pytest.mark.parametrize("watchdog_usec, beats", [(None, 0), (30.0, 2)])
def test_watchdog_only_when_systemd_asks(db, clock, config, monkeypatch,
                                         watchdog_usec, beats):
    sent = []
    monkeypatch.setattr(service.systemd, "watchdog_interval",
                        lambda: watchdog_usec)
    monkeypatch.setattr(service.systemd, "watchdog",
                        lambda: sent.append("WATCHDOG=1"))
    server = make_service(db, clock, config, report_interval=0,
                          periodic_enable=False)
    server.start()
    server.report_state()
    server.report_state()
    server.stop()
    assert len(sent) == beats


def test_watchdog_slower_than_twice_the_heartbeat_is_warned(
        db, clock, config, monkeypatch, caplog):
    monkeypatch.setattr(service.systemd, "watchdog_interval", lambda: 15.0)
    server = make_service(db, clock, config, report_interval=10,
                          periodic_enable=False)
    server.start()
    server.stop()
    assert any("more than half of systemd's WatchdogSec" in r.getMessage()
               for r in caplog.records)


def test_native_heartbeat_pauses_while_the_hub_is_stuck(db, clock, config,
                                                        caplog):
    config.config(service_down_time=30)
    server = make_service(db, clock, config)
    server.service_id = db.service_get_or_create(
        "node1", "novalite-compute", "compute").id
    beat = server.heartbeat
    beat.relay = concurrency.LogRelay(heartbeat.LOG)
    beat.own_db = db
    try:
        beat.hub_beacon()
        beat.native_report_state()
        clock.advance(31)  # the beacon has not run for 31 s
        beat.native_report_state()
        beat.native_report_state()
        assert db.service_get(server.service_id).report_count == 1
        beat.hub_beacon()
        beat.native_report_state()
        assert db.service_get(server.service_id).report_count == 2
        fakes.pause(0.05)  # let the relay log in the hub
        messages = [r.getMessage() for r in caplog.records]
        assert sum("Event loop stalled for 31 s" in m
                   for m in messages) == 1
        assert messages.count(
            "Event loop is running again; heartbeat resumed") == 1
    finally:
        beat.relay.close()


def test_a_long_pass_is_reported_as_a_stall(db, clock, config, caplog):
    config.config(periodic_stall_threshold=100)
    server = make_service(db, clock, config)
    seen = []

    def slow(context):
        server.heartbeat.hub_beacon()  # the beacon runs while the task works
        clock.advance(99)
        server.heartbeat.hub_beacon()
        clock.advance(2)
        server.heartbeat.hub_beacon()
        server.heartbeat.hub_beacon()
        clock.advance(100)
        server.heartbeat.hub_beacon()
        seen.append(server.manager.current_task)

    WORK["quarter_second"] = slow
    server.periodic_tasks()  # anchors the spacing task
    clock.advance(0.25)
    server.periodic_tasks()
    server.heartbeat.hub_beacon()  # between passes: nothing to report
    stalls = [r.getMessage() for r in caplog.records
              if r.getMessage().startswith("periodic loop stalled")]
    assert stalls == [
        "periodic loop stalled for 101 s (running: Recording.quarter_second)",
        "periodic loop stalled for 201 s (running: Recording.quarter_second)"]
    assert seen == ["Recording.quarter_second"]
    assert server.manager.current_task is None


def test_a_reset_during_a_pass_waits_for_it(db, clock, config, task_config):
    task_config("")
    server = make_service(db, clock, config)
    seen = []

    def task(context):
        task_config("[periodic_task:quarter_second]\nenabled = false\n")
        server.reset()
        seen.append(server.manager.periodic_task_settings(
            "quarter_second").enabled)
        seen.append("reset" in CALLS)

    WORK["quarter_second"] = task
    server.periodic_tasks()
    clock.advance(0.25)
    server.periodic_tasks()
    assert seen == [True, False]  # unchanged and not reset inside the pass
    assert CALLS[-1] == "reset"
    assert not server.manager.periodic_task_settings(
        "quarter_second").enabled


def test_hosts_restarted_together_spread_out(db, clock, config):
    phases = []
    for index in range(100):
        server = make_service(db, clock, config)
        server.host = "compute-%03d" % index
        phases.append(server.phase)
    assert len(set(phases)) == 100 and all(0 <= p < 1 for p in phases)
    deciles = [sum(1 for p in phases if k / 10 <= p < (k + 1) / 10)
               for k in range(10)]
    assert max(deciles) <= 20 and min(deciles) >= 3, deciles
    again = make_service(db, clock, config)
    again.host = "compute-042"
    assert again.phase == phases[42]  # the same place after a restart


def test_first_tick_and_heartbeat_start_at_the_hosts_phase(db, clock,
                                                          config, caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    server = make_service(db, clock, config, periodic_fuzzy_delay=60,
                          report_interval=10)
    server.start()
    server.stop()
    expected = "first tick in %.1f s" % (60 * server.phase)
    assert any(expected in r.getMessage() for r in caplog.records)


def test_each_host_beats_first_at_its_own_phase(db, clock, config):
    """Hosts restarted together must not beat in lockstep: the first beat
    comes one report_interval plus the host's phase of it after start."""
    config.config(heartbeat_in_native_thread=False)
    first_beat = {}
    for host in ("node-a", "node-b", "node-c"):
        server = service.Service.create(
            host=host, binary="novalite-compute", db=db, clock=clock,
            report_interval=10, periodic_enable=False)
        start = clock.now
        beats = []
        server.heartbeat.report_state = functools.partial(
            lambda seen: seen.append(clock.now), beats)
        server.start()
        while not beats:
            concurrency.cooperative_yield()
        server.stop()
        first_beat[host] = beats[0] - start
        assert first_beat[host] == pytest.approx(10 * (1 + server.phase))
    assert len(set(first_beat.values())) == 3


def test_the_native_heartbeat_beats_through_its_own_database(db, clock,
                                                             config):
    """The OS thread must not share the event loop's engine (and its
    locks): with the service's own database failing, it still beats."""
    flaky = FlakyDatabase(db)
    server = make_service(flaky, clock, config, report_interval=10,
                          periodic_enable=False)
    server.start()
    try:
        flaky.down = True
        server.heartbeat.native_report_state()
        assert not server.model_disconnected
        assert db.service_get(server.service_id).report_count == 1
    finally:
        flaky.down = False
        server.stop()


def test_a_run_that_ends_while_the_service_stops_is_saved(db, clock,
                                                          config):
    release = concurrency.new_event()
    WORK["quarter_second"] = lambda context: release.wait()
    server = make_service(db, clock, config, report_interval=0)
    server.start()
    while server.manager.current_task != "Recording.quarter_second":
        concurrency.cooperative_yield()

    def release_soon():
        for _ in range(3):
            concurrency.cooperative_yield()
        release.send(True)

    concurrency.spawn(release_soon)
    server.stop(graceful_timeout=30)
    server.wait()
    saved = {row.task: row for row in db.task_stats_get_all("node1")}
    assert saved["quarter_second"].runs == 1
    assert saved["quarter_second"].last_start is not None


def test_views_of_the_running_service_know_when_ticks_come(db, clock,
                                                           config):
    server = make_service(db, clock, config, periodic_interval=10.0)
    start = clock.now
    server.periodic_tasks()
    views = {view.name: view for view in server.periodic_runner.views()}
    tick_task = views["every_other_tick"]
    assert tick_task.ticks_until_next_run == 1
    clock.now = start + 10
    server.periodic_tasks()
    assert tick_task.runs == 1 and tick_task.ticks_until_next_run == 2
    assert tick_task.next_run == render.utc(
        clock.time() - clock.now + start + 30)
    assert tick_task.schedule == "every 2 ticks (20 s)"
    saved = {row.task: row for row in db.task_stats_get_all("node1")}
    assert saved["every_other_tick"].next_due == tick_task.next_run
    assert saved["quarter_second"].next_due == views[
        "quarter_second"].next_run


def test_one_file_tunes_every_service_of_the_fleet(db, clock, config,
                                                   tmp_path):
    """As one nova.conf: the scheduler leaves the compute's task sections
    to the compute, and still refuses a section no service has."""
    from novalite import config as novalite_config

    path = tmp_path / "fleet.conf"
    config.set_config_files([str(path)])
    path.write_text("[periodic_task:sync_power_states]\nspacing = 900\n"
                    "[periodic_task:expire_stale_capabilities]\n"
                    "ticks_between_runs = 2\n")
    scheduler = service.Service.create(binary="novalite-scheduler", db=db,
                                       clock=clock, host="sched1")
    assert scheduler.manager.periodic_task_settings(
        "expire_stale_capabilities").ticks == 2
    path.write_text("[periodic_task:sync_power_state]\nspacing = 900\n")
    with pytest.raises(novalite_config.ConfigError,
                       match="SchedulerManager has no periodic task "
                             "'sync_power_state'"):
        service.Service.create(binary="novalite-scheduler", db=db,
                               clock=clock, host="sched1")
