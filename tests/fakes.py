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

"""Test doubles shared by the unit tests."""

import operator
import time

from novalite import concurrency


class FakeClock:
    """A clock whose time moves only when a test or a task moves it.

    Implements the clock seam of novalite.concurrency.CLOCK. A task
    "works" for a while by calling ``advance``; if a deadline armed by
    ``call_within()`` falls inside, time stops at the deadline and the
    deadline's exception is raised there, as eventlet's Timeout would at
    the task's next yield.

    ``late_wakeups``: every ``wait()`` that times out returns that many
    seconds after its deadline, as a busy host's scheduler would wake a
    sleeper late.
    """

    def __init__(self, start=1000.0, wall_start=1_700_000_000.0,
                 late_wakeups=0.0):
        self.now = start
        self.late_wakeups = late_wakeups
        self._to_wall = wall_start - start
        self._deadlines = []

    def monotonic(self):
        return self.now

    def time(self):
        return self.now + self._to_wall

    def advance(self, seconds):
        target = self.now + seconds
        if self._deadlines:
            when, exc = min(self._deadlines, key=operator.itemgetter(0))
            if when <= target:
                self.now = max(self.now, when)
                raise exc
        self.now = target

    def wait(self, event, timeout):
        """Skip ``timeout`` seconds (plus ``late_wakeups``) at once,
        letting other greenthreads run, unless the event is already sent."""
        if event.ready() or timeout is None:
            return event.wait()
        self.advance(timeout + self.late_wakeups)
        concurrency.cooperative_yield()
        return event.wait() if event.ready() else None

    def call_within(self, seconds, expired, function, *args):
        """``function(*args)``, with ``expired`` raised where it advances
        time past ``seconds``."""
        entry = (self.now + seconds, expired)
        self._deadlines.append(entry)
        try:
            return function(*args)
        finally:
            self._deadlines.remove(entry)


class FakeNativeClock(FakeClock):
    """A FakeClock for code that waits on a native ``threading.Event`` in
    an OS thread: novalite.concurrency.NativeTimer's clock seam.

    Its waits never sleep: they skip the timeout (plus ``late_wakeups``)
    unless the event is set. ``timeouts`` lists what each wait asked.
    After ``park_after`` waits, the next one blocks in real time until the
    event is set, so a test can stop the thread from outside; ``parked``
    (a native event) tells it the thread got there.
    """

    def __init__(self, start=1000.0, late_wakeups=0.0, park_after=None):
        super().__init__(start=start, late_wakeups=late_wakeups)
        self.park_after = park_after
        self.timeouts = []
        self.parked = concurrency.new_native_event()

    def wait(self, event, timeout):
        if event.is_set():
            return True
        self.timeouts.append(timeout)
        if (self.park_after is not None
                and len(self.timeouts) > self.park_after):
            self.parked.set()
            return event.wait(60)
        self.advance(timeout + self.late_wakeups)
        return event.is_set()


def pause(seconds):
    """Sleep in real time in the test, letting the service's threads or
    greenthreads run meanwhile (the test process is not monkey-patched,
    so ``time.sleep`` would hold the eventlet hub)."""
    concurrency.CLOCK.wait(concurrency.new_event(), seconds)


def wait_until(predicate, timeout=10.0, step=0.005):
    """Pause until ``predicate()`` is true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting: %s" % predicate
        pause(step)
