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

"""The local RabbitMQ for functional tests: names of a test's own, a look
at its queues, and the queues removed afterwards."""

import shutil
import socket
import subprocess
import uuid

import amqp
import pytest

HOST = "127.0.0.1:5672"
URL = "rabbit://guest:guest@%s/" % HOST


def _connect():
    connection = amqp.Connection(host=HOST, userid="guest",
                                 password="guest", connect_timeout=3)
    connection.connect()
    return connection


class Broker:
    """One test's corner of the broker: its exchange and topics carry a
    random suffix, so two runs at once never see each other's messages
    (oslo.messaging names queues by topic alone, so the exchange is not
    enough)."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:10]
        self.exchange = "novalite-test-%s" % suffix
        self.compute_topic = "compute-%s" % suffix
        self.scheduler_topic = "scheduler-%s" % suffix
        self.hosts = set()
        #: A service of this test was killed: its fanout queues, named by
        #: oslo.messaging with a random suffix, outlive it.
        self.killed = False

    def host(self, name):
        """A host name of this test's own."""
        host = "%s-%s" % (name, self.exchange[-10:])
        self.hosts.add(host)
        return host

    def ini(self, address=HOST):
        """The [DEFAULT] lines that put a service on this test's bus,
        through ``address`` (a proxy's, say)."""
        return ("transport_url = rabbit://guest:guest@%s/\n"
                "control_exchange = %s\ncompute_topic = %s\n"
                "scheduler_topic = %s\n"
                % (address, self.exchange, self.compute_topic,
                   self.scheduler_topic))

    def queue(self, name):
        """``(messages, consumers)`` of a queue, or None if it is absent."""
        connection = _connect()
        try:
            channel = connection.channel()
            try:
                _, messages, consumers = channel.queue_declare(
                    name, passive=True)
            except amqp.exceptions.NotFound:
                return None
            return messages, consumers
        finally:
            connection.close()

    def cleanup(self):
        connection = _connect()
        try:
            for topic in (self.compute_topic, self.scheduler_topic):
                names = [topic] + ["%s.%s" % (topic, host)
                                   for host in self.hosts]
                for name in names:
                    channel = connection.channel()
                    channel.queue_delete(name)
                    channel.close()
                channel = connection.channel()
                channel.exchange_delete("%s_fanout" % topic)
                channel.close()
            for name in self._orphan_fanout_queues():
                channel = connection.channel()
                channel.queue_delete(name)
                channel.close()
            channel = connection.channel()
            channel.exchange_delete(self.exchange)
            channel.close()
        finally:
            connection.close()

    def _orphan_fanout_queues(self):
        """The ``<topic>_fanout_<random>`` queues a killed service left
        (a clean stop deletes its own); listed with rabbitmqctl where it
        can be run, else left to expire (oslo.messaging's queue TTL)."""
        if not self.killed or shutil.which("rabbitmqctl") is None:
            return []
        try:
            listing = subprocess.run(
                ["rabbitmqctl", "-q", "list_queues", "name"],
                capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        prefixes = tuple("%s_fanout_" % topic for topic in (
            self.compute_topic, self.scheduler_topic))
        return [name for name in listing.split()
                if name.startswith(prefixes)]


@pytest.fixture
def broker():
    """This test's Broker; the test is skipped, with the reason, when the
    local RabbitMQ does not answer."""
    try:
        _connect().close()
    except (OSError, socket.timeout, amqp.exceptions.AMQPError) as exc:
        pytest.skip("RabbitMQ does not answer at %s: %s" % (HOST, exc))
    corner = Broker()
    yield corner
    corner.cleanup()
