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


"""The eventlet backend: greenthreads on a monkey-patched standard library.

Every waiting, spawning and deadline of the service goes through here or
through the threading backend (``novalite.concurrency.native``), never to
eventlet directly.
"""

import contextlib
import os

# NOTE(novalite): eventlet's green DNS pulls in dnspython, a tenth of a
# second and several MiB at every start, for the rare database connection
# made by name. Operators who resolve slowly can set it back to "no".
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

import eventlet  # noqa: E402  (its deprecation notice: novalite/__init__)
import greenlet  # noqa: E402

from novalite.concurrency import os_threads  # noqa: E402

NAME = "eventlet"

#: What ``wait()`` of a killed greenthread or loop raises.
Killed = greenlet.GreenletExit

#: The executor oslo.messaging's RPC servers dispatch with.
RPC_EXECUTOR = "eventlet"

#: Whether a deadline interrupts the code under it (at its next yield).
DEADLINES_INTERRUPT = True


class Clock(os_threads.BaseClock):
    """Monotonic time, wall time, interruptible waits and task deadlines."""

    @staticmethod
    def call_within(seconds, expired, function, *args):
        """``function(*args)``, interrupted by ``expired`` raised inside it
        at its first yield after ``seconds``."""
        with eventlet.Timeout(seconds, expired):
            return function(*args)


def new_event():
    """An event a greenthread can wait on and another can send once."""
    return eventlet.event.Event()


def spawn(function, *args, **kwargs):
    """Run ``function`` in a new greenthread and return the greenthread
    (``wait()``, ``kill()``, ``link()``)."""
    return eventlet.spawn(function, *args, **kwargs)


def wait_at_most(thread, seconds):
    """Wait for a spawned ``thread`` at most ``seconds`` (None: forever).

    :returns: True if it ended (re-raising what ended it), else False.
    """
    with eventlet.Timeout(seconds, False):
        thread.wait()
        return True
    return False


def wait_readable(fd):
    """Block this greenthread, not the hub, until ``fd`` can be read."""
    eventlet.hubs.trampoline(fd, read=True)


def monkey_patch():
    """Make the standard library green; call before anything else runs."""
    eventlet.monkey_patch()


def cooperative_yield():
    """Let the other greenthreads run, then carry on."""
    eventlet.sleep(0)


_native_queue = os_threads.original("queue")


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
