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


"""The threading backend: the same service on native threads, no eventlet.

What a thread cannot do that a greenthread could: be interrupted. A
periodic task's ``timeout`` therefore runs the task in a thread of its own
and stops waiting for it at the deadline (``Clock.call_within``): the run
is counted as a timeout exactly as under eventlet, and the thread is left
to finish by itself; the task is not started again until it has
(``novalite.periodic.taskset``). A loop or thread "killed" at stop is
likewise abandoned, not interrupted: whoever waits for it stops waiting,
and the daemon thread ends with its call or with the process.
"""

import select
import threading
import time

from novalite.concurrency import os_threads

NAME = "threading"

#: The executor oslo.messaging's RPC servers dispatch with.
RPC_EXECUTOR = "threading"

#: Whether a deadline interrupts the code under it: a thread cannot be.
DEADLINES_INTERRUPT = False


class Killed(Exception):
    """What ``wait()`` of an abandoned thread or loop raises."""


class Event:
    """A one-shot event carrying a value or an exception, with the
    interface of eventlet's ``Event`` that the service uses. Of two threads
    sending at once (a loop ending as it is abandoned), the first wins and
    the other's send is ignored."""

    def __init__(self):
        self._set = threading.Event()
        self._sending = threading.Lock()
        self._value = None
        self._exception = None

    def ready(self):
        return self._set.is_set()

    def send(self, value=None):
        self._finish(value, None)

    def send_exception(self, *exc_info):
        """As eventlet's: an exception, or ``sys.exc_info()``."""
        exception = exc_info[1] if len(exc_info) > 1 else exc_info[0]
        if isinstance(exception, type):
            exception = exception()
        self._finish(None, exception)

    def _finish(self, value, exception):
        with self._sending:
            if self._set.is_set():
                return
            self._value, self._exception = value, exception
            self._set.set()

    def wait(self, timeout=None):
        """The value sent (raising an exception sent), or None if nothing
        was sent within ``timeout`` seconds (None: forever)."""
        if not self._set.wait(timeout):
            return None
        if self._exception is not None:
            raise self._exception
        return self._value


def new_event():
    """An event one thread can wait on and another can send once."""
    return Event()


class Thread:
    """A daemon thread running ``function``, with the greenthread methods
    the service uses: ``wait()``, ``kill()`` (abandon), ``link()``."""

    def __init__(self, function, args, kwargs):
        self._done = Event()
        self._links = []
        self._links_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, args=(function, args, kwargs),
            name="novalite-%s" % getattr(function, "__name__", "thread"),
            daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self, function, args, kwargs):
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:
            self._end(None, exc)
        else:
            self._end(result, None)

    def _end(self, result, exception):
        with self._links_lock:
            if self._done.ready():
                return  # abandoned: nobody waits any more
            if exception is None:
                self._done.send(result)
            else:
                self._done.send_exception(exception)
            links, self._links = self._links, []
        for callback, args in links:
            callback(self, *args)

    def ready(self):
        return self._done.ready()

    def wait(self, timeout=None):
        """The function's result, re-raising its exception."""
        return self._done.wait(timeout)

    def kill(self):
        """Abandon the thread: waiters get Killed at once; the thread runs
        on until its function returns, unseen."""
        self._end(None, Killed("abandoned"))

    def link(self, callback, *args):
        """Call ``callback(thread, *args)`` when the thread ends."""
        with self._links_lock:
            if not self._done.ready():
                self._links.append((callback, args))
                return
        callback(self, *args)


def spawn(function, *args, **kwargs):
    """Run ``function`` in a new daemon thread and return it."""
    return Thread(function, args, kwargs).start()


def wait_at_most(thread, seconds):
    """Wait for a spawned ``thread`` at most ``seconds`` (None: forever).

    :returns: True if it ended (re-raising what ended it), else False.
    """
    thread.wait(seconds)
    return thread.ready()


class Clock(os_threads.BaseClock):
    """Monotonic time, wall time, waits on events, and deadlines that a
    thread can keep: see the module's docstring."""

    @staticmethod
    def call_within(seconds, expired, function, *args):
        """``function(*args)`` in a thread of its own, waited for at most
        ``seconds``; then ``expired`` is raised here, carrying the run it
        left behind as ``expired.abandoned_run`` (its ``ready()`` says
        when it ended)."""
        run = spawn(function, *args)
        if wait_at_most(run, seconds):
            return run.wait()
        expired.abandoned_run = run
        raise expired


def wait_readable(fd):
    """Block this thread until ``fd`` can be read."""
    select.select([fd], [], [])


def monkey_patch():
    """Nothing to patch: keep eventlet out of this process instead, and
    tell oslo.service (which oslo.messaging imports) to use its threading
    backend, not the eventlet one it would pick by default."""
    from novalite import backend
    backend.keep_eventlet_out()
    from oslo_service import backend as oslo_service_backend
    oslo_service_backend.init_backend(
        oslo_service_backend.BackendType.THREADING)


def cooperative_yield():
    """Let the other threads run, then carry on."""
    time.sleep(0)


class LogRelay:
    """Log from an OS thread: with native threads the logging handlers'
    locks are native too, so the record is logged at once."""

    def __init__(self, logger):
        self.logger = logger

    def log(self, level, message, *args, exc_text=None):
        """Log a record; ``exc_text`` is a formatted traceback."""
        if exc_text:
            message += "\n%s"
            args += (exc_text,)
        self.logger.log(level, message, *args)

    def close(self):
        """Nothing is queued."""
