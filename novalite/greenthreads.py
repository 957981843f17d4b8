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

"""The clock seam: the one place the scheduling code meets eventlet.

The manager and the looping calls never read the time, sleep or arm a
timeout themselves; they ask a clock. ``GreenClock`` is the real one.
Unit tests hand them a fake clock with the same four methods, so they can
drive hours of schedule in microseconds without sleeping.
"""

import contextlib
import os
import threading
import time

# NOTE(novalite): eventlet's green DNS pulls in dnspython, a tenth of a
# second and several MiB at every start, for the rare database connection
# made by name. Operators who resolve slowly can set it back to "no".
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

import eventlet  # its deprecation notice is filtered by novalite/__init__
import greenlet

GreenletExit = greenlet.GreenletExit


class GreenClock:
    """Monotonic time, wall time, interruptible waits and task deadlines."""

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    @staticmethod
    def wait(event, timeout):
        """Wait for ``event`` at most ``timeout`` seconds (None: forever).

        :returns: the value sent to the event, or None on timeout.
        """
        return event.wait(timeout)

    @staticmethod
    def deadline(seconds, exc):
        """A context manager that raises ``exc`` in its body after
        ``seconds``, at the first point where the body yields."""
        return eventlet.Timeout(seconds, exc)


CLOCK = GreenClock()


def new_event():
    """An event a greenthread can wait on and another can send once."""
    return eventlet.event.Event()


_native_threading = eventlet.patcher.original("threading")

#: The longest a stopping service waits for one of its OS threads.
NATIVE_JOIN_SECONDS = 5.0
_native_queue = eventlet.patcher.original("queue")


def new_native_event():
    """A ``threading.Event`` of the OS threads, green patching or not."""
    return _native_threading.Event()


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

    The calls keep a drift-free grid whatever the eventlet hub is doing: a
    task stuck in a C call that never yields stops every greenthread, not
    this. ``function`` runs outside the hub, so it must not touch green
    locks another thread may hold (logging included: see LogRelay).
    ``clock`` (default: NATIVE_CLOCK) is where time and waiting come from.
    """

    def __init__(self, function, interval, initial_delay=0.0,
                 name="novalite-timer", clock=None):
        self.function = function
        self.interval = interval
        self.initial_delay = initial_delay
        self.clock = clock or NATIVE_CLOCK
        self._stop = new_native_event()
        self._thread = _native_threading.Thread(target=self._run, name=name,
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


class LogRelay:
    """Log, from an OS thread, through the hub's greenthread.

    Logging handlers hold green locks, which an OS thread must not wait on.
    The thread queues its records and writes a byte to a pipe; a
    greenthread wakes on the pipe and logs them with ``logger``.
    """

    def __init__(self, logger):
        self.logger = logger
        self._records = _native_queue.SimpleQueue()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._reader = spawn(self._drain)

    def log(self, level, message, *args, exc_text=None):
        """Queue a record; ``exc_text`` is a formatted traceback."""
        self._records.put((level, message, args, exc_text))
        # A full pipe already holds enough wake-ups for the reader.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write_fd, b"!")

    def _drain(self):
        while True:
            wait_readable(self._read_fd)
            with contextlib.suppress(BlockingIOError):
                os.read(self._read_fd, 4096)
            while not self._records.empty():
                level, message, args, exc_text = self._records.get()
                if exc_text:
                    message += "\n%s"
                    args += (exc_text,)
                self.logger.log(level, message, *args)

    def close(self):
        self._reader.kill()
        os.close(self._read_fd)
        os.close(self._write_fd)


class KeyedLocks:
    """One re-entrant lock per key (an instance's uuid), made on first use
    and dropped when nobody holds or waits for it: nova's
    ``@synchronized(instance.uuid)``. ``threading``'s locks, green in a
    monkey-patched process and native in one that is not.
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


#: The executor oslo.messaging's RPC servers dispatch with: the one that
#: matches this backend's greenthreads (oslo.messaging would pick it too
#: under monkey patching, but said here, in one place).
RPC_EXECUTOR = "eventlet"


def wait_readable(fd):
    """Block this greenthread, not the hub, until ``fd`` can be read."""
    eventlet.hubs.trampoline(fd, read=True)


def monkey_patch():
    """Make the standard library green; call before anything else runs."""
    eventlet.monkey_patch()


def cooperative_yield():
    """Let the other greenthreads run, then carry on."""
    eventlet.sleep(0)


def spawn(function, *args, **kwargs):
    """Run ``function`` in a new greenthread and return the greenthread."""
    return eventlet.spawn(function, *args, **kwargs)


def time_limit(seconds):
    """A context manager that silently leaves its body after ``seconds``
    (None: no limit), at the first point where the body yields."""
    return eventlet.Timeout(seconds, False)


def start_native_thread(function, name):
    """Run ``function`` in a daemon OS thread (not a greenthread), for
    work that may block in the kernel without stopping the event loop."""
    thread = _native_threading.Thread(target=function, name=name,
                                      daemon=True)
    thread.start()
    return thread
