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

"""Client side of the scheduler RPC API: where a host's capabilities go.

The capabilities a host publishes are recorded in the database (the
fallback, and what a scheduler that just started reads) and, with a
transport, fanned out to every scheduler. What goes on the wire: the
context as a dict, then the keyword arguments each method documents, all
JSON.

API version history:

* 1.0 - ``update_service_capabilities`` (fanout cast).
* 1.1 - ``run_instance`` (cast), ``select_destinations`` (call).
"""

import copy
import threading

from oslo_log import log as logging
import oslo_messaging

from novalite import bus_log
from novalite import concurrency
from novalite import rpc

LOG = logging.getLogger(__name__)


class SchedulerAPI(rpc.VersionedClient):
    """The versioned client of topic ``scheduler_topic``."""

    VERSION = "1.1"
    TOPIC_OPTION = "scheduler_topic"
    BINARY = "novalite-scheduler"
    UPGRADE_LEVEL = "scheduler"

    def __init__(self, conf, db=None, transport=None):
        super().__init__(conf, db, transport)
        self.published = {}
        #: Why the last fanout did not go, said once: None when it went.
        self._not_sent = None
        #: The newest publication not yet sent: one slot, newest wins.
        self._outbox = None
        self._sender = None
        #: Hands the slot between the publisher and the sender, which on
        #: native threads run at once.
        self._outbox_lock = threading.Lock()

    def update_service_capabilities(self, context, service_name, host,
                                    capabilities):
        """Publish what ``host`` offers for ``service_name``.

        Recorded in the database at once; the fanout cast goes from a
        greenthread of its own, so that a broker that does not answer never
        holds up the caller's periodic pass: while a cast is stuck, newer
        capabilities replace the one waiting, and only the newest goes.

        Wire (fanout cast): ``service_name`` (str), ``host`` (str),
        ``capabilities`` (a dict of JSON values). One try: a broker that
        is down, or no scheduler consuming, loses this publication, said
        once until one goes again; the next, a tick later, repairs it, and
        the database has it meanwhile. A copy is kept, so later changes by
        the caller publish nothing.
        """
        LOG.debug("Capabilities of %(service)s on %(host)s: %(caps)s",
                  {"service": service_name, "host": host,
                   "caps": capabilities})
        capabilities = copy.deepcopy(capabilities)
        self.published[(service_name, host)] = capabilities
        if self.db is not None:
            self.db.capabilities_save(service_name, host, capabilities)
        if self.transport is None:
            return
        with self._outbox_lock:
            self._outbox = (context, service_name, host, capabilities)
            if self._sender is None:
                self._sender = concurrency.spawn(self._send_outbox)

    def _send_outbox(self):
        while True:
            with self._outbox_lock:
                publication, self._outbox = self._outbox, None
                if publication is None:
                    self._sender = None
                    return
            self._fan_out(*publication)

    def _fan_out(self, context, service_name, host, capabilities):
        try:
            self.cast(context, "update_service_capabilities", "1.0",
                      fanout=True, retry=0, service_name=service_name,
                      host=host, capabilities=capabilities)
        except oslo_messaging.MessageDeliveryFailure as exc:
            self._say_not_sent(host, exc)
        except Exception:
            LOG.exception("Capabilities of %s not sent to the schedulers",
                          host)
        else:
            if self._not_sent is not None:
                LOG.info("Capabilities of %s are fanned out to the "
                         "schedulers again", host)
            self._not_sent = None

    def _say_not_sent(self, host, exc):
        nobody = bool(bus_log.NO_FANOUT_CONSUMER.search(str(exc)))
        reason = "nobody" if nobody else "broker"
        if self._not_sent == reason:
            return
        self._not_sent = reason
        if nobody:
            LOG.info("No scheduler consumes the %s fanout now; the "
                     "capabilities of %s are in the database, and are sent "
                     "again at every tick", self.topic, host)
        else:
            LOG.warning("Capabilities of %s not sent to the schedulers (%s);"
                        " the database has them, and they are sent again at "
                        "the next tick", host, exc)

    def run_instance(self, context, request_spec, filter_properties,
                     retry=None):
        """Boot the instances of ``request_spec`` (their rows are written,
        in task ``scheduling``): one scheduler chooses their hosts.

        Wire (cast): ``request_spec`` and ``filter_properties``, dicts as
        ``novalite.scheduler.filter_scheduler`` describes them.
        """
        self.cast(context, "run_instance", "1.1", retry=retry,
                  request_spec=request_spec,
                  filter_properties=filter_properties)

    def select_destinations(self, context, request_spec, filter_properties,
                            timeout=None):
        """The hosts a scheduler would choose, one per instance, consumed
        in its memory as if booted.

        Wire (call): as ``run_instance``. Returns a list of host names.
        """
        return self.call(context, "select_destinations", "1.1",
                         timeout=timeout, request_spec=request_spec,
                         filter_properties=filter_properties)

    def get_service_capabilities(self, service_name, host):
        """The last capabilities published by that service, or None."""
        if self.db is not None:
            return self.db.capabilities_get(service_name, host)
        return self.published.get((service_name, host))
