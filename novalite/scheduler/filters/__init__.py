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

"""Host filters: each says whether one host can take one instance.

``filter_properties`` is what the request carries (JSON): the
``instance_properties`` (``memory_mb``, ``vcpus``, ``root_gb``,
``availability_zone``), and the ``retry`` record of hosts already tried.
The names ``[filter_scheduler] enabled_filters`` accepts are
``novalite.conf.scheduler.FILTERS``; ``by_name`` maps them to classes.
"""

import abc

from novalite import resources


class BaseHostFilter(abc.ABC):
    """Decides for one host at a time; a filter that leaves no host is
    named in the NoValidHost message."""

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def host_passes(self, host_state, filter_properties):
        """Whether this host can take the instance."""

    @property
    def name(self):
        return type(self).__name__


class ComputeFilter(BaseHostFilter):
    """The host's service is up (by its heartbeat) and enabled."""

    def host_passes(self, host_state, filter_properties):
        return host_state.up and not host_state.disabled


class _ResourceFilter(BaseHostFilter):
    """The instance fits in what is left of ``resource``, overcommitted
    by its allocation ratio (``novalite.resources``), read when the filter
    is made (at start-up and SIGHUP): it runs for every host."""

    resource = None

    def __init__(self, conf):
        super().__init__(conf)
        self.allocation_ratio = resources.ratio(conf, self.resource)

    def host_passes(self, host_state, filter_properties):
        key = self.resource.key
        requested = filter_properties["instance_properties"][key]
        return resources.shortfall(
            self.resource, self.allocation_ratio, host_state.total[key],
            host_state.used[key], requested) is None


class RamFilter(_ResourceFilter):
    resource = resources.RAM


class CoreFilter(_ResourceFilter):
    resource = resources.CORES


class DiskFilter(_ResourceFilter):
    resource = resources.DISK


class AvailabilityZoneFilter(BaseHostFilter):
    """The host is in the zone the request asks for, if it asks one."""

    def host_passes(self, host_state, filter_properties):
        wanted = filter_properties["instance_properties"].get(
            "availability_zone")
        return not wanted or wanted == host_state.availability_zone


class RetryFilter(BaseHostFilter):
    """The host has not been tried for this request already."""

    def host_passes(self, host_state, filter_properties):
        retry = filter_properties.get("retry") or {}
        return host_state.host not in retry.get("hosts", ())


_CLASSES = (AvailabilityZoneFilter, ComputeFilter, CoreFilter, DiskFilter,
            RamFilter, RetryFilter)


def by_name():
    """Every filter class, by the name the configuration uses."""
    return {cls.__name__: cls for cls in _CLASSES}


def load(conf, names):
    """Instances of the filters ``names``, in that order."""
    classes = by_name()
    return [classes[name](conf) for name in names]
