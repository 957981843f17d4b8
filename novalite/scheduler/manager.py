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

"""The manager novalite-scheduler runs: it learns what the hosts offer.

It receives the capabilities every compute fans out
(``update_service_capabilities``), keeps them in its ``HostManager``, and
forgets those older than two ticks or ``service_down_time``, whichever is
longer. Choosing hosts for
instances builds on the HostStates it keeps.
"""

from oslo_log import log as logging

from novalite import manager
from novalite import rpc
from novalite.scheduler import host_manager
from novalite.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    """Keeps every compute host's capabilities, fresh."""

    target = rpc.Target(version=scheduler_rpcapi.SchedulerAPI.VERSION)

    def __init__(self, host=None, service_name="scheduler", **kwargs):
        super().__init__(host, service_name, **kwargs)
        self.host_manager = host_manager.HostManager(self.conf, self.db,
                                                     self._clock)

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
