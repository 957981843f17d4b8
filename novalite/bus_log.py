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
    r"|A recoverable connection/channel error occurred")
_BACK = re.compile(r"Reconnected to AMQP server on (\S+)")
#: The broker's own answer (``(404) NOT_FOUND - ...``): it is there, and
#: refused something; an error to see, not an outage.
_ANSWERED = re.compile(r"\(\d{3}\) [A-Z_]+ - ")

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
    failures were kept from the log; the lines in between are DEBUG."""

    def __init__(self, clock=time.monotonic):
        super().__init__()
        self._clock = clock
        self._lock = threading.Lock()
        self._lost_at = None
        self._quiet = 0

    def filter(self, record):
        message = record.getMessage()
        with self._lock:
            if _LOST.search(message) and not _ANSWERED.search(message):
                if self._lost_at is not None:
                    self._quiet += 1
                    return _demoted(record)
                self._lost_at = self._clock()
                self._quiet = 0
                _rewrite(record, logging.WARNING,
                         "The message bus is unreachable: %s (retrying; "
                         "until it is back, further failures are logged "
                         "at DEBUG)" % message)
                return True
            back = _BACK.search(message)
            if back and self._lost_at is not None:
                seconds = self._clock() - self._lost_at
                _rewrite(record, logging.INFO,
                         "The message bus at %s is back after %.0f s (%d "
                         "failures logged at DEBUG)"
                         % (back.group(1).rstrip("."), seconds, self._quiet))
                self._lost_at = None
                return True
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
