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

"""All of novalite's options, registered on the global ``CONF``.

Options are declared only in this package, one module per group; every
other module reads them through ``novalite.conf.CONF``.
"""

from oslo_config import cfg

from novalite.conf import compute
from novalite.conf import database
from novalite.conf import fake_driver
from novalite.conf import netconf
from novalite.conf import paths
from novalite.conf import periodic
from novalite.conf import rpc
from novalite.conf import scheduler
from novalite.conf import service

CONF = cfg.CONF

MODULES = (compute, database, fake_driver, netconf, paths, periodic, rpc,
           scheduler, service)


def register_all(conf):
    """Register every novalite option on ``conf``."""
    for module in MODULES:
        module.register_opts(conf)


register_all(CONF)
