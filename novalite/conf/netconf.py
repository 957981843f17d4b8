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

"""Options that say who this host is."""

from oslo_config import cfg

from novalite.conf import values

netconf_opts = [
    cfg.Opt("host",
            type=values.HostName(),
            default=values.this_host(),
            sample_default="<current_hostname>",
            help="""
Name of this host, as the scheduler and the ``services`` table know it.

Must be unique among the services of one deployment and must not change
while instances live on the host: a new name looks like a new, empty host.

Possible values:

* A hostname or FQDN unique in the deployment: letters, digits, ``-``,
  ``_`` and ``.``, labels of at most 63 characters, at most 255 in all.
  Unset: this machine's hostname (if it is such a name).
"""),
]


def register_opts(conf):
    conf.register_opts(netconf_opts)


def list_opts():
    return {"DEFAULT": netconf_opts}
