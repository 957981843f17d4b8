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

"""Fake hypervisors for the functional tests, named by their dotted path
in ``compute_driver`` (not options of the product): one whose every spawn
fails (retries), one whose spawn takes seconds (a compute killed in the
middle of boots)."""

import time

from novalite.virt import fake

#: How long SlowDriver takes to spawn.
SLOW_SPAWN_SECONDS = 3.0


class SpawnFailure(Exception):
    pass


class FailingDriver(fake.FakeDriver):

    def spawn(self, context, instance):
        raise SpawnFailure("the test hypervisor refuses to spawn %s"
                           % instance["uuid"])


class SlowDriver(fake.FakeDriver):

    def spawn(self, context, instance):
        time.sleep(SLOW_SPAWN_SECONDS)
        super().spawn(context, instance)
