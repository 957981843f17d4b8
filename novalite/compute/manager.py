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
"""The manager novalite-compute runs."""

from novalite import manager


class ComputeManager(manager.SchedulerDependentManager):
    """Manages the instances of one compute host.

    Its periodic tasks come from SchedulerDependentManager for now: every
    tick it publishes the host capabilities last reported to it.
    """

    def __init__(self, host=None, service_name="compute", **kwargs):
        super().__init__(host, service_name, **kwargs)
