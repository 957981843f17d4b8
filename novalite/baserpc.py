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

"""The small API every service answers on its topic, beside its manager's.

``ping`` says that the service consumes; ``get_version`` says what it
runs. They live in the namespace ``baseapi``, so that no manager method
can shadow them, as nova's BaseRPCAPI.
"""

from novalite import rpc
from novalite import version

NAMESPACE = "baseapi"


class BaseRPCAPI:
    """Server side: an endpoint of every Service with a transport.

    ``ping`` returns ``{"service": binary, "host": host, "arg": arg}``;
    ``get_version`` returns ``{"version": release, "rpc_api": version}``
    (strings).
    """

    target = rpc.Target(namespace=NAMESPACE, version="1.0")

    def __init__(self, service):
        self.service = service

    @rpc.expose
    def ping(self, context, arg):
        return {"service": self.service.binary, "host": self.service.host,
                "arg": arg}

    @rpc.expose
    def get_version(self, context):
        return {"version": version.version_info.version_string(),
                "rpc_api": self.service.manager.target.version}


class BaseAPI(rpc.VersionedClient):
    """Client side of ``BaseRPCAPI`` on one topic's services.

    :param topic_option: the option naming the topic (``compute_topic``).
    """

    VERSION = "1.0"
    NAMESPACE = NAMESPACE

    def __init__(self, conf, topic_option, transport):
        super().__init__(conf, None, transport)
        self.TOPIC_OPTION = topic_option

    def ping(self, ctxt, host, arg=None, timeout=None):
        """Ask the service on ``host`` to answer; its answer, or
        ServiceNotAnswering after ``timeout`` seconds."""
        return self.call(ctxt, "ping", "1.0", server=host, timeout=timeout,
                         arg=arg)

    def get_version(self, ctxt, host, timeout=None):
        return self.call(ctxt, "get_version", "1.0", server=host,
                         timeout=timeout)
