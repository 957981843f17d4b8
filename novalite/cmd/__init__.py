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
(``novalite.early_signals``), reads the concurrency backend
(``NOVALITE_BACKEND``: an unknown one is one line and status 78, as any
configuration error) and prepares the process for it, before anything
else."""

import os
import sys

from novalite import early_signals

early_signals.hold()

from novalite import backend  # noqa: E402

try:
    backend.chosen()
except backend.UnknownBackend as exc:
    # Under ``python -m`` the module is not known yet: argv[0] is "-m".
    program = os.path.basename(sys.argv[0]).lstrip("-") or "novalite"
    sys.stderr.write("%s: configuration error: %s\n"
                     % ("novalite" if program == "m" else program, exc))
    sys.exit(os.EX_CONFIG)

from novalite import monkey_patch  # noqa: E402,F401,I100
