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

import pytest

from tests.functional import daemon as daemon_module


@pytest.fixture
def state_path(tmp_path):
    path = tmp_path / "state"
    return str(path)


@pytest.fixture
def daemons():
    """Start Daemons through this; every one is stopped after the test."""
    started = []

    def start(tmp_path, ini_text, env=None, **kwargs):
        process = daemon_module.Daemon(tmp_path, ini_text, env,
                                       **kwargs).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
