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

"""novalite-scheduler: the scheduler service daemon.

It keeps what every compute host publishes and, like every novalite
service, runs its manager's periodic tasks under a heartbeat.
"""

import sys

from novalite.cmd import common


@common.explained_errors
def main():
    return common.run_service("novalite-scheduler", "scheduler_topic")


if __name__ == "__main__":
    sys.exit(main())
