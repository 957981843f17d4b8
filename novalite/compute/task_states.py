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

"""What is being done to an instance, with nova's names; None when nothing.

A boot goes ``scheduling`` (waiting for a scheduler, or for the chosen
host to claim it) then ``spawning`` (claimed, on the hypervisor), then
None with the instance ACTIVE, or ERROR with a fault.
"""

SCHEDULING = "scheduling"
SPAWNING = "spawning"
DELETING = "deleting"

#: Where a boot can stall if a service dies under it.
BUILDING = (SCHEDULING, SPAWNING)
