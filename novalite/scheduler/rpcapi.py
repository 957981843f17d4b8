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

"""Where a compute host's published capabilities go.

The scheduler learns what each host offers from these calls. Until a
transport exists the API keeps the last capabilities each (service, host)
published: in the database when it has one, so that any process can read
them, and always in this process.
"""

import copy

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class SchedulerAPI:
    """Client side of the scheduler API, as nova's scheduler rpcapi."""

    def __init__(self, db=None):
        self.db = db
        self.published = {}

    def update_service_capabilities(self, context, service_name, host,
                                    capabilities):
        """Record the capabilities ``host`` publishes for ``service_name``.

        A copy is kept, so later changes by the caller publish nothing.
        """
        LOG.debug("Capabilities of %(service)s on %(host)s: %(caps)s",
                  {"service": service_name, "host": host,
                   "caps": capabilities})
        self.published[(service_name, host)] = copy.deepcopy(capabilities)
        if self.db is not None:
            self.db.capabilities_save(service_name, host, capabilities)

    def get_service_capabilities(self, service_name, host):
        """The last capabilities published by that service, or None."""
        if self.db is not None:
            return self.db.capabilities_get(service_name, host)
        return self.published.get((service_name, host))
