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

"""What a scheduler knows of the compute hosts.

As nova's HostManager: the capabilities each host fans out are kept per
host and service with the time they arrived (``service_states``), and
joined with the ``compute_nodes`` and ``services`` rows into one
``HostState`` per host. A scheduler that just started reads the
capabilities the hosts recorded in the database, so it knows every host
at once instead of after a publishing period.
"""

import datetime
import threading

from oslo_log import log as logging

from novalite.db import models
from novalite import heartbeat
from novalite import resources

LOG = logging.getLogger(__name__)

_COMPUTE_BINARY = "novalite-compute"


def _epoch(naive_utc):
    return naive_utc.replace(tzinfo=datetime.timezone.utc).timestamp()


#: Seconds a consumption waits to be resolved (``placed`` or
#: ``return_instance``) before it is forgotten: a ``select_destinations``
#: answered to a caller that never boots.
PENDING_SECONDS = 60.0


class HostState:
    """One compute host as the scheduler sees it.

    ``total`` (by resource key: ``memory_mb``, ``vcpus``, ``root_gb``)
    comes from the host's last audit (``compute_nodes``); ``used`` is what
    the instances given to the host take (the ``instances`` table, as the
    host's own claims count it) plus what this scheduler has chosen the
    host for and not given it yet (``consume_from_instance``); liveness
    comes from its heartbeat (``services``); ``capabilities`` from its last
    publication, ``capabilities_age`` seconds old (None: none known).
    """

    def __init__(self, host):
        self.host = host
        self.total = {}
        self.used = {}
        self.audited_at = None
        self.up = False
        self.disabled = False
        self.disabled_reason = None
        self.availability_zone = None
        self.running_vms = 0
        self.capabilities = None
        self.capabilities_age = None
        #: token -> (when, instance_properties): chosen here, not yet
        #: given to the host in the database.
        self._pending = {}

    def update_from_compute_node(self, row, now):
        """Take the host's totals and usage from its row of
        ``compute_hosts_for_scheduling``, plus the consumptions still
        pending (``now``: monotonic seconds, to forget stale ones)."""
        self._pending = {
            token: (when, properties)
            for token, (when, properties) in self._pending.items()
            if now - when < PENDING_SECONDS}
        for resource in resources.ALL:
            self.total[resource.key] = getattr(row, resource.total_column)
            self.used[resource.key] = (
                getattr(row, resource.key + "_given")
                + sum(properties[resource.key]
                      for _, properties in self._pending.values()))
        self.audited_at = row.audited_at
        self.running_vms = row.running_vms or 0
        self.availability_zone = row.availability_zone

    def update_service(self, row, service_down_time, now):
        """Liveness and status from the service columns of
        ``compute_hosts_for_scheduling``."""
        self.up = heartbeat.beat_is_recent(row.last_heartbeat,
                                           service_down_time, now)
        self.disabled = bool(row.disabled)
        self.disabled_reason = row.disabled_reason

    def consume_from_instance(self, instance_properties, now):
        """Count an instance this scheduler just chose this host for, so
        that the next decision, before the instance is given to the host
        in the database, sees less room.

        :returns: a token for ``placed`` or ``return_instance``.
        """
        for resource in resources.ALL:
            self.used[resource.key] += instance_properties[resource.key]
        token = object()
        self._pending[token] = (now, instance_properties)
        return token

    def placed(self, token):
        """The instance is the host's in the database now: the usage read
        at the next decision counts it."""
        self._pending.pop(token, None)

    def return_instance(self, token):
        """Undo a consumption whose instance was not given to the host
        after all."""
        pending = self._pending.pop(token, None)
        if pending is not None:
            for resource in resources.ALL:
                self.used[resource.key] -= pending[1][resource.key]

    def free(self, key):
        return self.total[key] - self.used[key]

    @property
    def free_ram_mb(self):
        return self.free("memory_mb")

    @property
    def free_disk_gb(self):
        return self.free("root_gb")

    @property
    def free_vcpus(self):
        return self.free("vcpus")

    def __repr__(self):
        return ("<HostState %s %s free_ram_mb=%s free_disk_gb=%s "
                "free_vcpus=%s>" % (self.host, "up" if self.up else "down",
                                    self.free_ram_mb, self.free_disk_gb,
                                    self.free_vcpus))


class HostManager:
    """The capabilities the compute hosts published, and their HostStates.

    :param conf: for ``compute_topic`` (the service name the computes
        publish under) and ``service_down_time``.
    :param clock: the clock seam; ``time()`` dates what arrives.
    """

    def __init__(self, conf, db, clock):
        self.conf = conf
        self.db = db
        self._clock = clock
        #: host -> service name -> {"capabilities": dict, "timestamp": s}
        self.service_states = {}
        #: host -> HostState, kept between decisions (see
        #: ``HostState.update_from_compute_node``).
        self.host_state_map = {}
        #: Held while one decision reads and consumes the HostStates: the
        #: scheduler's RPC dispatch runs requests concurrently, and a
        #: SIGHUP's new FilterScheduler must share it with the old.
        self.deciding = threading.Lock()
        #: Capabilities arrive from the RPC server's threads while the
        #: periodic task expires them.
        self._states_lock = threading.Lock()

    @property
    def service_name(self):
        return self.conf.compute_topic

    @property
    def max_capabilities_age(self):
        """Seconds after which a host's capabilities are stale: at least
        two publishing periods (a tick each), so that one late tick does
        not make a live host vanish, and never less than
        ``service_down_time``."""
        return max(self.conf.service_down_time,
                   2 * self.conf.periodic_interval)

    def update_service_capabilities(self, service_name, host, capabilities,
                                    timestamp=None, source="the bus"):
        """Keep what ``host`` published, unless something newer is kept."""
        timestamp = self._clock.time() if timestamp is None else timestamp
        with self._states_lock:
            services = self.service_states.setdefault(host, {})
            known = services.get(service_name)
            if known is not None and known["timestamp"] > timestamp:
                return
            services[service_name] = {
                "capabilities": dict(capabilities), "timestamp": timestamp}
        if known is None:
            LOG.info("Capabilities of %s (%s) known from %s", host,
                     service_name, source)

    def load_from_database(self, max_age):
        """Take the capabilities the hosts recorded, dated when they were
        recorded: what a scheduler knows the moment it starts. Those older
        than ``max_age`` seconds are left out: their hosts stopped
        publishing, and would be forgotten at the first expiry anyway."""
        now = self._clock.time()
        fresh = stale = 0
        for host, capabilities, updated_at in self.db.capabilities_get_all(
                self.service_name):
            timestamp = _epoch(updated_at) if updated_at else 0.0
            if now - timestamp > max_age:
                stale += 1
                continue
            fresh += 1
            self.update_service_capabilities(
                self.service_name, host, capabilities, timestamp=timestamp,
                source="the database")
        LOG.info("Capabilities of %d hosts read from the database (%d older "
                 "than %g s left out)", fresh, stale, max_age)

    def monotonic(self):
        """This manager's clock, for the age of pending consumptions."""
        return self._clock.monotonic()

    def capabilities_age(self, host):
        """Seconds since ``host``'s capabilities were published, or None."""
        state = self.service_states.get(host, {}).get(self.service_name)
        if state is None:
            return None
        return max(0.0, self._clock.time() - state["timestamp"])

    def expire_capabilities(self, max_age):
        """Forget the capabilities older than ``max_age`` seconds: the
        host stopped publishing (it is down, or its broker link is).

        :returns: the hosts forgotten.
        """
        now = self._clock.time()
        expired = []
        with self._states_lock:
            for host, services in list(self.service_states.items()):
                for name, state in list(services.items()):
                    if now - state["timestamp"] > max_age:
                        del services[name]
                        expired.append(host)
                if not services:
                    del self.service_states[host]
        for host in expired:
            LOG.info("Capabilities of %s are older than %g s; forgotten",
                     host, max_age)
        return expired

    def get_all_host_states(self):
        """A HostState per compute host with an audit and a service row,
        sorted by host; a host with only one of the two is skipped, as
        nova does, and said at DEBUG."""
        now = models.utcnow()
        now_seconds = self._clock.time()
        service_name = self.service_name
        down_time = self.conf.service_down_time
        states = {}
        for row in self.db.compute_hosts_for_scheduling(_COMPUTE_BINARY):
            if row.last_heartbeat is None:
                LOG.debug("Compute node %s has no service row; skipped",
                          row.host)
                continue
            state = self.host_state_map.get(row.host) or HostState(row.host)
            state.update_from_compute_node(row, self._clock.monotonic())
            state.update_service(row, down_time, now)
            published = self.service_states.get(row.host, {}).get(
                service_name)
            if published:
                state.capabilities = published["capabilities"]
                state.capabilities_age = max(
                    0.0, now_seconds - published["timestamp"])
            else:
                state.capabilities = state.capabilities_age = None
            states[row.host] = state
        self.host_state_map = states
        return list(states.values())
