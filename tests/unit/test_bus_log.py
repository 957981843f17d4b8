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

"""A broker outage in the log: said once when it starts, once when it ends,
with oslo.messaging's own lines (as impl_rabbit writes them) fed in."""

import logging

import pytest

from novalite import bus_log

RABBIT = "oslo.messaging._drivers.impl_rabbit"
UNREACHABLE = ("[a701] AMQP server on 127.0.0.1:5672 is unreachable: "
               "Server unexpectedly closed connection. Trying again in 1 "
               "seconds.")
RETRIES = [
    "Unable to connect to AMQP server on 127.0.0.1:5672 after 0 tries: "
    "[Errno 111] Connection refused",
    "Failed to publish message to topic 'scheduler_fanout': Server "
    "unexpectedly closed connection",
    "Connection failed: [Errno 111] Connection refused (retrying in 1.0 "
    "seconds)",
    "A recoverable connection/channel error occurred, trying to "
    "reconnect: Server unexpectedly closed connection",
    UNREACHABLE,
]
BACK = ("[a701] Reconnected to AMQP server on 127.0.0.1:5672 via [amqp] "
        "client with port 49556.")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _record(message, level=logging.ERROR, name=RABBIT):
    record = logging.LogRecord(name, level, __file__, 1, message, (), None)
    record.exc_text = "kombu.exceptions.OperationalError: refused"
    return record


@pytest.fixture
def outage():
    clock = FakeClock()
    return clock, bus_log.BusOutage(clock)


def test_an_outage_is_said_once_and_its_end_once(outage):
    clock, log_filter = outage
    first = _record(UNREACHABLE)
    assert log_filter.filter(first)
    assert first.levelname == "WARNING"
    assert first.getMessage().startswith(
        "The message bus is unreachable: [a701] AMQP server on "
        "127.0.0.1:5672 is unreachable: Server unexpectedly closed")
    assert first.exc_text is None

    kept = []
    for _ in range(10):  # 30 s of retries, from every connection
        for message in RETRIES:
            clock.now += 0.6
            record = _record(message)
            if log_filter.filter(record):
                kept.append(record)
            assert record.levelname == "DEBUG"
    assert kept == []  # the test's logger is not at DEBUG

    back = _record(BACK, logging.INFO)
    assert log_filter.filter(back)
    assert back.levelname == "INFO"
    assert back.getMessage() == ("The message bus at 127.0.0.1:5672 is back "
                                 "after 30 s (50 failures kept from the log)")


def test_a_second_outage_is_said_again_and_a_reconnection_alone_passes(
        outage):
    clock, log_filter = outage
    plain = _record(BACK, logging.INFO)
    assert log_filter.filter(plain)
    assert plain.getMessage() == BACK
    for _ in range(2):
        clock.now += bus_log.BusOutage.SETTLING
        lost = _record(UNREACHABLE)
        assert log_filter.filter(lost) and lost.levelname == "WARNING"
        clock.now += 5
        back = _record(BACK, logging.INFO)
        assert log_filter.filter(back)
        assert "is back after 5 s (0 failures" in back.getMessage()


def test_retries_are_kept_at_debug_when_the_logger_logs_debug(outage):
    _, log_filter = outage
    logger = logging.getLogger(RABBIT)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        log_filter.filter(_record(UNREACHABLE))
        again = _record(RETRIES[0])
        assert log_filter.filter(again)
        assert again.levelname == "DEBUG"
    finally:
        logger.setLevel(previous)


@pytest.mark.parametrize("message", [
    "Channel error during closing channel: 404 NOT_FOUND",
    "Failed to publish message to topic 'x': Basic.publish: (404) "
    "NOT_FOUND - no exchange 'scheduler_fanout' in vhost '/'",
])
def test_everyday_noise_is_dropped(message):
    assert not bus_log.ExpectedNoise().filter(_record(message))


def test_other_lines_pass_unchanged(outage):
    _, log_filter = outage
    record = _record("Connected to AMQP server on 127.0.0.1:5672",
                     logging.INFO)
    assert log_filter.filter(record)
    assert (record.levelname, record.getMessage()) == (
        "INFO", "Connected to AMQP server on 127.0.0.1:5672")


def test_install_puts_the_filters_on_once():
    bus_log.install()
    bus_log.install()
    for name in bus_log.LOGGERS:
        kinds = [type(f) for f in logging.getLogger(name).filters]
        assert kinds.count(bus_log.ExpectedNoise) == 1
        assert kinds.count(bus_log.BusOutage) == 1


def test_the_brokers_refusal_is_not_an_outage(outage):
    _, log_filter = outage
    message = ("Failed to publish message to topic 'compute': Basic.publish:"
               " (404) NOT_FOUND - no exchange 'nova' in vhost '/'")
    record = _record(message)
    assert log_filter.filter(record)
    assert (record.levelname, record.getMessage()) == ("ERROR", message)


def test_the_brokers_shutdown_is_an_outage(outage):
    _, log_filter = outage
    record = _record("Failed to consume message from queue: (320) "
                     "CONNECTION_FORCED - broker forced connection closure "
                     "with reason 'shutdown'")
    assert log_filter.filter(record)
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith("The message bus is unreachable")


def test_an_outage_that_ended_unannounced_is_over_a_minute_later(outage):
    """A recovery without a "Reconnected" line (a connection that only
    sends, or oslo.messaging's logger set to WARNING) leaves no state that
    would keep the next outage out of the log."""
    clock, log_filter = outage
    assert log_filter.filter(_record(UNREACHABLE))
    clock.now += 1
    assert not log_filter.filter(_record(RETRIES[0]))
    clock.now += bus_log.BusOutage.FORGOTTEN_AFTER
    again = _record(UNREACHABLE)
    assert log_filter.filter(again)
    assert again.levelname == "WARNING"


def test_lines_of_the_old_outage_just_after_the_return_stay_out(outage):
    clock, log_filter = outage
    log_filter.filter(_record(UNREACHABLE))
    clock.now += 10
    assert log_filter.filter(_record(BACK, logging.INFO))
    clock.now += 1
    late = _record(RETRIES[1])
    assert not log_filter.filter(late)
    assert late.levelname == "DEBUG"
    clock.now += bus_log.BusOutage.SETTLING
    new = _record(UNREACHABLE)
    assert log_filter.filter(new)
    assert new.levelname == "WARNING"
