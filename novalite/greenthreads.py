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

import os
import time
import warnings

# NOTE(novalite): eventlet's green DNS pulls in dnspython, a tenth of a
# second and several MiB at every start, for the rare database connection
# made by name. Operators who resolve slowly can set it back to "no".
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

with warnings.catch_warnings():
    # Operators cannot act on eventlet's own deprecation notice.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet
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


def monkey_patch():
    """Make the standard library green; call before anything else runs."""
    eventlet.monkey_patch()


def cooperative_yield():
    """Let the other greenthreads run, then carry on."""
    eventlet.sleep(0)


def spawn(function, *args, **kwargs):
    """Run ``function`` in a new greenthread and return the greenthread."""
    return eventlet.spawn(function, *args, **kwargs)
