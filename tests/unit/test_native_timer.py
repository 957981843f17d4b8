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

"""NativeTimer, the heartbeat's OS-thread timer, on a fake clock.

The timer runs in its real OS thread, but its clock never sleeps: each
test is over in microseconds and its times are exact. ``join`` has a
timeout only so that a broken timer fails the test instead of hanging it.
"""

from novalite import concurrency
from tests import fakes

INTERVAL = 10.0
JOIN = 10.0


class Beats:
    """The timer's function: records the fake time of each call, "works"
    ``costs[n]`` seconds on call n, and stops the timer after call
    ``stop_after``."""

    def __init__(self, clock, cost=0.0, costs=None, stop_after=None,
                 fail=False):
        self.clock = clock
        self.cost = cost
        self.costs = costs or {}
        self.stop_after = stop_after
        self.fail = fail
        self.calls = []
        self.timer = None

    def __call__(self):
        self.calls.append(self.clock.now)
        number = len(self.calls)
        self.clock.advance(self.costs.get(number, self.cost))
        if number == self.stop_after:
            self.timer.stop()
        if self.fail:
            raise RuntimeError("beat %d failed" % number)

    def offsets(self, start):
        return [round(t - start, 9) for t in self.calls]


def run_timer(clock, beats, initial_delay=0.0):
    timer = concurrency.NativeTimer(beats, INTERVAL,
                                     initial_delay=initial_delay,
                                     name="test-timer", clock=clock)
    beats.timer = timer
    timer.start()
    assert timer.join(JOIN), "the timer thread did not end"
    return timer


def test_beats_stay_on_the_grid_whatever_the_beat_and_wake_ups_cost():
    # Each beat takes 0.3 interval and every wake-up comes 0.1 interval
    # late: beat k is still at k * interval (+ one lateness, never summed).
    clock = fakes.FakeNativeClock(late_wakeups=0.1 * INTERVAL)
    start = clock.now
    beats = Beats(clock, cost=0.3 * INTERVAL, stop_after=6)
    run_timer(clock, beats)
    assert beats.offsets(start) == [k * INTERVAL + 1.0 for k in range(6)]


def test_initial_delay_shifts_the_grid():
    clock = fakes.FakeNativeClock(late_wakeups=0.5)
    start = clock.now
    beats = Beats(clock, cost=3.0, stop_after=4)
    run_timer(clock, beats, initial_delay=25.0)
    assert beats.offsets(start) == [25.5, 35.5, 45.5, 55.5]


def test_an_overrun_skips_to_the_next_free_slot_without_a_burst():
    clock = fakes.FakeNativeClock(late_wakeups=1.0)
    start = clock.now
    # beat 2 (due 10, woke 11) runs 35 s, to 46: slots 20, 30, 40 are gone
    beats = Beats(clock, cost=3.0, costs={2: 35.0}, stop_after=5)
    run_timer(clock, beats)
    assert beats.offsets(start) == [1.0, 11.0, 51.0, 61.0, 71.0]
    # after the overrun it waited for slot 50; it never fired back to back
    assert clock.timeouts[2] == 4.0
    assert all(timeout > 0 for timeout in clock.timeouts[1:])


def test_a_failing_beat_keeps_the_schedule():
    clock = fakes.FakeNativeClock()
    start = clock.now
    beats = Beats(clock, cost=2.0, stop_after=3, fail=True)
    run_timer(clock, beats)
    assert beats.offsets(start) == [0.0, 10.0, 20.0]


def test_stop_wakes_a_waiting_timer_and_ends_it():
    # After three beats the fake clock parks the thread in a real wait on
    # the stop event: only stop() can end it.
    clock = fakes.FakeNativeClock(park_after=3)
    beats = Beats(clock, cost=1.0)
    timer = concurrency.NativeTimer(beats, INTERVAL, clock=clock)
    timer.start()
    assert clock.parked.wait(JOIN)
    assert not timer.join(0)
    timer.stop()
    assert timer.join(JOIN)
    assert len(beats.calls) == 3
    timer.stop()  # again: harmless


def test_stopped_before_its_first_beat_it_never_beats():
    clock = fakes.FakeNativeClock()
    beats = Beats(clock)
    timer = concurrency.NativeTimer(beats, INTERVAL, initial_delay=5,
                                     clock=clock)
    timer.stop()
    timer.start()
    assert timer.join(JOIN)
    assert beats.calls == []


def test_default_clock_is_real_and_stop_interrupts_its_wait():
    # Real time, but nothing is timed: stop() must end a one-hour wait.
    first = concurrency.new_native_event()
    timer = concurrency.NativeTimer(first.set, 3600)
    assert timer.clock is concurrency.NATIVE_CLOCK
    timer.start()
    assert first.wait(JOIN)
    timer.stop()
    assert timer.join(JOIN)
