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

"""Options of the fake hypervisor driver."""

from oslo_config import cfg

from novalite.conf import values

#: The largest pinned vCPUs, and memory (MiB) or disk (GiB): 2**30 keeps
#: the sums of the compute_nodes columns (32-bit integers) in range.
MAX_VCPUS = 65536
MAX_SIZE = 2 ** 30

fake_driver_group = cfg.OptGroup(
    "fake_driver", title="Fake driver options",
    help="Pin the resources the fake driver reports; unset values are read "
         "from this machine.")

fake_driver_opts = [
    cfg.IntOpt("vcpus", min=1, max=MAX_VCPUS,
               help="vCPUs of the simulated host, from 1 to 65536; unset: "
                    "this machine's."),
    cfg.IntOpt("memory_mb", min=1, max=MAX_SIZE,
               help="Memory of the simulated host in MiB, from 1 to "
                    "1073741824 (1 PiB); unset: this machine's."),
    cfg.IntOpt("local_gb", min=1, max=MAX_SIZE,
               help="Disk of the simulated host in GiB, from 1 to "
                    "1073741824 (1 EiB); unset: the size of the file system "
                    "holding instances_path."),
    cfg.Opt("hypervisor_hostname", type=values.HostName(),
            help="Name the hypervisor reports, a host name as ``host``; "
                 "unset: the host option."),
]


def register_opts(conf):
    conf.register_group(fake_driver_group)
    conf.register_opts(fake_driver_opts, group=fake_driver_group)


def list_opts():
    return {fake_driver_group: fake_driver_opts}
