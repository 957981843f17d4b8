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

"""Start-up checks of the configuration: one line per problem."""

import textwrap

from oslo_config import cfg
import pytest

from novalite import config
from novalite import manager
from novalite.periodic import sections
from novalite import service


class Tasks(manager.Manager):
    @manager.periodic_task(spacing=600)
    def _sync_power_states(self, context):
        return None

    @manager.periodic_task(ticks_between_runs=2)
    def audit(self, context):
        return None


def tasks(clock):
    return Tasks(host="h", clock=clock).periodic


@pytest.fixture
def conf():
    """A fresh ConfigOpts with every novalite and oslo.log option."""
    fresh = cfg.ConfigOpts()
    config.register_options(fresh)
    return fresh


@pytest.fixture
def write_ini(tmp_path):
    def write(text, name="novalite.conf"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)
    return write


def parse(conf, *files):
    argv = ["novalite-compute"]
    for path in files:
        argv += ["--config-file", path]
    return config.parse_args(argv, conf=conf, default_config_files=[])


def test_a_good_file_parses(conf, write_ini):
    path = write_ini("""
        [DEFAULT]
        periodic_interval = 0.5
        report_interval = 2.5
        debug = true
        [database]
        connection = sqlite:///:memory:
        [periodic_task:sync_power_states]
        spacing = 30
    """)
    parse(conf, path)
    assert conf.periodic_interval == 0.5
    assert conf.report_interval == 2.5
    assert conf.debug is True


BAD_FILES = [
    ("[DEFAULT]\nperiodic_interval = soon\n",
     "[DEFAULT] periodic_interval: invalid value 'soon'"),
    ("[DEFAULT]\nperiodic_interval = 0\n",
     "[DEFAULT] periodic_interval: invalid value '0'"),
    ("[DEFAULT]\nreport_interval = -1\n",
     "[DEFAULT] report_interval: invalid value '-1'"),
    ("[DEFAULT]\nperiodic_fuzzy_delay = -5\n",
     "[DEFAULT] periodic_fuzzy_delay: invalid value '-5'"),
    ("[DEFAULT]\nperiodic_enable = perhaps\n",
     "[DEFAULT] periodic_enable: invalid value 'perhaps'"),
    ("[DEFAULT]\ngraceful_shutdown_timeout = forever\n",
     "[DEFAULT] graceful_shutdown_timeout: invalid value 'forever'"),
    ("[DEFAULT]\nperiodic_intervall = 5\n",
     "[DEFAULT] periodic_intervall: unknown option"),
    ("[DEFAULT]\nreport_interval = 60\nservice_down_time = 30\n",
     "report_interval: 60 is not less than service_down_time (30)"),
    ("[DEFAULT]\ndebug = verbose\n", "[DEFAULT] debug: invalid value"),
    ("[databse]\nconnection = sqlite://\n", "[databse]: unknown section"),
    ("[database]\nconection = sqlite://\n",
     "[database] conection: unknown option"),
    ("[database]\nmax_pool_size = 0\n",
     "[database] max_pool_size: invalid value '0'"),
    ("[database]\nconnection = not a url\n",
     "[database] connection: not a database URL"),
    ("[database]\nconnection = postgresql+nosuchdriver://h/db\n",
     "[database] connection: no driver for postgresql+nosuchdriver"),
    ("[periodic_task:sync_power_states]\nspacing = often\n",
     "[periodic_task:sync_power_states] spacing: invalid value 'often'"),
    ("[periodic_task:audit]\nticks_between_runs = -1\n",
     "[periodic_task:audit] ticks_between_runs: invalid value '-1'"),
    ("[periodic_task:audit]\nticks_between_runs = 1.5\n",
     "[periodic_task:audit] ticks_between_runs: invalid value '1.5'"),
    ("[periodic_task:audit]\nenabled = sometimes\n",
     "[periodic_task:audit] enabled: invalid value 'sometimes'"),
    ("[periodic_task:audit]\nrun_immediately = 2\n",
     "[periodic_task:audit] run_immediately: invalid value '2'"),
    ("[periodic_task:audit]\ntimeout = -3\n",
     "[periodic_task:audit] timeout: invalid value '-3'"),
    ("[periodic_task:audit]\nenabled = $debug\n",
     "[periodic_task:audit] enabled: invalid value '$debug'"),
    ("[periodic_task:audit]\ninterval = 5\n",
     "[periodic_task:audit] interval: unknown option"),
    ("[DEFAULT]\nlog_file = /nonexistent/dir/n.log\n",
     "[DEFAULT] log_file: directory /nonexistent/dir does not exist"),
    ("[DEFAULT]\nlog_file = /tmp\n",
     "[DEFAULT] log_file: /tmp is a directory"),
    ("[DEFAULT]\nlog_dir = /nonexistent\n",
     "[DEFAULT] log_dir: directory /nonexistent does not exist"),
    ("[DEFAULT]\nthis line has no equals sign\n", "cannot parse"),
    ("periodic_interval = 5\n", "cannot parse"),
]


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_each_bad_file_is_one_clear_line(conf, write_ini, text, message):
    path = write_ini(text)
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, path)
    line = str(caught.value)
    assert message in line
    assert "\n" not in line
    if "[" in message and "service_down_time" not in message \
            and "connection:" not in message and "log_" not in message:
        assert line.startswith(path)


def test_a_missing_file_is_named(conf, tmp_path):
    missing = str(tmp_path / "nope.conf")
    with pytest.raises(config.ConfigError,
                       match="nope.conf: config file not found"):
        parse(conf, missing)


def test_a_directory_given_as_file_is_refused(conf, tmp_path):
    with pytest.raises(config.ConfigError):
        parse(conf, str(tmp_path))


def test_a_missing_config_dir_is_named(conf, tmp_path):
    with pytest.raises(config.ConfigError,
                       match="config directory not found"):
        config.parse_args(["x", "--config-dir", str(tmp_path / "nodir")],
                          conf=conf, default_config_files=[])


def test_files_of_a_config_dir_are_checked(conf, tmp_path):
    (tmp_path / "10-ok.conf").write_text("[DEFAULT]\ndebug = true\n")
    (tmp_path / "20-bad.conf").write_text("[DEFAULT]\ndebug = loud\n")
    with pytest.raises(config.ConfigError, match="20-bad.conf: .DEFAULT. "
                       "debug: invalid value 'loud'"):
        config.parse_args(["x", "--config-dir", str(tmp_path)], conf=conf,
                          default_config_files=[])


def test_non_utf8_file_is_refused(conf, tmp_path):
    path = tmp_path / "latin1.conf"
    path.write_bytes(b"[DEFAULT]\nhost = caf\xe9\n")
    with pytest.raises(config.ConfigError):
        parse(conf, str(path))


def test_task_sections_override_the_decorator(conf, write_ini, clock):
    path = write_ini("""
        [periodic_task:sync_power_states]
        ticks_between_runs = 4
        timeout = 30
        [periodic_task:audit]
        spacing = 15
        run_immediately = true
    """)
    parse(conf, path)
    settings = sections.effective_settings(tasks(clock), [path])
    power = settings["_sync_power_states"]
    assert power.spacing is None and power.ticks_between_runs == 4
    assert power.timeout == 30
    audit = settings["audit"]
    assert audit.spacing == 15 and audit.ticks_between_runs is None
    assert audit.run_immediately is True


def test_later_files_win_for_task_sections(conf, write_ini, clock):
    first = write_ini("[periodic_task:audit]\nspacing = 15\n", "a.conf")
    second = write_ini("[periodic_task:audit]\nspacing = 45\n", "b.conf")
    settings = sections.effective_settings(tasks(clock), [first, second])
    assert settings["audit"].spacing == 45


@pytest.mark.parametrize("text, message", [
    ("[periodic_task:nope]\nspacing = 5\n",
     "[periodic_task:nope]: Tasks has no periodic task 'nope' (it has: "
     "audit, sync_power_states)"),
    ("[periodic_task:_sync_power_states]\nspacing = 5\n",
     "no periodic task '_sync_power_states'"),
    ("[periodic_task:audit]\nspacing = 5\nticks_between_runs = 1\n",
     "[periodic_task:audit]: ticks_between_runs and spacing exclude each "
     "other"),
])
def test_bad_task_sections(write_ini, clock, text, message):
    path = write_ini(text)
    with pytest.raises(config.ConfigError) as caught:
        sections.effective_settings(tasks(clock), [path])
    assert message in str(caught.value)
    assert str(caught.value).startswith(path)


def test_reset_checks_everything_before_applying(conf, write_ini, clock,
                                                 db):
    path = write_ini("[DEFAULT]\ndebug = false\n")
    parse(conf, path)
    server = service.Service.create(
        host="h", binary="novalite-compute", manager=__name__ + ".Tasks",
        conf=conf, db=db, clock=clock)
    with open(path, "w") as ini:
        ini.write("[DEFAULT]\ndebug = true\n[periodic_task:audit]\n"
                  "spacing = 9\n[periodic_task:nope]\n")
    with pytest.raises(config.ConfigError, match="nope"):
        server.reset()
    assert conf.debug is False
    assert server.manager.periodic_task_settings("audit").spacing is None
    with open(path, "w") as ini:
        ini.write("[DEFAULT]\ndebug = true\n[periodic_task:audit]\n"
                  "spacing = 9\n")
    server.reset()
    assert conf.debug is True
    assert server.manager.periodic_task_settings("audit").spacing == 9


def test_use_journal_needs_the_systemd_bindings(conf, write_ini,
                                                monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "systemd", None)
    path = write_ini("[DEFAULT]\nuse_journal = true\n")
    with pytest.raises(config.ConfigError, match="python3-systemd"):
        parse(conf, path)
