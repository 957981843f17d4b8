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
"""Random bad input: a clean start or one line and exit 78, every time."""

import signal
import subprocess

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from oslo_config import cfg

from novalite.compute import manager as compute_manager
from novalite import config
from novalite.conf import periodic_task as task_conf
from novalite import exception
from novalite.periodic import sections as task_sections
from novalite.periodic import settings as task_settings
from tests.functional import daemon as daemon_module


def _real_options():
    """Every section and option novalite knows, plus the task sections."""
    conf = cfg.ConfigOpts()
    config.register_options(conf)
    sections = {name: sorted(opts)
                for name, opts in config._known_options(conf).items()}
    for name, _ in compute_manager.ComputeManager._periodic_tasks:
        sections[task_settings.section_name(name)] = [
            opt.name for opt in task_conf.task_opts]
    return sections


SECTIONS = _real_options()
VALUES = st.one_of(
    st.integers(-10 ** 6, 10 ** 6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "yes", "no", "", "none", "sqlite://",
                     "reap", "fake", "$state_path", "~", "/tmp", "0.0001"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")),
            max_size=20).map(str.strip),
)
KNOWN_LINE = st.sampled_from(sorted(SECTIONS)).flatmap(
    lambda section: st.tuples(st.just(section),
                              st.sampled_from(SECTIONS[section]), VALUES))
ODD_LINE = st.tuples(
    st.sampled_from(sorted(SECTIONS) + ["databse", "periodic_task:nope",
                                        "periodic_task:", "DEFAULT"]),
    st.from_regex(r"[a-z_]{1,20}", fullmatch=True), VALUES)
INI = st.lists(st.one_of(KNOWN_LINE, KNOWN_LINE, ODD_LINE), max_size=8)


def render(lines):
    by_section = {}
    for section, option, value in lines:
        by_section.setdefault(section, []).append("%s = %s" % (option,
                                                               value))
    return "".join("[%s]\n%s\n" % (section, "\n".join(body))
                   for section, body in by_section.items())


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=INI)
def test_random_ini_is_accepted_or_refused_in_one_line(tmp_path, lines):
    path = tmp_path / "random.conf"
    path.write_text("[DEFAULT]\nstate_path = %s\n" % (tmp_path / "state")
                    + render(lines))
    conf = cfg.ConfigOpts()
    try:
        config.parse_args(["novalite-compute", "--config-file", str(path)],
                          conf=conf, default_config_files=[])
        manager = compute_manager.ComputeManager(host="fuzz", conf=conf)
        task_sections.effective_settings(manager.periodic, [str(path)])
    except config.ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
    except (exception.InvalidDriver, exception.DatabaseError) as exc:
        assert "\n" not in str(exc)


# Options that would make a started daemon write outside its test folder.
_PLACES = {"state_path", "instances_path", "log_file", "log_dir",
           "connection", "watch_log_file"}
CONTAINED_INI = INI.map(lambda lines: [line for line in lines
                                       if line[1] not in _PLACES])


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=CONTAINED_INI)
def test_random_ini_through_the_real_daemon(tmp_path, lines):
    text = daemon_module.base_ini(
        str(tmp_path / "state"),
        compute_manager="novalite.compute.manager.ComputeManager",
        instances_path=str(tmp_path / "instances")) + render(lines)
    ini = tmp_path / "random.conf"
    ini.write_text(text)
    process = subprocess.Popen(
        daemon_module.command() + ["--config-file", str(ini)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=daemon_module.environment())
    try:
        out, err = process.communicate(timeout=4)
    except subprocess.TimeoutExpired:  # it started: stop it cleanly
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, text + err
        assert "Traceback" not in out + err, text
        return
    assert process.returncode == 78, text + out + err
    assert len(err.strip().splitlines()) == 1, text + err
    assert "Traceback" not in err


MANAGE_WORDS = st.sampled_from([
    "db", "sync", "version", "service", "list", "disable", "enable", "host",
    "show", "instance", "task", "--host", "--binary", "--reason",
    "--format", "json", "table", "yaml", "--version", "0001", "9999", "",
    "--help", "-x", "nowhere", "probe-host"])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(MANAGE_WORDS, max_size=5))
def test_random_manage_arguments_never_trace_back(tmp_path, words):
    ini = tmp_path / "manage.conf"
    ini.write_text(daemon_module.base_ini(str(tmp_path / "state")))
    result = subprocess.run(
        daemon_module.command("manage") + ["--config-file", str(ini)]
        + words, capture_output=True, text=True, timeout=60,
        env=daemon_module.environment())
    assert "Traceback" not in result.stderr, (words, result.stderr)
    assert result.returncode in (0, 1, 2, 69, 78), (words, result.stderr)
    if result.returncode not in (0, 2):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
