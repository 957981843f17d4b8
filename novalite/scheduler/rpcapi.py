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
transport exists the API keeps, in this process, the last capabilities each
(service, host) published, which is all a scheduler ever reads of them.
"""

import copy

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class SchedulerAPI:
    """Client side of the scheduler API, as nova's scheduler rpcapi."""

    def __init__(self):
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

    def get_service_capabilities(self, service_name, host):
        """The last capabilities published by that service, or None."""
        return self.published.get((service_name, host))
