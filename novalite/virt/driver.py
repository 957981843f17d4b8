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

"""The interface between the compute manager and a hypervisor."""

import importlib

from novalite import exception

#: Short names accepted by the ``compute_driver`` option.
DRIVERS = {"fake": "novalite.virt.fake.FakeDriver"}


class ComputeDriver:
    """What the compute manager asks of a hypervisor.

    Every method here must be implemented by a driver; the manager calls
    them from its life-cycle methods and periodic tasks.
    """

    def init_host(self, host):
        """Prepare the hypervisor on ``host`` before the service starts."""
        raise NotImplementedError()

    def get_available_resource(self):
        """The host's resources: a dict with vcpus, memory_mb, local_gb,
        hypervisor_type, hypervisor_hostname and cpu_info."""
        raise NotImplementedError()

    def get_host_stats(self, refresh=False):
        """Host facts for the scheduler's capabilities; ``refresh`` reads
        them anew instead of returning the last ones."""
        raise NotImplementedError()

    def get_host_uptime(self):
        """When the host booted: a naive UTC datetime."""
        raise NotImplementedError()

    def list_instances(self):
        """The uuids of the instances the hypervisor has."""
        raise NotImplementedError()

    def get_info(self, instance):
        """``{"power_state": ...}`` of ``instance``; raises
        InstanceNotFound if the hypervisor does not have it."""
        raise NotImplementedError()

    def spawn(self, context, instance):
        """Create and start ``instance``."""
        raise NotImplementedError()

    def destroy(self, context, instance):
        """Remove ``instance`` from the hypervisor; absent is fine."""
        raise NotImplementedError()

    def power_off(self, instance):
        raise NotImplementedError()

    def power_on(self, context, instance):
        raise NotImplementedError()


def load_compute_driver(name, conf):
    """The driver named by ``compute_driver``: a short name or a path.

    :raises InvalidDriver: if it cannot be loaded, or is no ComputeDriver.
    """
    path = DRIVERS.get(name, name)
    module_name, _, class_name = path.rpartition(".")
    try:
        driver_class = getattr(importlib.import_module(module_name),
                               class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise exception.InvalidDriver(
            name=name, reason="%s (known short names: %s)"
            % (exc, ", ".join(sorted(DRIVERS))))
    if not (isinstance(driver_class, type)
            and issubclass(driver_class, ComputeDriver)):
        raise exception.InvalidDriver(name=name,
                                      reason="not a ComputeDriver")
    return driver_class(conf)
