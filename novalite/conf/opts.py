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

"""Gather every option for ``oslo-config-generator --namespace novalite``."""

import collections

from novalite import conf
from novalite.conf import periodic_task


def list_opts():
    """Return ``[(group, [opts])]``, as oslo-config-generator expects.

    The task sections of the default compute manager come last, each with
    the decorator's values as defaults.
    """
    by_group = collections.defaultdict(list)
    for module in conf.MODULES:
        for group, opts in module.list_opts().items():
            by_group[group].extend(opts)
    from novalite.compute import manager as compute_manager

    by_group.update(periodic_task.list_opts_for(
        compute_manager.ComputeManager))
    return list(by_group.items())
