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

"""A simulated hypervisor on the real host.

Instances live in this process's memory, so they vanish when the daemon
restarts, as VMs vanish from a rebooted hypervisor. Host resources are
read from this machine with psutil, unless ``[fake_driver]`` pins them
(for tests, and to simulate many hosts on one machine).
"""

import datetime
import os
import platform

from novalite.compute import power_state
from novalite import exception
from novalite.virt import driver


class FakeDriver(driver.ComputeDriver):
    """Keeps instances in a dict: uuid -> power state."""

    def __init__(self, conf):
        self.conf = conf
        self.instances = {}
        self._host_stats = None

    def init_host(self, host):
        self.host = host

    def _instances_path(self):
        return os.path.abspath(os.path.expanduser(self.conf.instances_path))

    def _disk_gb(self):
        import psutil

        path = self._instances_path()
        while not os.path.exists(path):
            path = os.path.dirname(path)
        return psutil.disk_usage(path).total // 2 ** 30

    def get_available_resource(self):
        # psutil is imported here, at the first audit, not at start-up.
        import psutil

        pinned = self.conf.fake_driver
        return {
            "vcpus": pinned.vcpus or psutil.cpu_count() or 1,
            "memory_mb": (pinned.memory_mb
                          or psutil.virtual_memory().total // 2 ** 20),
            "local_gb": pinned.local_gb or self._disk_gb(),
            "hypervisor_type": "fake",
            "hypervisor_hostname": (pinned.hypervisor_hostname
                                    or self.conf.host),
            "cpu_info": platform.machine() or "unknown",
        }

    def get_host_stats(self, refresh=False):
        if refresh or self._host_stats is None:
            resources = self.get_available_resource()
            load = os.getloadavg()
            resources.update({
                "load_1m": load[0], "load_5m": load[1], "load_15m": load[2],
                "running_vms": sum(
                    1 for state in self.instances.values()
                    if state == power_state.RUNNING),
            })
            self._host_stats = resources
        return dict(self._host_stats)

    def get_host_uptime(self):
        """This machine's own boot time: the fake hypervisor runs here."""
        import psutil

        return datetime.datetime.fromtimestamp(
            psutil.boot_time(), datetime.timezone.utc).replace(tzinfo=None)

    def list_instances(self):
        return list(self.instances)

    def get_info(self, instance):
        try:
            return {"power_state": self.instances[instance["uuid"]]}
        except KeyError:
            raise exception.InstanceNotFound(instance_id=instance["uuid"])

    def spawn(self, context, instance):
        self.instances[instance["uuid"]] = power_state.RUNNING

    def destroy(self, context, instance):
        self.instances.pop(instance["uuid"], None)

    def power_off(self, instance):
        self._require(instance)
        self.instances[instance["uuid"]] = power_state.SHUTDOWN

    def power_on(self, context, instance):
        self._require(instance)
        self.instances[instance["uuid"]] = power_state.RUNNING

    def _require(self, instance):
        if instance["uuid"] not in self.instances:
            raise exception.InstanceNotFound(instance_id=instance["uuid"])
