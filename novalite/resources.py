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

"""The resources an instance takes from a host, and how far each may be
overcommitted: the one arithmetic that the schedulers' filters and the
computes' claims share, so that a host a filter lets through is a host
whose claim succeeds (unless another request took the room first)."""

import collections

Resource = collections.namedtuple(
    "Resource", "key ratio_option title unit total_column")

#: ``key`` is the instance's (and flavor's) column; ``total_column`` the
#: ``compute_nodes`` column of the host's total (and the driver's key).
RAM = Resource("memory_mb", "ram_allocation_ratio", "RAM", " MiB",
               "memory_mb")
CORES = Resource("vcpus", "cpu_allocation_ratio", "vCPUs", "", "vcpus")
DISK = Resource("root_gb", "disk_allocation_ratio", "disk", " GiB",
                "local_gb")
ALL = (RAM, CORES, DISK)


def ratio(conf, resource):
    """How far ``resource`` may be overcommitted, by the configuration."""
    return conf[resource.ratio_option]


def shortfall(resource, allocation_ratio, total, used, requested):
    """Why ``requested`` does not fit in what is left of ``resource`` on a
    host of ``total`` that has ``used``, overcommitted by
    ``allocation_ratio``, in a few words; or None if it fits."""
    left = total * allocation_ratio - used
    if requested <= left:
        return None
    return ("%s: %d%s asked, %g%s left of %d%s x %g" % (
        resource.title, requested, resource.unit, max(left, 0),
        resource.unit, total, resource.unit, allocation_ratio))
