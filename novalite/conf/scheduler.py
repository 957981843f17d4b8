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

"""Options of scheduling: the filter scheduler, retries, and how far each
resource may be overcommitted (read by the schedulers' filters and by the
computes' claims alike). Every one is mutable: SIGHUP applies it (the
scheduler builds its filters and weighers anew)."""

from oslo_config import cfg
from oslo_config import types

from novalite.conf import values

#: The filters ``[filter_scheduler] enabled_filters`` may name; the
#: classes are in ``novalite.scheduler.filters``.
FILTERS = ("AvailabilityZoneFilter", "ComputeFilter", "CoreFilter",
           "DiskFilter", "RamFilter", "RetryFilter")

#: The weighers ``[filter_scheduler] weight_classes`` may name; the
#: classes are in ``novalite.scheduler.weights``.
WEIGHERS = ("RAMWeigher",)

scheduling_opts = [
    cfg.IntOpt("scheduler_max_attempts",
               mutable=True,
               default=3,
               min=1,
               max=100,
               help="""
How many hosts a boot is tried on, from 1 to 100. A host whose claim or
spawn fails sends the request back to the scheduler, which tries another;
after this many the instance is ERROR, with a fault naming the last error.
"""),
    cfg.FloatOpt("instance_build_timeout",
                 mutable=True,
                 default=600.0,
                 min=1.0,
                 max=values.ONE_DAY,
                 help="""
Seconds an instance may stay in task ``scheduling`` or ``spawning`` before
the schedulers put it in ERROR with a fault, from 1 to 86400 (one day): a
scheduler or compute that died mid-request leaves no instance building
forever.
"""),
    cfg.FloatOpt("cpu_allocation_ratio",
                 mutable=True,
                 default=16.0,
                 min=0.01,
                 max=1000.0,
                 help="""
vCPUs of instances per physical vCPU of a host, from 0.01 to 1000: the
CoreFilter's limit and the compute's claim.
"""),
    cfg.FloatOpt("ram_allocation_ratio",
                 mutable=True,
                 default=1.5,
                 min=0.01,
                 max=1000.0,
                 help="""
RAM of instances per MiB of a host, from 0.01 to 1000: the RamFilter's
limit and the compute's claim.
"""),
    cfg.FloatOpt("disk_allocation_ratio",
                 mutable=True,
                 default=1.0,
                 min=0.01,
                 max=1000.0,
                 help="""
Root disk of instances per GiB of a host, from 0.01 to 1000: the
DiskFilter's limit and the compute's claim.
"""),
    cfg.StrOpt("default_availability_zone",
               mutable=True,
               default="nova",
               help="""
The availability zone of this compute host, for the AvailabilityZoneFilter.
"""),
]

filter_scheduler_group = cfg.OptGroup(
    "filter_scheduler", title="Filter scheduler options",
    help="How novalite-scheduler chooses a host: filters, then weighers.")

filter_scheduler_opts = [
    cfg.ListOpt("enabled_filters",
                item_type=types.String(choices=FILTERS),
                mutable=True,
                default=["RetryFilter", "AvailabilityZoneFilter",
                         "ComputeFilter", "RamFilter", "CoreFilter",
                         "DiskFilter"],
                help="""
The filters a host must pass to be chosen, in order, from: %s.
""" % ", ".join(FILTERS)),
    cfg.ListOpt("weight_classes",
                item_type=types.String(choices=WEIGHERS),
                mutable=True,
                default=list(WEIGHERS),
                help="""
The weighers that rank the hosts that passed, from: %s.
""" % ", ".join(WEIGHERS)),
    cfg.FloatOpt("ram_weight_multiplier",
                 mutable=True,
                 default=1.0,
                 min=-1000.0,
                 max=1000.0,
                 help="""
Multiplier of the RAMWeigher, from -1000 to 1000: positive spreads
instances over the hosts with the most free RAM, negative stacks them on
the fullest host first.
"""),
    cfg.IntOpt("host_subset_size",
               mutable=True,
               default=1,
               min=1,
               max=1000,
               help="""
Choose at random among this many best-weighed hosts, from 1 to 1000: more
than 1 keeps schedulers that decide at once from all picking the same host.
"""),
]


def register_opts(conf):
    conf.register_opts(scheduling_opts)
    conf.register_group(filter_scheduler_group)
    conf.register_opts(filter_scheduler_opts, group=filter_scheduler_group)


def list_opts():
    return {"DEFAULT": scheduling_opts,
            filter_scheduler_group: filter_scheduler_opts}
