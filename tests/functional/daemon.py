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

"""Run the real novalite-compute as a subprocess and read its log."""

import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROBE_MANAGER = "tests.functional.probe_manager.ProbeManager"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})")


def base_ini(state_path, **overrides):
    """A quick-ticking config on the probe manager; ``overrides`` are
    extra [DEFAULT] options."""
    options = {
        "state_path": state_path, "debug": "true",
        "compute_manager": PROBE_MANAGER, "periodic_interval": "1",
        "periodic_fuzzy_delay": "0", "report_interval": "0.2",
        "service_down_time": "5", "graceful_shutdown_timeout": "5",
        "host": "probe-host",
    }
    options.update({k: str(v) for k, v in overrides.items()})
    return "[DEFAULT]\n" + "".join("%s = %s\n" % item
                                   for item in options.items())


def command(program="compute"):
    return [sys.executable, "-m", "novalite.cmd.%s" % program]


def free_port():
    """A loopback TCP port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_once(ini, program="compute", timeout=60):
    """Run the command with ``ini`` until it exits; its CompletedProcess."""
    return subprocess.run(
        command(program) + ["--config-file", str(ini)], capture_output=True,
        text=True, timeout=timeout, env=environment())


def environment(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("NOTIFY_SOCKET", None)
    env.pop("WATCHDOG_USEC", None)
    env.update(extra or {})
    return env


class Daemon:
    """One novalite service process (``program``: compute or scheduler);
    its output is kept line by line. ``name`` names its ini file, so that
    several can share a directory."""

    def __init__(self, tmp_path, ini_text, env=None, program="compute",
                 name=None):
        self.tmp_path = tmp_path
        self.program = program
        self.ini = tmp_path / ("%s.conf" % (name or program))
        self.write_ini(ini_text)
        self.env = environment(env)
        self.lines = []
        self.process = None
        self._changed = threading.Condition()

    def write_ini(self, text):
        self.ini.write_text(textwrap.dedent(text))

    def start(self):
        self.process = subprocess.Popen(
            command(self.program) + ["--config-file", str(self.ini)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=self.env, cwd=str(self.tmp_path))
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern, timeout=15.0, start=0):
        """Index of the first line from ``start`` matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(start, len(self.lines)):
                    if regex.search(self.lines[index]):
                        return index
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None
                                 and not self._more_output()):
                    raise AssertionError(
                        "no line matching %r within %s s; output:\n%s"
                        % (pattern, timeout, "\n".join(self.lines[-40:])))
                self._changed.wait(min(left, 0.1))

    def _more_output(self):
        return self._changed.wait(0.2)

    def matching(self, pattern, start=0):
        regex = re.compile(pattern)
        return [line for line in self.lines[start:] if regex.search(line)]

    def times_of(self, pattern, start=0):
        """Log timestamps (seconds) of the lines matching ``pattern``."""
        times = []
        for line in self.matching(pattern, start):
            stamp = _STAMP.match(line)
            if stamp:
                times.append(datetime.datetime.strptime(
                    stamp.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp())
        return times

    def signal(self, signum):
        self.process.send_signal(signum)

    def wait(self, timeout=15.0):
        return self.process.wait(timeout)

    def stop(self):
        """SIGTERM, then SIGKILL if it will not go; always reaps."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
