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

"""Options of the message bus: topics, version caps and oslo.messaging's.

``transport_url`` and ``control_exchange`` are oslo.messaging's own
options; they and its driver groups (``[oslo_messaging_rabbit]``...) are
registered here so that the start-up check knows them, with novalite's
exchange as the default. Without ``transport_url`` every service runs
standalone.
"""

import functools
import importlib

from oslo_config import cfg
import oslo_messaging
from oslo_messaging import opts as messaging_opts

from novalite.conf import values

#: The exchange novalite's topics live in unless ``control_exchange`` says.
DEFAULT_EXCHANGE = "novalite"

rpc_opts = [
    cfg.Opt("compute_topic",
            type=values.TopicName(),
            default="compute",
            help="""
The topic the compute services listen on (and ``<topic>.<host>`` for one
host). Only letters, digits, '-' and '_'. Two fleets on one broker keep
apart with different topics or a different ``control_exchange``.
"""),
    cfg.Opt("scheduler_topic",
            type=values.TopicName(),
            default="scheduler",
            help="""
The topic the scheduler services listen on; capabilities are fanned out to
every scheduler on it. Only letters, digits, '-' and '_'.
"""),
    cfg.FloatOpt("rpc_probe_timeout",
                 default=5.0,
                 min=0.1,
                 max=300.0,
                 help="""
Seconds to wait for the message broker to answer when a service starts,
from 0.1 to 300. A broker that does not answer in time stops the service
with exit status 69, instead of a service that waits forever to consume.
"""),
]

upgrade_levels_opts = [
    cfg.Opt("compute",
            type=values.VersionCap(),
            help="""
The highest version of the compute RPC API to send: ``auto`` (the lowest
version among the live compute services, read once from the database) or a
version such as ``1.0``. Unset: no cap. Set it during a rolling upgrade so
that new clients do not send what old computes cannot understand.
"""),
    cfg.Opt("scheduler",
            type=values.VersionCap(),
            help="""
The highest version of the scheduler RPC API to send: ``auto`` or a
version such as ``1.0`` (see ``compute``).
"""),
]


@functools.lru_cache(maxsize=None)
def messaging_groups():
    """oslo.messaging's option groups, with its tracing and metrics groups,
    which it registers on the global CONF only, at import: a client built
    on any other ConfigOpts would fail at its first message. (Their
    modules are private; a release without them has nothing to add.)"""
    oslo_messaging.set_transport_defaults(DEFAULT_EXCHANGE)
    groups = dict(messaging_opts.list_opts())
    for group, module, attribute in (
            ("oslo_messaging_tracing", "oslo_messaging._tracing.client",
             "oslo_messaging_tracing"),
            ("oslo_messaging_metrics", "oslo_messaging._metrics.client",
             "oslo_messaging_metrics")):
        try:
            groups[group] = getattr(importlib.import_module(module),
                                    attribute)
        except (ImportError, AttributeError):
            continue
    return groups


def oslo_default_transport_url():
    """oslo.messaging's own default for ``transport_url`` (``rabbit://``),
    which novalite does not take as a wish to use a broker."""
    for opt in messaging_groups()[None]:
        if opt.dest == "transport_url":
            return opt.default
    return None


def register_opts(conf):
    conf.register_opts(rpc_opts)
    conf.register_opts(upgrade_levels_opts, group="upgrade_levels")
    for group, opts in messaging_groups().items():
        conf.register_opts(opts, group=group)


def list_opts():
    return {"DEFAULT": rpc_opts, "upgrade_levels": upgrade_levels_opts}
