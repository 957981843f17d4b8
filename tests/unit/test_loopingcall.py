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

"""LoopingCall and DynamicLoopingCall on a fake clock."""

import time

import pytest

from novalite import concurrency
from novalite import loopingcall
from tests import fakes


class Recorder:
    """A looped function that records the fake time of each call.

    :param costs: seconds each call "works" (advances the clock), by call.
    :param stop_after: raise LoopingCallDone(stop_after) on that call.
    :param fail_on: call numbers that raise RuntimeError.
    """

    def __init__(self, clock, costs=None, stop_after=None, fail_on=(),
                 returns=None):
        self.clock = clock
        self.costs = costs or {}
        self.stop_after = stop_after
        self.fail_on = set(fail_on)
        self.returns = returns
        self.calls = []

    def __call__(self):
        self.calls.append(self.clock.now)
        number = len(self.calls)
        self.clock.advance(self.costs.get(number, 0))
        if number in self.fail_on:
            raise RuntimeError("call %d failed" % number)
        if number == self.stop_after:
            raise loopingcall.LoopingCallDone(number)
        if self.returns is not None:
            return self.returns(number)
        return None


def looping(cls, function, clock):
    call = cls(function)
    call.clock = clock
    return call


def offsets(recorder, start):
    return [round(t - start, 9) for t in recorder.calls]


def test_calls_are_on_a_fixed_grid_whatever_they_cost(clock):
    start = clock.now
    recorder = Recorder(clock, costs={2: 0.3, 3: 0.9}, stop_after=5)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    assert call.start(interval=1).wait() == 5
    assert offsets(recorder, start) == [0, 1, 2, 3, 4]


def test_late_wake_ups_do_not_accumulate():
    # Every wake-up comes 0.3 s late: call k is at k * interval + 0.3,
    # not k * (interval + 0.3) as a grid re-anchored at each wake-up gives.
    clock = fakes.FakeClock(late_wakeups=0.3)
    start = clock.now
    recorder = Recorder(clock, costs={2: 0.5, 3: 0.2}, stop_after=6)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    assert call.start(interval=1).wait() == 6
    assert offsets(recorder, start) == [0.3, 1.3, 2.3, 3.3, 4.3, 5.3]


def test_late_wake_ups_over_many_calls_stay_on_the_grid():
    clock = fakes.FakeClock(late_wakeups=0.3)
    start = clock.now
    recorder = Recorder(clock, stop_after=50)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    call.start(interval=10, initial_delay=5, now=False).wait()
    assert offsets(recorder, start) == [
        round(5 + 10 * k + 0.3, 9) for k in range(1, 51)]


def test_late_wake_ups_and_an_overrun_take_the_next_free_slot(debug_log):
    clock = fakes.FakeClock(late_wakeups=0.3)
    start = clock.now
    recorder = Recorder(clock, costs={2: 3.5}, stop_after=4)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    call.start(interval=1).wait()
    # call 2 (due 1, woke 1.3) ends at 4.8: slots 2, 3 and 4 are gone
    assert offsets(recorder, start) == [0.3, 1.3, 5.3, 6.3]
    assert sum("missed 3 call(s)" in m for m in debug_log.messages) == 1


def test_dynamic_never_sleeps_less_than_asked_after_late_wake_ups():
    # No grid here: each sleep is the full time the function returned,
    # counted from the end of its call; a late wake-up is not made up for.
    clock = fakes.FakeClock(late_wakeups=0.3)
    start = clock.now
    recorder = Recorder(clock, costs={1: 1, 2: 2}, stop_after=4,
                        returns=lambda n: 10)
    call = looping(loopingcall.DynamicLoopingCall, recorder, clock)
    assert call.start(initial_delay=1).wait() == 4
    assert offsets(recorder, start) == [1.3, 12.6, 24.9, 35.2]


def test_fixed_interval_alias():
    assert loopingcall.FixedIntervalLoopingCall is loopingcall.LoopingCall


def test_initial_delay_and_now_false_shift_the_grid(clock):
    start = clock.now
    recorder = Recorder(clock, stop_after=3)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    call.start(interval=2, initial_delay=5, now=False).wait()
    assert offsets(recorder, start) == [7, 9, 11]


def test_overrun_logs_missed_slots_and_takes_the_next_free_one(
        clock, debug_log):
    start = clock.now
    recorder = Recorder(clock, costs={2: 3.5}, stop_after=4)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    call.start(interval=1).wait()
    assert offsets(recorder, start) == [0, 1, 5, 6]
    warnings = [r.getMessage() for r in debug_log.records
                if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "Recorder" in warnings[0] or "recorder" in warnings[0].lower()
    assert "missed 3 call(s)" in warnings[0]


def test_exception_stops_the_loop_and_wait_reraises(clock):
    recorder = Recorder(clock, fail_on={2})
    call = looping(loopingcall.LoopingCall, recorder, clock)
    call.start(interval=1)
    with pytest.raises(RuntimeError, match="call 2 failed"):
        call.wait()
    assert len(recorder.calls) == 2
    assert not call.running


def test_without_stop_on_exception_the_schedule_is_kept(clock, debug_log):
    start = clock.now
    recorder = Recorder(clock, fail_on={1, 2, 3}, stop_after=5)
    call = looping(loopingcall.LoopingCall, recorder, clock)
    assert call.start(interval=10, stop_on_exception=False).wait() == 5
    assert offsets(recorder, start) == [0, 10, 20, 30, 40]
    assert sum("failed; the loop goes on" in m
               for m in debug_log.messages) == 3


def test_stop_interrupts_a_long_sleep_at_once():
    # Real time: stop() must not wait out a one-hour sleep.
    calls = []
    call = loopingcall.LoopingCall(lambda: calls.append(1))
    call.start(interval=3600)
    fakes.wait_until(lambda: calls)
    started = time.monotonic()
    concurrency.spawn(lambda: fakes.pause(0.01) or call.stop())
    assert call.wait() is True
    assert time.monotonic() - started < 5
    assert calls == [1]


def test_stop_twice_and_before_start_is_harmless(clock):
    call = looping(loopingcall.LoopingCall, lambda: None, clock)
    call.stop()
    call.start(interval=1)
    call.stop()
    call.stop()
    assert call.wait() is True


def test_stop_from_inside_the_function_ends_after_that_call(clock):
    calls = []

    def once():
        calls.append(clock.now)
        call.stop()

    call = looping(loopingcall.LoopingCall, once, clock)
    call.start(interval=1)
    assert call.wait() is True
    assert len(calls) == 1


def test_cannot_start_twice_while_running(clock):
    call = looping(loopingcall.LoopingCall, lambda: None, clock)
    call.start(interval=1)
    with pytest.raises(RuntimeError, match="already running"):
        call.start(interval=1)
    call.stop()
    call.wait()
    call.start(interval=1, now=False)  # a finished loop may start again
    call.stop()
    call.wait()


def test_wait_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="never started"):
        loopingcall.LoopingCall(lambda: None).wait()


def test_args_and_kwargs_reach_the_function(clock):
    seen = []

    def function(a, b=None):
        seen.append((a, b))
        raise loopingcall.LoopingCallDone("done")

    call = loopingcall.LoopingCall(function, 1, b=2)
    call.clock = clock
    assert call.start(interval=1).wait() == "done"
    assert seen == [(1, 2)]


def test_dynamic_sleeps_for_what_the_function_returns(clock):
    start = clock.now
    recorder = Recorder(clock, stop_after=4, returns=lambda n: n * 10)
    call = looping(loopingcall.DynamicLoopingCall, recorder, clock)
    assert call.start(initial_delay=1).wait() == 4
    assert offsets(recorder, start) == [1, 11, 31, 61]


def test_dynamic_caps_the_sleep(clock):
    start = clock.now
    recorder = Recorder(clock, stop_after=3, returns=lambda n: 1000)
    call = looping(loopingcall.DynamicLoopingCall, recorder, clock)
    call.start(periodic_interval_max=5).wait()
    assert offsets(recorder, start) == [0, 5, 10]


def test_dynamic_none_uses_the_cap_or_fails_clearly(clock):
    recorder = Recorder(clock, stop_after=2)
    call = looping(loopingcall.DynamicLoopingCall, recorder, clock)
    assert call.start(periodic_interval_max=3).wait() == 2
    call = looping(loopingcall.DynamicLoopingCall, Recorder(clock), clock)
    call.start()
    with pytest.raises(RuntimeError, match="returned no interval"):
        call.wait()


def test_dynamic_infinite_sleep_waits_for_stop(clock):
    calls = []
    call = looping(loopingcall.DynamicLoopingCall,
                   lambda: calls.append(1) or float("inf"), clock)
    call.start()
    fakes.wait_until(lambda: calls)
    call.stop()
    assert call.wait() is True
    assert calls == [1]


def test_dynamic_error_without_stop_waits_and_never_spins(clock):
    start = clock.now
    recorder = Recorder(clock, fail_on={2, 3}, stop_after=4,
                        returns=lambda n: 7)
    call = looping(loopingcall.DynamicLoopingCall, recorder, clock)
    call.start(stop_on_exception=False).wait()
    # after an error it waits the last interval it was told
    assert offsets(recorder, start) == [0, 7, 14, 21]

    recorder = Recorder(clock, fail_on={1}, stop_after=2)
    call = looping(loopingcall.DynamicLoopingCall, recorder, clock)
    start = clock.now
    call.start(stop_on_exception=False).wait()
    assert offsets(recorder, start) == [
        0, loopingcall.ERROR_RETRY_INTERVAL]


def test_killed_loop_does_not_leave_wait_blocked(clock):
    call = looping(loopingcall.LoopingCall, lambda: None, clock)
    call.start(interval=1)
    call.kill()
    with pytest.raises(concurrency.Killed, match="was killed"):
        call.wait()
    assert not call.running


def test_kill_abandons_a_call_in_progress():
    calls = []
    released = concurrency.new_event()

    def hangs():
        calls.append(1)
        concurrency.CLOCK.wait(released, 3600)

    call = loopingcall.LoopingCall(hangs)
    call.start(interval=1)
    fakes.wait_until(lambda: calls)
    assert calls == [1] and not call.ended
    call.stop()
    assert not call.running and not call.ended  # still inside the call
    call.kill()
    with pytest.raises(concurrency.Killed):
        call.wait()
    assert call.ended
    released.send(True)  # a native thread is abandoned, not interrupted
