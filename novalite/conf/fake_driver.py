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

fake_driver_group = cfg.OptGroup(
    "fake_driver", title="Fake driver options",
    help="Pin the resources the fake driver reports; unset values are read "
         "from this machine.")

fake_driver_opts = [
    cfg.IntOpt("vcpus", min=1,
               help="vCPUs of the simulated host; unset: this machine's."),
    cfg.IntOpt("memory_mb", min=1,
               help="Memory of the simulated host in MiB; unset: this "
                    "machine's."),
    cfg.IntOpt("local_gb", min=1,
               help="Disk of the simulated host in GiB; unset: the size of "
                    "the file system holding instances_path."),
    cfg.StrOpt("hypervisor_hostname",
               help="Name the hypervisor reports; unset: the host option."),
]


def register_opts(conf):
    conf.register_group(fake_driver_group)
    conf.register_opts(fake_driver_opts, group=fake_driver_group)


def list_opts():
    return {fake_driver_group: fake_driver_opts}
