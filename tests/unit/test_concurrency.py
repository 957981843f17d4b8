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


"""The concurrency seam: the backend switch, and what the threading
backend does where a thread cannot be interrupted."""

import logging

import pytest

from novalite import backend
from novalite import concurrency
from novalite.concurrency import native
from novalite import exception
from novalite.periodic import runner
from novalite.periodic import settings as task_settings
from novalite.periodic import taskset

from tests import fakes


@pytest.mark.parametrize("value, chosen", [
    (None, "eventlet"), ("", "eventlet"), (" threading ", "threading"),
    ("eventlet", "eventlet")])
def test_the_backend_comes_from_the_environment(value, chosen):
    environ = {} if value is None else {"NOVALITE_BACKEND": value}
    assert backend.from_environment(environ) == chosen


def test_an_unknown_backend_is_one_line_naming_the_choices():
    with pytest.raises(backend.UnknownBackend) as caught:
        backend.from_environment({"NOVALITE_BACKEND": "asyncio"})
    assert str(caught.value) == ("NOVALITE_BACKEND: unknown backend "
                                 "'asyncio' (choose eventlet or threading)")


only_eventlet = pytest.mark.skipif(
    concurrency.BACKEND != "eventlet",
    reason="greenthreads: a threading-backend process keeps eventlet out")


def test_a_call_within_its_deadline_returns_its_value():
    expired = exception.PeriodicTaskTimedOut("t", 5)
    assert concurrency.CLOCK.call_within(5, expired, lambda x: 2 * x,
                                         21) == 42


@only_eventlet
def test_a_greenthread_past_its_deadline_is_interrupted():
    from novalite.concurrency import green
    expired = exception.PeriodicTaskTimedOut("t", 0.01)
    finished = []

    def slow():
        green.Clock.wait(green.new_event(), 5)
        finished.append(True)

    with pytest.raises(exception.PeriodicTaskTimedOut) as caught:
        green.Clock.call_within(0.01, expired, slow)
    assert caught.value is expired and expired.abandoned_run is None
    assert not finished


def test_a_thread_past_its_deadline_is_abandoned_and_runs_on():
    expired = exception.PeriodicTaskTimedOut("t", 0.01)
    release = native.new_event()
    finished = []

    def slow():
        release.wait(5)
        finished.append(True)

    with pytest.raises(exception.PeriodicTaskTimedOut) as caught:
        native.Clock.call_within(0.01, expired, slow)
    run = caught.value.abandoned_run
    assert caught.value is expired and not run.ready()
    release.send(True)
    run.wait(5)
    assert run.ready() and finished == [True]


def test_an_abandoned_thread_is_given_up_at_once_and_ends_unseen():
    release = native.new_event()
    linked = []
    thread = native.spawn(release.wait, 5)
    thread.link(lambda t, what: linked.append(what), "ended")
    thread.kill()
    with pytest.raises(native.Killed):
        thread.wait()
    assert linked == ["ended"]
    release.send(True)
    fakes.wait_until(lambda: not thread._thread.is_alive())
    with pytest.raises(native.Killed):
        thread.wait()  # the late end changes nothing
    assert linked == ["ended"]


def test_a_native_event_is_sent_once():
    event = native.new_event()
    assert event.wait(0.001) is None and not event.ready()
    event.send("first")
    event.send("second")
    assert event.wait() == "first"
    failed = native.new_event()
    failed.send_exception(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        failed.wait()


def test_a_task_abandoned_at_its_timeout_is_not_started_again_until_it_ends(
        caplog):
    """On native threads a task's timeout cannot interrupt it: the run is
    counted as a timeout as under eventlet, and while it is still inside,
    the task's next turns are skipped, never run beside it."""
    caplog.set_level(logging.INFO, logger="novalite")
    release = native.new_event()
    started = []

    def hangs(context):
        started.append(context)
        release.wait(10)

    tasks = taskset.TaskSet("Probe", native.Clock())
    tasks.add("hangs", hangs, task_settings.TaskSettings(timeout=0.05))
    tasks.run_pass("first")
    state = next(iter(tasks._schedule))
    assert started == ["first"]
    assert (state.runs, state.timeouts) == (1, 1)
    tasks.run_pass("second")
    tasks.run_pass("third")
    assert started == ["first"] and state.runs == 1
    release.send(True)
    fakes.wait_until(lambda: tasks._abandoned["hangs"].ready())
    tasks.run_pass("fourth")
    assert started == ["first", "fourth"]
    assert (state.runs, state.timeouts) == (2, 1)
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "timed out after" in m][0] == (
        "Periodic task Probe.hangs timed out after 0.05 s and was abandoned "
        "(it runs on in its thread, and is not started again until it "
        "ends)")
    assert sum("is still inside the run abandoned" in m
               for m in messages) == 2
    assert sum("abandoned at its timeout has ended" in m
               for m in messages) == 1


def test_a_stopping_pass_starts_no_further_task(clock):
    tasks = taskset.TaskSet("Probe", clock)
    ran = []

    def first(context):
        ran.append("first")
        tasks.stopping = len(ran) == 1  # the service stops during the first

    tasks.add("first", first, task_settings.TaskSettings())
    tasks.add("second", lambda context: ran.append("second"),
              task_settings.TaskSettings())
    tasks.run_pass(None)
    assert ran == ["first"]
    tasks.stopping = False
    tasks.run_pass(None)
    assert ran == ["first", "first", "second"]


def test_an_action_queued_during_an_idle_action_runs_after_it(clock):
    """On threads another thread may queue an action (a database reopen)
    while one runs outside any pass (a reload): it runs next, not at the
    end of a pass that may never come."""
    tasks = taskset.TaskSet("Probe", clock)
    periodic = runner.PeriodicRunner(tasks, None, 60, clock, 300)
    done = []

    def reload():
        periodic.when_idle(lambda: done.append("reopen"), "reopen")
        done.append("reload")

    periodic.when_idle(reload, "reload")
    assert done == ["reload", "reopen"]
    periodic.when_idle(lambda: done.append("later"), "later")
    assert done[-1] == "later"
