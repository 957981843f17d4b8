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

"""The manager novalite-scheduler runs: it learns what the hosts offer and
chooses where instances go.

It receives the capabilities every compute fans out
(``update_service_capabilities``), keeps them in its ``HostManager``, and
forgets those older than two ticks or ``service_down_time``, whichever is
longer. Boots (``run_instance``) go through the ``FilterScheduler``. A
periodic task puts in ERROR the boots that stalled: a scheduler or a
compute died under them.
"""

import datetime

from oslo_log import log as logging

from novalite.compute import task_states
from novalite.db import models
from novalite import exception
from novalite import manager
from novalite import rpc
from novalite.scheduler import filter_scheduler
from novalite.scheduler import host_manager
from novalite.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    """Keeps every compute host's capabilities, fresh, and places
    instances on the hosts."""

    target = rpc.Target(version=scheduler_rpcapi.SchedulerAPI.VERSION)

    def __init__(self, host=None, service_name="scheduler", **kwargs):
        super().__init__(host, service_name, **kwargs)
        self.host_manager = host_manager.HostManager(self.conf, self.db,
                                                     self._clock)
        self.driver = self._new_driver()

    def _new_driver(self):
        return filter_scheduler.FilterScheduler(
            self.conf, self.db, self.host_manager, self.transport)

    def reset(self):
        """On SIGHUP the filters, weighers and version cap are read anew."""
        super().reset()
        self.driver = self._new_driver()

    def init_host(self):
        """Know every host that recorded its capabilities, at once."""
        self.host_manager.load_from_database(
            self.host_manager.max_capabilities_age)

    @rpc.expose
    def update_service_capabilities(self, context, service_name, host,
                                    capabilities):
        """A host's capabilities, fanned out by its service."""
        self.host_manager.update_service_capabilities(service_name, host,
                                                      capabilities)

    @manager.periodic_task
    def _expire_stale_capabilities(self, context):
        """Forget what hosts that stopped publishing said, once older than
        ``HostManager.max_capabilities_age``."""
        self.host_manager.expire_capabilities(
            self.host_manager.max_capabilities_age)

    @rpc.expose
    def run_instance(self, context, request_spec, filter_properties):
        """Choose a host for each instance of the request and send it."""
        self.driver.schedule_run_instance(context, request_spec,
                                          filter_properties)

    @rpc.expose
    @rpc.expected_exceptions(exception.NoValidHost)
    def select_destinations(self, context, request_spec, filter_properties):
        """The host names this scheduler chooses for the request's
        instances, consumed as if booted; a NoValidHost comes back to the
        caller."""
        return [state.host for state in self.driver.select_destinations(
            request_spec, filter_properties)]

    @manager.periodic_task
    def _fail_stuck_builds(self, context):
        """Put in ERROR, with a fault, every boot that has been
        ``scheduling`` or ``spawning`` longer than
        ``instance_build_timeout``: the scheduler or compute that had it
        died, or its message was lost. Each is changed only if its row is
        still the one read, so a boot that moves on meanwhile, or another
        scheduler doing the same, is left alone. One that was spawning
        keeps its host: the host destroys what its spawn left (at once if
        it is alive, at its restart otherwise), and counts the instance's
        resources until it is deleted, as nova does."""
        timeout = self.conf.instance_build_timeout
        cutoff = models.utcnow() - datetime.timedelta(seconds=timeout)
        for instance in self.db.instance_get_all_in_task_states(
                task_states.BUILDING, cutoff):
            where = ("on %s" % instance.host if instance.host
                     else "waiting for a host")
            reason = ("Build timed out: in task %s %s for more than %g s "
                      "(instance_build_timeout)"
                      % (instance.task_state, where, timeout))
            if self.driver.set_error(
                    instance.uuid, reason,
                    expected={"task_state": instance.task_state,
                              "host": instance.host,
                              "updated_at": instance.updated_at},
                    host=instance.host,
                    keep_host=instance.task_state == task_states.SPAWNING):
                LOG.warning("Instance %s: %s", instance.uuid, reason)
