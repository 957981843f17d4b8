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

"""The shipped systemd units: valid, and hardened (exposure 2.0 or lower)."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.functional import daemon as daemon_module

PROGRAMS = ("novalite-compute", "novalite-scheduler")
#: Where the README installs novalite for the units.
VENV = "/opt/novalite"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None,
                                   reason="systemd-analyze is not installed")


def unit_text(program):
    with open(os.path.join(daemon_module.REPO, "etc", "systemd",
                           "%s.service" % program)) as unit:
        return unit.read()


@pytest.fixture(params=PROGRAMS)
def program(request):
    return request.param


@pytest.fixture
def installed_unit(tmp_path, program):
    """The unit with ExecStart pointing at an executable that exists here
    (verify checks it); everything else as shipped."""
    launcher = os.path.join(os.path.dirname(sys.executable), program)
    if not os.path.exists(launcher):
        launcher = os.path.join(daemon_module.REPO, "bin", program)
    path = tmp_path / ("%s.service" % program)
    path.write_text(unit_text(program).replace(
        "%s/bin/%s" % (VENV, program), launcher))
    return str(path)


def test_unit_has_what_operators_rely_on(program):
    text = unit_text(program)
    assert ("ExecStart=%s/bin/%s --config-file /etc/novalite/%s.conf"
            % (VENV, program, program.rpartition("-")[2])
            ) in text.splitlines()
    assert ("Documentation=file:/usr/share/doc/novalite/operations.md"
            in text.splitlines())
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                 "Restart=on-failure", "RestartPreventExitStatus=78 65 2",
                 "User=novalite", "StateDirectory=novalite",
                 "LogsDirectory=novalite"):
        assert line in text.splitlines(), line
    stop = re.search(r"^TimeoutStopSec=(\d+)s$", text, re.M)
    assert stop and float(stop.group(1)) > 60  # graceful_shutdown_timeout


@needs_analyze
def test_systemd_analyze_verify_passes(installed_unit):
    result = subprocess.run([ANALYZE, "verify", installed_unit],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@needs_analyze
def test_systemd_analyze_security_rates_it_2_or_lower(installed_unit):
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager",
         installed_unit], capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)",
                      result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0


def test_the_readme_installs_what_the_unit_runs():
    """The README's systemd steps put the program where ExecStart looks,
    the docs where Documentation= points, and the config where
    --config-file reads it."""
    with open(os.path.join(daemon_module.REPO, "README.md")) as readme:
        text = readme.read()
    steps = text[text.index("## systemd"):text.index("## Many hosts")]
    assert "python3 -m venv %s && %s/bin/pip install ." % (VENV, VENV) in (
        steps)
    assert "-t /usr/share/doc/novalite README.md docs/*.md" in steps
    assert os.path.exists(os.path.join(daemon_module.REPO, "docs",
                                       "operations.md"))
    assert "/etc/novalite/compute.conf" in steps
    assert "/usr/bin/" not in steps
