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

"""Host weighers: they rank the hosts that passed the filters.

As nova's weighers after Folsom: each weigher's raw weights are scaled to
0..1 across the hosts, then multiplied by the weigher's multiplier and
summed, so that weighers of different units can be combined. The highest
total wins. The names ``[filter_scheduler] weight_classes`` accepts are
``novalite.conf.scheduler.WEIGHERS``.
"""

import abc


class BaseHostWeigher(abc.ABC):
    """A weigher gives each host a raw weight; ``weigh`` scales them."""

    def __init__(self, conf):
        self.conf = conf

    def weight_multiplier(self):
        return 1.0

    @abc.abstractmethod
    def raw_weight(self, host_state, filter_properties):
        """The host's weight in the weigher's own unit."""


class RAMWeigher(BaseHostWeigher):
    """More free RAM weighs more: with a positive multiplier instances
    spread over the hosts; with a negative one they stack."""

    def weight_multiplier(self):
        return self.conf.filter_scheduler.ram_weight_multiplier

    def raw_weight(self, host_state, filter_properties):
        return host_state.free_ram_mb


def _normalized(values):
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [0.0] * len(values)
    return [(value - low) / (high - low) for value in values]


def weigh(weighers, host_states, filter_properties):
    """``host_states`` sorted best first, by the sum of the weighers'
    normalised, multiplied weights; ties keep the hosts' order."""
    totals = [0.0] * len(host_states)
    for weigher in weighers:
        raw = [weigher.raw_weight(state, filter_properties)
               for state in host_states]
        multiplier = weigher.weight_multiplier()
        for index, value in enumerate(_normalized(raw)):
            totals[index] += multiplier * value
    order = sorted(range(len(host_states)), key=lambda i: -totals[i])
    return [host_states[i] for i in order]


_CLASSES = (RAMWeigher,)


def by_name():
    return {cls.__name__: cls for cls in _CLASSES}


def load(conf, names):
    classes = by_name()
    return [classes[name](conf) for name in names]
