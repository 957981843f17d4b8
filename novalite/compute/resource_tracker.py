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

"""What a compute host has and what its instances take: claims and audits.

As nova's resource tracker: a boot claims its RAM, vCPUs and disk against
the host's real totals (overcommitted by the allocation ratios, as the
schedulers' filters are: ``novalite.resources``) before anything is
spawned, under one lock per host, so that two requests racing for the last
room cannot both win. The ``compute_nodes`` row is written at every claim
and release, so that the schedulers see the truth at once, and at every
audit. Usage is always counted from the database, so a claim, a release
and the next audit can never disagree: every instance given to the host,
claimed or still on its way (task ``scheduling``, sent by a scheduler and
not claimed yet). Counting those on their way keeps the row a scheduler
reads from forgetting what it has just sent here (so a burst still
spreads), and makes every claim leave room for them: a host may refuse an
instance it would have had room for, never take more than it has.
"""

import threading

from oslo_log import log as logging

from novalite.compute import task_states
from novalite import exception
from novalite import resources

LOG = logging.getLogger(__name__)


class ResourceTracker:

    def __init__(self, host, driver, db, conf):
        self.host = host
        self.driver = driver
        self.db = db
        self.conf = conf
        self._totals = None
        self._lock = threading.Lock()
        #: Instances whose claim was refused, not counted while they are
        #: sent back (``release`` forgets them).
        self._refused = set()

    def update_available_resource(self):
        """Audit: read the host's totals from the driver and write the
        usage of its instances."""
        totals = self.driver.get_available_resource()
        with self._lock:
            self._totals = totals
            used = self._save()
        LOG.debug("Audited %s: %s", self.host, ", ".join(
            "%s %d of %d" % (resource.key, used[resource.key],
                             totals[resource.total_column])
            for resource in resources.ALL))

    def claim(self, instance):
        """Take ``instance``'s resources on this host: its task goes from
        ``scheduling`` to ``spawning``.

        :returns: the claimed row, or None if the instance is no longer
            this host's to claim (deleted, timed out, sent elsewhere).
        :raises ComputeResourcesUnavailable: it does not fit; nothing is
            taken.
        """
        if self._totals is None:
            self.update_available_resource()
        with self._lock:
            used = self._usage(exclude=instance.uuid)
            problems = [
                problem for problem in (
                    resources.shortfall(
                        resource, resources.ratio(self.conf, resource),
                        self._totals[resource.total_column],
                        used[resource.key], getattr(instance, resource.key))
                    for resource in resources.ALL)
                if problem]
            if problems:
                self._refused.add(instance.uuid)
                raise exception.ComputeResourcesUnavailable(
                    host=self.host, reason="; ".join(problems))
            claimed = self.db.instance_update(
                instance.uuid, expected={"host": self.host,
                                         "task_state": task_states.SCHEDULING},
                task_state=task_states.SPAWNING)
            if claimed is not None:
                self._save()
            return claimed

    def release(self, uuid):
        """Write the usage again after instance ``uuid`` left the host
        (deleted, failed, sent elsewhere)."""
        if self._totals is None:
            self.update_available_resource()
        with self._lock:
            self._refused.discard(uuid)
            self._save()

    def _usage(self, exclude=None):
        used = {resource.key: 0 for resource in resources.ALL}
        for instance in self.db.instance_get_all_by_host(self.host):
            if instance.uuid == exclude or instance.uuid in self._refused:
                continue
            for resource in resources.ALL:
                used[resource.key] += getattr(instance, resource.key)
        return used

    def _save(self):
        totals = self._totals
        used = self._usage()
        self.db.compute_node_save(
            self.host,
            vcpus=totals["vcpus"], vcpus_used=used["vcpus"],
            memory_mb=totals["memory_mb"], memory_mb_used=used["memory_mb"],
            local_gb=totals["local_gb"], local_gb_used=used["root_gb"],
            free_ram_mb=totals["memory_mb"] - used["memory_mb"],
            free_disk_gb=totals["local_gb"] - used["root_gb"],
            running_vms=len(self.driver.list_instances()),
            hypervisor_type=totals["hypervisor_type"],
            hypervisor_hostname=totals["hypervisor_hostname"],
            cpu_info=totals["cpu_info"],
            availability_zone=self.conf.default_availability_zone)
        return used
