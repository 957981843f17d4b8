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

"""The filter scheduler: which host takes each instance of a request.

As Folsom's: the hosts the HostManager knows pass the enabled filters,
the weighers rank those left, the best (or one at random among the
``host_subset_size`` best) is chosen and its resources consumed in this
scheduler's memory at once, so that the next instance of the burst sees
the room it took. Each instance then goes to its host
(``build_and_run_instance``), which claims and spawns, or sends the
request back here with the host added to ``retry["hosts"]``: the
RetryFilter keeps it from being chosen again, and after
``scheduler_max_attempts`` hosts the instance is ERROR with a fault.

The request, on the wire and here:

* ``request_spec``: ``instance_uuids`` (list of str),
  ``instance_properties`` (``memory_mb``, ``vcpus``, ``root_gb``,
  ``availability_zone``, ``image_ref``).
* ``filter_properties``: ``retry`` (``num_attempts``, ``hosts``, ``exc``:
  the last host's error), ``force_hosts`` (``--host``: the filters are
  skipped, as nova skips them, and there is no retry).
"""

import copy
import random

from oslo_log import log as logging

from novalite.compute import rpcapi as compute_rpcapi
from novalite.compute import task_states
from novalite.compute import vm_states
from novalite import exception
from novalite.scheduler import filters
from novalite.scheduler import weights

LOG = logging.getLogger(__name__)

#: The fault code of a boot that found no host or ran out of retries.
FAULT_CODE = 500


class FilterScheduler:
    """Chooses hosts from ``host_manager``'s HostStates."""

    def __init__(self, conf, db, host_manager, transport=None):
        self.conf = conf
        self.db = db
        self.host_manager = host_manager
        self.compute_rpcapi = compute_rpcapi.ComputeAPI(conf, db, transport)
        self.filters = filters.load(conf,
                                    conf.filter_scheduler.enabled_filters)
        self.weighers = weights.load(conf,
                                     conf.filter_scheduler.weight_classes)

    # Deciding ---------------------------------------------------------------

    def select_destinations(self, request_spec, filter_properties):
        """A host for each instance of the request, its resources consumed.

        :returns: the chosen HostStates, one per ``instance_uuids`` entry
            (or one if there are none).
        :raises NoValidHost: some instance fits on no host; what was
            consumed for the others stays consumed, as in nova, until the
            caller boots them (or ``host_manager.PENDING_SECONDS``).
        """
        return [state for state, _ in self._select(request_spec,
                                                   filter_properties)]

    def _select(self, request_spec, filter_properties):
        """``[(HostState, consumption token)]``, one per instance."""
        count = max(1, len(request_spec.get("instance_uuids") or ()))
        return [self._choose(request_spec, filter_properties)
                for _ in range(count)]

    def _choose(self, request_spec, filter_properties):
        properties = dict(filter_properties,
                          instance_properties=request_spec[
                              "instance_properties"])
        with self.host_manager.deciding:
            hosts = self.host_manager.get_all_host_states()
            if not hosts:
                raise exception.NoValidHost(
                    reason="No compute host has reported to the database.")
            forced = properties.get("force_hosts")
            if forced:
                hosts = self._forced(hosts, forced)
            else:
                hosts = self._filtered(hosts, properties)
            ranked = weights.weigh(self.weighers, hosts, properties)
            subset = ranked[:self.conf.filter_scheduler.host_subset_size]
            chosen = random.choice(subset)
            token = chosen.consume_from_instance(
                properties["instance_properties"],
                self.host_manager.monotonic())
        LOG.debug("Chose %s from %d hosts that passed", chosen.host,
                  len(ranked))
        return chosen, token

    @staticmethod
    def _forced(hosts, forced):
        chosen = [state for state in hosts if state.host in forced]
        if not chosen:
            raise exception.NoValidHost(
                reason="The requested host %s is not a compute host this "
                       "scheduler knows." % ", ".join(forced))
        return chosen

    def _filtered(self, hosts, properties):
        for host_filter in self.filters:
            passed = [state for state in hosts
                      if host_filter.host_passes(state, properties)]
            if not passed:
                raise exception.NoValidHost(
                    reason="There are not enough hosts available: %s left "
                           "none of %d." % (host_filter.name, len(hosts)))
            hosts = passed
        return hosts

    # Booting ----------------------------------------------------------------

    def schedule_run_instance(self, context, request_spec,
                              filter_properties):
        """Choose a host for each instance and cast it there; an instance
        no host can take, or that cannot be sent, is put in ERROR with a
        fault, and the others go on."""
        for uuid in request_spec["instance_uuids"]:
            properties = copy.deepcopy(filter_properties)
            spec = dict(request_spec, instance_uuids=[uuid])
            try:
                self._populate_retry(properties, uuid)
                [(host, token)] = self._select(spec, properties)
            except exception.NoValidHost as exc:
                reason = _with_last_error(exc, properties)
                LOG.warning("Instance %s: %s", uuid, reason)
                self.set_error(uuid, reason)
                continue
            except Exception as exc:
                LOG.exception("Instance %s could not be scheduled", uuid)
                self.set_error(uuid, "Could not be scheduled: %s" % exc)
                continue
            self._send(context, uuid, host, token, spec, properties)

    def _populate_retry(self, filter_properties, uuid):
        """Count this attempt in ``retry`` (nova's), or raise
        MaxRetriesExceeded with the last host's error."""
        max_attempts = self.conf.scheduler_max_attempts
        if max_attempts == 1 or filter_properties.get("force_hosts"):
            return
        retry = filter_properties.setdefault(
            "retry", {"num_attempts": 0, "hosts": []})
        retry["num_attempts"] += 1
        if retry["num_attempts"] > max_attempts:
            raise exception.MaxRetriesExceeded(
                max_attempts=max_attempts, uuid=uuid,
                reason=retry.get("exc") or "unknown")

    def _send(self, context, uuid, host_state, token, request_spec,
              filter_properties):
        """Give the instance to its host and tell the host: only if it is
        still waiting for one (not deleted, not timed out meanwhile)."""
        retry = filter_properties.get("retry")
        if retry is not None:
            retry["hosts"].append(host_state.host)
        try:
            placed = self.db.instance_update(
                uuid, expected={"task_state": task_states.SCHEDULING,
                                "host": None},
                host=host_state.host)
        except exception.InstanceNotFound:
            placed = None
        with self.host_manager.deciding:
            if placed is None:
                host_state.return_instance(token)
            else:
                host_state.placed(token)
        if placed is None:
            LOG.info("Instance %s is no longer waiting for a host; not "
                     "sent to %s", uuid, host_state.host)
            return
        LOG.info("Instance %s goes to %s", uuid, host_state.host)
        try:
            self.compute_rpcapi.build_and_run_instance(
                context, host_state.host, uuid, request_spec,
                filter_properties)
        except Exception as exc:
            LOG.exception("Instance %s could not be sent to %s", uuid,
                          host_state.host)
            self.set_error(uuid, "Could not be sent to %s: %s"
                           % (host_state.host, exc),
                           expected={"task_state": task_states.SCHEDULING,
                                     "host": host_state.host})

    def set_error(self, uuid, reason, expected=None, host=None,
                  keep_host=False):
        """Put a boot in ERROR with ``reason`` as its fault, if its row
        still holds ``expected`` (by default: it waits for a scheduler).
        With ``keep_host`` the instance stays on its host, which then
        cleans it up (its spawn may have left something on the
        hypervisor).

        :returns: whether it was put in ERROR.
        """
        if expected is None:
            expected = {"task_state": task_states.SCHEDULING}
        values = {} if keep_host else {"host": None}
        try:
            failed = self.db.instance_update(
                uuid, expected=expected, vm_state=vm_states.ERROR,
                task_state=None, **values)
        except exception.InstanceNotFound:
            return False
        if failed is None:
            return False
        self.db.instance_fault_create(uuid, FAULT_CODE, str(reason),
                                      host=host)
        return True


def _with_last_error(exc, filter_properties):
    """A NoValidHost's reason, with the hosts tried and the last one's
    error when the boot was tried before: otherwise the fault would only
    say that the RetryFilter left none."""
    retry = filter_properties.get("retry") or {}
    if not retry.get("hosts"):
        return str(exc)
    return "%s Tried %s; the last error: %s" % (
        exc, ", ".join(retry["hosts"]), retry.get("exc") or "unknown")
