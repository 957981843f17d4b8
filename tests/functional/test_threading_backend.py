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


"""The backend switch in real processes: a daemon on native threads never
imports eventlet, and a backend that does not exist is one line."""

import signal
import subprocess
import sys
import time

from tests.functional import daemon as daemon_module

_DAEMON_THAT_LISTS_ITS_MODULES = '''
import atexit, sys
sys.argv = ["novalite-compute", "--config-file", %r]
import novalite.cmd


def eventlet_modules():
    loaded = sorted(name for name, module in sys.modules.items()
                    if module is not None and name.split(".")[0] == "eventlet")
    print("EVENTLET MODULES: %%s" %% (loaded or "none"), flush=True)


atexit.register(eventlet_modules)
from novalite.cmd import compute
sys.exit(compute.main())
'''


def test_a_daemon_on_threads_never_imports_eventlet(tmp_path, state_path):
    """With the bus (oslo.messaging, whose oslo.utils would load eventlet
    if it could) and a tick of every task, then a stop."""
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(
        state_path, transport_url="fake://",
        control_exchange="test-threads-%d" % time.monotonic_ns()))
    process = subprocess.Popen(
        [sys.executable, "-c", _DAEMON_THAT_LISTS_ITS_MODULES % str(ini)],
        env=daemon_module.environment({"NOVALITE_BACKEND": "threading"}),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Running periodic task ProbeManager.counted" in line:
                break
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = "".join(lines) + output
    assert process.returncode == 0, text
    assert "is ready (threading, sqlite database" in text, text
    assert "EVENTLET MODULES: none" in text, text


def test_an_unknown_backend_is_one_line_and_status_78(tmp_path, state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path))
    result = subprocess.run(
        daemon_module.command() + ["--config-file", str(ini)],
        capture_output=True, text=True, timeout=60,
        env=daemon_module.environment({"NOVALITE_BACKEND": "gevent"}))
    assert result.returncode == 78
    assert result.stderr.splitlines() == [
        "novalite: configuration error: NOVALITE_BACKEND: unknown backend "
        "'gevent' (choose eventlet or threading)"]
