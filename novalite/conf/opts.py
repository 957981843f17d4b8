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


def list_opts():
    """Return ``[(group, [opts])]``, as oslo-config-generator expects.

    The task sections depend on the manager's code, so they have their
    own namespace: ``novalite.periodic_tasks``
    (``novalite.periodic.sections.list_opts``).
    """
    by_group = collections.defaultdict(list)
    for module in conf.MODULES:
        for group, opts in module.list_opts().items():
            by_group[group].extend(opts)
    return list(by_group.items())
