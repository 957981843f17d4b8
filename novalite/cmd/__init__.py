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

"""Console commands. Importing this package holds SIGHUP and SIGUSR2
(``novalite.early_signals``), then monkey-patches, before anything else."""

from novalite import early_signals

early_signals.hold()

from novalite import monkey_patch  # noqa: E402,F401,I100
