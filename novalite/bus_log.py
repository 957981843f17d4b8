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

"""What the messaging libraries log, made fit for an operator's log.

oslo.messaging logs a broker outage at ERROR on every retry of every
connection: two or three lines a second per daemon for as long as it
lasts, each with a traceback's last line, across a whole fleet at once.
An operator needs two lines from each daemon: when the bus went away and
why, and when it came back and after how long. The retries in between go
to DEBUG. Everyday notices nobody can act on are dropped.
"""

import logging
import re
import threading
import time

#: A fanout exchange the broker does not have: no service consumes the
#: topic now (the last one stopped, and the exchange went with it).
NO_FANOUT_CONSUMER = re.compile(r"NOT_FOUND - no exchange '[^']*_fanout'")

#: oslo.messaging's lines while it cannot reach the broker (impl_rabbit).
_LOST = re.compile(
    r"AMQP server on \S+ is unreachable"
    r"|Unable to connect to AMQP server"
    r"|Failed to publish message to topic"
    r"|Failed to consume message from queue"
    r"|Connection failed: .*\(retrying in"
    r"|A recoverable connection/channel error occurred"
    r"|closed the connection\. Check login credentials")
_BACK = re.compile(r"Reconnected to AMQP server on (\S+)")
#: The broker's answer on a channel (``(404) NOT_FOUND - ...``): it is
#: there, and refused one thing; an error to see, not an outage. The
#: connection-level codes (``(320) CONNECTION_FORCED`` at a broker's
#: shutdown) are outages.
_ANSWERED = re.compile(r"\(4\d\d\) [A-Z_]+ - ")

#: The loggers the messaging libraries write to.
LOGGERS = ("amqp", "oslo.messaging._drivers.impl_rabbit")


class ExpectedNoise(logging.Filter):
    """Drops the amqp library's notice that the broker answered a channel
    being closed (at every clean stop), and oslo.messaging's two errors for
    a fanout that no service consumes (every compute, at the first tick
    after the last scheduler stopped): ``SchedulerAPI`` says the latter
    once, plainly."""

    def filter(self, record):
        message = record.getMessage()
        return not ("during closing channel" in message
                    or NO_FANOUT_CONSUMER.search(message))


class BusOutage(logging.Filter):
    """Says a broker outage once, as a WARNING with oslo.messaging's own
    first reason, and its end once, with how long it lasted and how many
    failures were kept from the log; the lines in between are DEBUG.

    Not every recovery is announced (a connection that only sends comes
    back at its next send, silently), so an outage whose failures stopped
    ``FORGOTTEN_AFTER`` seconds ago is over: a failure after that is a new
    outage, said again. The other connections of a daemon that is back may
    still report the old outage for ``SETTLING`` seconds; those lines stay
    at DEBUG.
    """

    FORGOTTEN_AFTER = 60.0
    SETTLING = 5.0

    def __init__(self, clock=time.monotonic):
        super().__init__()
        self._clock = clock
        self._lock = threading.Lock()
        self._lost_at = None
        self._last_failure_at = None
        self._back_at = None
        self._kept_out = 0

    def filter(self, record):
        message = record.getMessage()
        with self._lock:
            now = self._clock()
            if _LOST.search(message) and not _ANSWERED.search(message):
                return self._failure(record, message, now)
            back = _BACK.search(message)
            if back and self._lost_at is not None:
                _rewrite(record, logging.INFO,
                         "The message bus at %s is back after %.0f s (%d "
                         "failures kept from the log)"
                         % (back.group(1).rstrip("."), now - self._lost_at,
                            self._kept_out))
                self._lost_at, self._back_at = None, now
        return True

    def _failure(self, record, message, now):
        ongoing = (self._lost_at is not None
                   and now - self._last_failure_at < self.FORGOTTEN_AFTER)
        settling = (self._lost_at is None and self._back_at is not None
                    and now - self._back_at < self.SETTLING)
        self._last_failure_at = now
        if ongoing or settling:
            self._kept_out += 1
            return _demoted(record)
        self._lost_at, self._kept_out = now, 0
        _rewrite(record, logging.WARNING,
                 "The message bus is unreachable: %s (retrying; until it is "
                 "back, further failures are kept from the log)" % message)
        return True


def _rewrite(record, level, text):
    record.levelno, record.levelname = level, logging.getLevelName(level)
    record.msg, record.args = text, ()
    record.exc_info = record.exc_text = None


def _demoted(record):
    """The record at DEBUG, kept only if its logger logs DEBUG."""
    _rewrite(record, logging.DEBUG, record.getMessage())
    return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def install():
    """Put the filters on the messaging libraries' loggers (once)."""
    outage = BusOutage()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedNoise) for f in logger.filters):
            logger.addFilter(ExpectedNoise())
            logger.addFilter(outage)
