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


"""OS threads for both backends: a drift-free timer in a thread of its
own, keyed locks, and a thread for work that may block in the kernel.

Under eventlet these are the real threads of the standard library as it
was before monkey patching (the heartbeat must keep beating while a task
holds the hub); under the threading backend they are plain threads.
"""

import contextlib
import importlib
import threading
import time

from novalite import backend


def original(name):
    """The standard library module ``name`` as it was before any monkey
    patching."""
    if backend.chosen() == backend.EVENTLET:
        from eventlet import patcher
        return patcher.original(name)
    return importlib.import_module(name)


_threading = original("threading")

#: The longest a stopping service waits for one of its OS threads.
NATIVE_JOIN_SECONDS = 5.0


def new_native_event():
    """A ``threading.Event`` of the OS threads, green patching or not."""
    return _threading.Event()


class BaseClock:
    """What both backends' clocks share: monotonic time, wall time, and
    waits on an event of their kind."""

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    @staticmethod
    def wait(event, timeout):
        """Wait for ``event`` at most ``timeout`` seconds (None: forever).

        :returns: the value sent to the event, or None on timeout.
        """
        return event.wait(timeout)


class NativeClock:
    """NativeTimer's clock seam: monotonic time and waits on a native
    ``threading.Event``. Tests hand NativeTimer a fake one."""

    monotonic = staticmethod(time.monotonic)

    @staticmethod
    def wait(event, timeout):
        """Wait for ``event`` at most ``timeout`` seconds; True if set."""
        return event.wait(timeout)


NATIVE_CLOCK = NativeClock()


class NativeTimer:
    """Call ``function`` every ``interval`` seconds in an OS thread.

    The calls keep a drift-free grid whatever the other threads (or the
    eventlet hub) are doing: a task stuck in a C call that never yields
    stops every greenthread, not this. Under eventlet ``function`` runs
    outside the hub, so it must not touch green locks another thread may
    hold (logging included: see LogRelay). ``clock`` (default:
    NATIVE_CLOCK) is where time and waiting come from.
    """

    def __init__(self, function, interval, initial_delay=0.0,
                 name="novalite-timer", clock=None):
        self.function = function
        self.interval = interval
        self.initial_delay = initial_delay
        self.clock = clock or NATIVE_CLOCK
        self._stop = new_native_event()
        self._thread = _threading.Thread(target=self._run, name=name,
                                         daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        """Wait for the thread to end; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def wait(self):
        """As a LoopingCall's wait(): block until the thread ended, or at
        most NATIVE_JOIN_SECONDS: a beat stuck in the kernel must not keep
        the process from exiting (the thread is a daemon)."""
        self.join(NATIVE_JOIN_SECONDS)

    def _run(self):
        clock = self.clock
        start = clock.monotonic() + self.initial_delay
        slot = 0
        while not clock.wait(self._stop, max(
                start + slot * self.interval - clock.monotonic(), 0)):
            try:
                self.function()
            except Exception:  # the caller's function is to report its own
                pass
            slot = max(slot + 1, int(
                (clock.monotonic() - start) // self.interval) + 1)


class KeyedLocks:
    """One re-entrant lock per key (an instance's uuid), made on first use
    and dropped when nobody holds or waits for it: nova's
    ``@synchronized(instance.uuid)``. The locks of ``threading`` as the
    process has it: green in a monkey-patched process, native otherwise.
    """

    def __init__(self):
        self._guard = threading.Lock()
        self._locks = {}

    @contextlib.contextmanager
    def __call__(self, key):
        with self._guard:
            entry = self._locks.setdefault(key, [threading.RLock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[key]

    def __len__(self):
        return len(self._locks)


def start_native_thread(function, name):
    """Run ``function`` in a daemon OS thread (not a greenthread), for
    work that may block in the kernel without stopping the event loop."""
    thread = _threading.Thread(target=function, name=name, daemon=True)
    thread.start()
    return thread
