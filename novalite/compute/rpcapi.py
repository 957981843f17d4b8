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

"""Client side of the compute RPC API: what other services ask a compute.

Every method names the host it goes to (``compute_topic.<host>``). What
goes on the wire: the context as a dict, then the keyword arguments each
method documents, all JSON.

API version history:

* 1.0 - ``get_host_uptime`` (call), ``stop_instance``, ``start_instance``,
  ``terminate_instance`` (casts).
* 1.1 - ``build_and_run_instance`` (cast).
"""

from novalite import rpc


class ComputeAPI(rpc.VersionedClient):
    """The versioned client of topic ``compute_topic``."""

    VERSION = "1.1"
    TOPIC_OPTION = "compute_topic"
    BINARY = "novalite-compute"
    UPGRADE_LEVEL = "compute"

    def get_host_uptime(self, ctxt, host, timeout=None):
        """How long the host has been up.

        Wire: no arguments. Returns ``{"host": str, "booted_at": ISO 8601
        UTC str, "uptime_s": float}``.
        """
        return self.call(ctxt, "get_host_uptime", "1.0", server=host,
                         timeout=timeout)

    def stop_instance(self, ctxt, host, uuid, retry=None):
        """Power off an ACTIVE instance. Wire: ``uuid`` (str)."""
        self.cast(ctxt, "stop_instance", "1.0", server=host, retry=retry,
                  uuid=uuid)

    def start_instance(self, ctxt, host, uuid, retry=None):
        """Power on a STOPPED instance. Wire: ``uuid`` (str)."""
        self.cast(ctxt, "start_instance", "1.0", server=host, retry=retry,
                  uuid=uuid)

    def terminate_instance(self, ctxt, host, uuid, retry=None):
        """Destroy an instance and delete its row. Wire: ``uuid`` (str)."""
        self.cast(ctxt, "terminate_instance", "1.0", server=host,
                  retry=retry, uuid=uuid)

    def build_and_run_instance(self, ctxt, host, uuid, request_spec,
                               filter_properties):
        """Claim and spawn an instance the scheduler gave ``host``.

        Wire: ``uuid`` (str), ``request_spec`` and ``filter_properties``
        (dicts, as ``novalite.scheduler.filter_scheduler`` describes them).
        """
        self.cast(ctxt, "build_and_run_instance", "1.1", server=host,
                  uuid=uuid, request_spec=request_spec,
                  filter_properties=filter_properties)
