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

"""The message bus: the transport, its servers and its versioned clients.

Everything novalite asks of oslo.messaging goes through here: whether a
bus is configured at all (no ``transport_url``: standalone), the broker
probe at start-up, the context on the wire (a dict), the executor, which
methods a server exposes (only those marked ``@rpc.expose``), and
``VersionedClient``, the base of ``ComputeAPI`` and ``SchedulerAPI`` with
its version cap from ``[upgrade_levels]``.
"""

import socket
import urllib.parse

import amqp
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging

from novalite import bus_log
from novalite import concurrency
from novalite.conf import rpc as rpc_conf
from novalite import config
from novalite import context as novalite_context
from novalite import exception
from novalite import heartbeat

LOG = logging.getLogger(__name__)

#: Marks a manager method as callable over the bus; nothing else is.
expose = oslo_messaging.expose

#: Exceptions a method raises as an answer, not a failure: sent back to
#: the caller without a traceback in the server's log.
expected_exceptions = oslo_messaging.expected_exceptions

#: The modules whose exceptions come back to a caller as themselves
#: (``NoValidHost``), not as an ``oslo_messaging.RemoteError``.
ALLOWED_EXMODS = ["novalite.exception"]

Target = oslo_messaging.Target

_RABBIT_SCHEMES = ("rabbit", "kombu+rabbit")


bus_log.install()


_SET_BY_THE_OPERATOR = (cfg.Locations.user, cfg.Locations.command_line,
                        cfg.Locations.environment)


def is_configured(conf):
    """True if a file, the command line or the environment sets
    ``transport_url`` (even to oslo.messaging's default, ``rabbit://``,
    which alone is not taken as a wish to use a broker), or code set it to
    something else."""
    location = conf.get_location("transport_url")
    if location is not None and location.location in _SET_BY_THE_OPERATOR:
        return True
    return conf.transport_url not in (
        None, rpc_conf.oslo_default_transport_url())


def masked_url(url):
    """``url`` with its passwords replaced by ``***``, for logs and errors."""
    parsed = urllib.parse.urlsplit(url)
    hosts = []
    for host in parsed.netloc.split(","):
        credentials, at, address = host.rpartition("@")
        if at and ":" in credentials:
            credentials = credentials.split(":", 1)[0] + ":***"
        hosts.append(credentials + at + address)
    return urllib.parse.urlunsplit(parsed._replace(netloc=",".join(hosts)))


def describe(conf):
    """How this service talks to others, in a few words for the log."""
    if not is_configured(conf):
        return "standalone"
    return "%s, exchange %s" % (masked_url(conf.transport_url),
                                conf.control_exchange)


def get_transport(conf):
    """The RPC transport of ``transport_url``; it connects lazily.

    :raises ConfigError: the URL cannot be parsed or names no driver.
    """
    try:
        return oslo_messaging.get_rpc_transport(
            conf, allowed_remote_exmods=ALLOWED_EXMODS)
    except (oslo_messaging.InvalidTransportURL,
            oslo_messaging.DriverLoadFailure) as exc:
        raise config.ConfigError(
            "[DEFAULT] transport_url",
            "%s: %s" % (masked_url(conf.transport_url),
                        _first_line(exc)))


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def probe(conf):
    """Connect to the broker once, so that a service that cannot reach it
    stops at start-up with one line, instead of retrying forever before
    its first consumer exists. Only RabbitMQ without TLS is probed (TLS
    has options of its own that oslo.messaging applies); other drivers
    report for themselves.

    :raises BrokerUnavailable: no broker of the URL answered in time.
    :raises ConfigError: a broker answered and refused the credentials or
        the virtual host.
    """
    url = oslo_messaging.TransportURL.parse(conf, conf.transport_url)
    if (url.transport not in _RABBIT_SCHEMES
            or conf.oslo_messaging_rabbit.ssl):
        return
    problems = []
    for host in url.hosts:
        address = "%s:%s" % (host.hostname or "localhost", host.port or 5672)
        connection = amqp.Connection(
            host=address, userid=host.username or "guest",
            password=host.password or "guest",
            virtual_host=url.virtual_host or "/",
            connect_timeout=conf.rpc_probe_timeout)
        try:
            connection.connect()
        except (amqp.exceptions.AccessRefused,
                amqp.exceptions.NotAllowed) as exc:
            _forget(connection)
            raise config.ConfigError(
                "[DEFAULT] transport_url",
                "the broker at %s refused the credentials or the virtual "
                "host: %s" % (address, _first_line(exc)))
        except (OSError, socket.timeout, amqp.exceptions.AMQPError) as exc:
            _forget(connection)
            problems.append("%s: %s" % (address, _first_line(exc)
                                        or "no answer"))
            continue
        connection.close()
        return
    raise exception.BrokerUnavailable(url=masked_url(conf.transport_url),
                                      reason="; ".join(problems))


def _forget(connection):
    """Free a connection that never opened (nothing to close politely)."""
    try:
        connection.collect()
    except Exception:
        LOG.debug("Probe connection not collected", exc_info=True)


class ContextSerializer(oslo_messaging.NoOpSerializer):
    """The request context travels as the dict of ``to_dict()``; the
    payloads are JSON already, and are passed as they are."""

    def serialize_context(self, ctxt):
        return ctxt.to_dict() if hasattr(ctxt, "to_dict") else dict(ctxt)

    def deserialize_context(self, ctxt):
        return novalite_context.RequestContext.from_dict(ctxt)


def get_server(transport, target, endpoints):
    """An RPC server dispatching ``target`` to ``endpoints``: only their
    methods marked ``@rpc.expose`` can be called."""
    return oslo_messaging.get_rpc_server(
        transport, target, endpoints, executor=concurrency.RPC_EXECUTOR,
        serializer=ContextSerializer(),
        access_policy=oslo_messaging.ExplicitRPCAccessPolicy)


def get_client(transport, target, version_cap=None):
    return oslo_messaging.get_rpc_client(
        transport, target, version_cap=version_cap,
        serializer=ContextSerializer())


def parse_version(text):
    major, minor = text.split(".")
    return int(major), int(minor)


def lowest_live_version(db, binary, service_down_time):
    """The lowest RPC API version among the live services of ``binary``,
    or None if none is up (or none has said its version)."""
    versions = [row.rpc_version for row in db.service_get_all()
                if row.binary == binary and row.rpc_version
                and heartbeat.is_up(row, service_down_time)]
    return min(versions, key=parse_version) if versions else None


class VersionedClient:
    """The client of one topic, nova style.

    Subclasses say ``VERSION`` (the newest version they can send),
    ``TOPIC_OPTION`` (the option naming the topic), ``NAMESPACE`` (of the
    endpoint, None for the manager's), ``BINARY`` (whose live services
    ``auto`` asks) and ``UPGRADE_LEVEL`` (their option in
    ``[upgrade_levels]``, None for no cap). The cap is resolved at the
    first message, and again after ``reset()``.
    """

    VERSION = "1.0"
    TOPIC_OPTION = None
    NAMESPACE = None
    BINARY = None
    UPGRADE_LEVEL = None

    def __init__(self, conf, db=None, transport=None):
        self.conf = conf
        self.db = db
        self.transport = transport
        self._client = None

    @property
    def topic(self):
        return self.conf[self.TOPIC_OPTION]

    @property
    def client(self):
        if self._client is not None:
            return self._client
        cap, settled = self._version_cap()
        client = get_client(self.transport, Target(
            topic=self.topic, namespace=self.NAMESPACE,
            version=self.VERSION), version_cap=cap)
        if settled:
            self._client = client
        return client

    def reset(self):
        """Read the version cap again at the next message (SIGHUP)."""
        self._client = None

    def _version_cap(self):
        """``(cap, settled)``: ``auto`` is settled once a live service has
        said its version; until then it is asked again at every message,
        so that the first old service to start caps what is sent."""
        level = (self.conf.upgrade_levels[self.UPGRADE_LEVEL]
                 if self.UPGRADE_LEVEL else None)
        if level != "auto":
            return level, True
        lowest = None
        if self.db is not None:
            lowest = lowest_live_version(self.db, self.BINARY,
                                         self.conf.service_down_time)
        if lowest is None:
            LOG.debug("[upgrade_levels] %s = auto: no live %s has said its "
                      "version; sending up to %s", self.UPGRADE_LEVEL,
                      self.BINARY, self.VERSION)
            return self.VERSION, False
        LOG.info("[upgrade_levels] %s = auto: sending up to %s, the lowest "
                 "version among the live %s services", self.UPGRADE_LEVEL,
                 lowest, self.BINARY)
        return lowest, True

    def can_send_version(self, version):
        return self.client.can_send_version(version)

    def require_version(self, method, version):
        """:raises ServiceTooOld: the version cap is below ``version``:
        checked before work that would be lost if ``method`` cannot go."""
        if not self.can_send_version(version):
            raise exception.ServiceTooOld(
                topic=self.topic, method=method, version=version,
                cap=self.client.version_cap, level=self.UPGRADE_LEVEL)

    def prepare(self, method, version, **kwargs):
        """The client for ``method`` at ``version``.

        :raises ServiceTooOld: the version cap is below ``version``.
        """
        self.require_version(method, version)
        return self.client.prepare(version=version, **kwargs)

    def call(self, ctxt, method, version, server=None, timeout=None,
             **kwargs):
        """Call ``method`` and return its answer; errors said plainly.

        :raises ServiceTooOld: the cap, or the server, lacks the version.
        :raises ServiceNotAnswering: no answer within ``timeout`` (by
            default ``rpc_response_timeout``).
        """
        cctxt = self.prepare(method, version, server=server, timeout=timeout)
        try:
            return cctxt.call(ctxt, method, **kwargs)
        except oslo_messaging.MessagingTimeout:
            raise exception.ServiceNotAnswering(
                topic=self.topic, server=server or "any host", method=method,
                timeout=timeout or self.conf.rpc_response_timeout)
        except (oslo_messaging.UnsupportedVersion,
                oslo_messaging.NoSuchMethod) as exc:
            raise self._too_old(method, version, server, exc)
        except oslo_messaging.RemoteError as exc:
            if exc.exc_type in ("UnsupportedVersion", "NoSuchMethod"):
                raise self._too_old(method, version, server, exc)
            raise

    def _too_old(self, method, version, server, exc):
        return exception.ServiceTooOld(
            message="the %s service on %s cannot take %s at version %s (%s);"
            " upgrade it, or cap what is sent with [upgrade_levels] %s"
            % (self.topic, server or "its topic", method, version,
               getattr(exc, "value", None) or _first_line(exc),
               self.UPGRADE_LEVEL))

    def cast(self, ctxt, method, version, server=None, fanout=False,
             retry=None, **kwargs):
        """Send ``method`` without waiting for an answer."""
        cctxt = self.prepare(method, version, server=server, fanout=fanout,
                             retry=retry)
        cctxt.cast(ctxt, method, **kwargs)
