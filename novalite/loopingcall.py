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

"""Greenthread timers that call a function again and again.

``LoopingCall`` keeps a fixed grid: call k is due at ``t0 + k * interval``,
whatever the previous calls cost, so nothing drifts. A call that overruns
its slot is reported once with the number of slots it covered, and the loop
resumes at the next free slot instead of bursting to catch up.
``DynamicLoopingCall`` sleeps for whatever its function returns.

``stop()`` interrupts the sleep at once. Time and waiting go through a
clock (``novalite.concurrency.CLOCK``), which tests replace.
"""

import math
import sys

from oslo_log import log as logging

from novalite import concurrency

LOG = logging.getLogger(__name__)

#: Seconds a DynamicLoopingCall waits after an error when neither its
#: function nor ``periodic_interval_max`` said how long to wait.
ERROR_RETRY_INTERVAL = 1.0


class LoopingCallDone(Exception):
    """Raised by the looped function to end the loop.

    ``retvalue`` becomes the result of ``wait()``.
    """

    def __init__(self, retvalue=True):
        super().__init__()
        self.retvalue = retvalue


def _name_of(function):
    return getattr(function, "__qualname__", None) or repr(function)


class _LoopingCallBase:
    #: The clock seam; tests set a fake clock on the instance.
    clock = concurrency.CLOCK

    def __init__(self, f=None, *args, **kw):
        self.f = f
        self.args = args
        self.kw = kw
        self._running = False
        self._thread = None
        self._done = None
        self._stop_event = None

    @property
    def running(self):
        """True from start() until stop() is asked or the loop ends."""
        return self._running

    @property
    def ended(self):
        """True once the loop's greenthread has finished, however."""
        return self._done is not None and self._done.ready()

    def _start(self, loop, initial_delay, stop_on_exception, *loop_args):
        if self._thread is not None and not self._done.ready():
            raise RuntimeError("%s of %s is already running"
                               % (type(self).__name__, _name_of(self.f)))
        self._running = True
        self._stop_event = concurrency.new_event()
        self._done = concurrency.new_event()
        self._thread = concurrency.spawn(
            self._run, loop, initial_delay, stop_on_exception, *loop_args)
        self._thread.link(self._on_thread_exit, self._done)
        return self._done

    def stop(self):
        """Stop looping; a sleeping loop wakes at once. Safe to repeat."""
        self._running = False
        if self._stop_event is not None and not self._stop_event.ready():
            self._stop_event.send(True)

    def kill(self):
        """Stop at once, even in the middle of a call (under eventlet it is
        interrupted where it yields; a native thread is abandoned and ends
        with its call). ``wait()`` then raises ``concurrency.Killed``."""
        self.stop()
        if self._thread is not None and not self._done.ready():
            self._thread.kill()

    def wait(self, timeout=None):
        """Block until the loop ends, at most ``timeout`` seconds (None:
        forever); return LoopingCallDone's retvalue (None if the loop is
        still running: see ``ended``).

        Re-raises the exception that ended the loop, if one did.
        """
        if self._done is None:
            raise RuntimeError("%s was never started" % type(self).__name__)
        return self._done.wait(timeout)

    def _sleep(self, seconds):
        """Sleep unless stopped; return True if the loop should go on."""
        if not self._running:
            return False
        if seconds is not None and seconds < 0:
            seconds = 0
        self.clock.wait(self._stop_event, seconds)
        return self._running

    def _call(self, stop_on_exception):
        """Call the function; return (ok, result). LoopingCallDone passes."""
        try:
            return True, self.f(*self.args, **self.kw)
        except LoopingCallDone:
            raise
        except Exception:
            if stop_on_exception:
                raise
            LOG.exception("%s failed; the loop goes on", _name_of(self.f))
            return False, None

    def _run(self, loop, initial_delay, stop_on_exception, *loop_args):
        done = self._done
        try:
            loop(initial_delay or 0, stop_on_exception, *loop_args)
        except LoopingCallDone as exc:
            self._running = False
            if not done.ready():  # else kill() gave up on this loop
                done.send(exc.retvalue)
        except Exception:
            self._running = False
            LOG.exception("%s of %s ended by an error", type(self).__name__,
                          _name_of(self.f))
            if not done.ready():
                done.send_exception(*sys.exc_info())
        else:
            self._running = False
            if not done.ready():
                done.send(True)

    def _on_thread_exit(self, thread, done):
        """A killed thread must not leave wait() blocked forever."""
        if not done.ready():
            self._running = False
            done.send_exception(concurrency.Killed(
                "%s of %s was killed" % (type(self).__name__,
                                         _name_of(self.f))))


class LoopingCall(_LoopingCallBase):
    """Call ``f(*args, **kw)`` every ``interval`` seconds, drift-free."""

    def start(self, interval, initial_delay=None, now=True,
              stop_on_exception=True):
        """Start the loop in a greenthread.

        :param interval: seconds between the due times of two calls.
        :param initial_delay: seconds to wait before the grid starts.
        :param now: make the first call at the start of the grid; if false,
            the first call is one interval later.
        :param stop_on_exception: end the loop on an error (``wait()``
            re-raises it); if false, log it and keep the schedule.
        :returns: an event whose ``wait()`` is this object's ``wait()``.
        """
        return self._start(self._loop, initial_delay, stop_on_exception,
                           interval, now)

    def _loop(self, initial_delay, stop_on_exception, interval, now):
        clock = self.clock
        t0 = clock.monotonic() + initial_delay
        slot = 0 if now else 1
        while self._sleep(t0 + slot * interval - clock.monotonic()):
            self._call(stop_on_exception)
            if interval <= 0:
                slot += 1
                continue
            end = clock.monotonic()
            next_free = math.floor((end - t0) / interval) + 1
            missed = next_free - slot - 1
            if missed > 0:
                LOG.warning("%(name)s ran %(late).3f s past its slot and "
                            "missed %(missed)d call(s); the next call is at "
                            "the next free slot",
                            {"name": _name_of(self.f), "missed": missed,
                             "late": end - (t0 + (slot + 1) * interval)})
            slot = max(next_free, slot + 1)


FixedIntervalLoopingCall = LoopingCall


class DynamicLoopingCall(_LoopingCallBase):
    """Call ``f`` and sleep for the number of seconds it returns."""

    def start(self, initial_delay=None, periodic_interval_max=None,
              stop_on_exception=True):
        """Start the loop in a greenthread.

        :param initial_delay: seconds to wait before the first call.
        :param periodic_interval_max: the longest sleep, whatever ``f``
            returns; also the wait after an error, if errors do not stop.
        :param stop_on_exception: as for LoopingCall.start.
        :returns: an event whose ``wait()`` is this object's ``wait()``.
        """
        return self._start(self._loop, initial_delay, stop_on_exception,
                           periodic_interval_max)

    def _loop(self, initial_delay, stop_on_exception, interval_max):
        idle = initial_delay
        last_idle = None
        while self._sleep(idle):
            ok, result = self._call(stop_on_exception)
            if ok:
                idle = self._idle_for(result, interval_max)
                last_idle = idle
            elif interval_max is not None:
                idle = interval_max
            else:
                idle = last_idle or ERROR_RETRY_INTERVAL

    def _idle_for(self, result, interval_max):
        if result is None:
            if interval_max is None:
                raise RuntimeError(
                    "%s returned no interval and no periodic_interval_max "
                    "was given" % _name_of(self.f))
            return interval_max
        if interval_max is not None:
            result = min(result, interval_max)
        return None if result == math.inf else result
