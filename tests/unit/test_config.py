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

import logging
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


# Hostile configuration -----------------------------------------------------

HOSTILE_VALUES = [
    ("[DEFAULT]\nreport_interval = nan\n",
     "[DEFAULT] report_interval: invalid value 'nan': not a finite number"),
    ("[DEFAULT]\nservice_down_time = nan\n",
     "[DEFAULT] service_down_time: invalid value 'nan': not a finite"),
    ("[DEFAULT]\nperiodic_interval = nan\n",
     "[DEFAULT] periodic_interval: invalid value 'nan': not a finite"),
    ("[DEFAULT]\nperiodic_interval = 1e308\n",
     "periodic_interval: invalid value '1e308': 1e+308 is not between "
     "0.01 and 31536000"),
    ("[DEFAULT]\nperiodic_interval = inf\n",
     "invalid value 'inf': inf is not between 0.01 and 31536000"),
    ("[DEFAULT]\nperiodic_fuzzy_delay = inf\n",
     "periodic_fuzzy_delay: invalid value 'inf': inf is not between 0 "
     "and 86400"),
    ("[DEFAULT]\nperiodic_fuzzy_delay = NaN\n", "not a finite number"),
    ("[DEFAULT]\ngraceful_shutdown_timeout = -inf\n",
     "-inf is not between 0 and 31536000"),
    ("[DEFAULT]\nreclaim_instance_interval = nan\n", "not a finite number"),
    ("[DEFAULT]\nreclaim_instance_interval = -1e308\n",
     "is not between -31536000 and 31536000"),
    ("[database]\npool_timeout = nan\n",
     "[database] pool_timeout: invalid value 'nan': not a finite number"),
    ("[fake_driver]\nmemory_mb = 99999999999999999999\n",
     "memory_mb: invalid value '99999999999999999999': 1e+20 is not "
     "between 1 and 1073741824"),
    ("[periodic_task:audit]\nspacing = 1e308\n",
     "[periodic_task:audit] spacing: invalid value '1e308'"),
    ("[periodic_task:audit]\nspacing = nan\n",
     "[periodic_task:audit] spacing: invalid value 'nan': not a finite"),
    ("[periodic_task:audit]\nspacing = -inf\n",
     "-inf is not between -31536000 and 31536000"),
    ("[periodic_task:audit]\nticks_between_runs = 12345678901234567890123\n",
     "ticks_between_runs: invalid value '12345678901234567890123': "
     "1.23e+22 is not between 0 and 1000000"),
    ("[periodic_task:audit]\ntimeout = nan\n",
     "[periodic_task:audit] timeout: invalid value 'nan': not a finite"),
    ("[DEFAULT]\nhost =\n",
     "[DEFAULT] host: invalid value '': a host name cannot be empty"),
    ("[DEFAULT]\nhost = compute-1\n  2023-01-01 12:00:00 ERROR forged\n",
     "[DEFAULT] host: invalid value 'compute-1\\n2023-01-01 12:00:00 ERROR "
     "forged': a host name has only letters, digits, '-', '_' and '.', not "
     "'\\n', ' ', ':'"),
    ("[DEFAULT]\nhost = \x1b[31mred\n", "not '\\x1b', '['"),
    ("[DEFAULT]\nhost = a\x00b\n", "not '\\x00'"),
    ("[DEFAULT]\nhost = %s\n" % ("a." * 150 + "b"),
     "a host name has at most 255 characters, not 301"),
    ("[DEFAULT]\nhost = %s.example\n" % ("x" * 64),
     "a label of a host name has at most 63 characters, not 64"),
    ("[DEFAULT]\nhost = compute..example\n", "no empty label"),
    ("[DEFAULT]\nhost = compute.example.\n", "no empty label"),
    ("[DEFAULT]\nhost = caf\u00e9\n", "not '\u00e9'"),
    ("[DEFAULT]\nhost = ::1\n", "not ':'"),
    ("[fake_driver]\nhypervisor_hostname = a b\n",
     "[fake_driver] hypervisor_hostname: invalid value 'a b'"),
]


@pytest.mark.parametrize("text, message", HOSTILE_VALUES)
def test_hostile_values_are_one_clear_line(conf, write_ini, text, message):
    path = write_ini(text)
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, path)
    line = str(caught.value)
    assert line.startswith(path + ": [")
    assert message in line
    assert line.isprintable() and len(line) < 300, line


def test_a_10k_host_name_is_refused_in_a_short_line(conf, write_ini):
    path = write_ini("[DEFAULT]\nhost = %s\n" % ("h" * 10000))
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, path)
    line = str(caught.value)
    assert "'%s'... (10000 characters)" % ("h" * 60) in line
    assert "at most 255 characters, not 10000" in line
    assert len(line) < 300


@pytest.mark.parametrize("text", [
    "[periodic_task:audit]\nspacing = nan\n",
    "[periodic_task:audit]\nspacing = 1e308\n",
    "[periodic_task:audit]\nticks_between_runs = 12345678901234567890123\n",
    "[periodic_task:audit]\ntimeout = inf\n",
])
def test_task_sections_refuse_hostile_numbers(write_ini, clock, text):
    path = write_ini(text)
    with pytest.raises(config.ConfigError) as caught:
        sections.effective_settings(tasks(clock), [path])
    assert str(caught.value).startswith(path + ": [periodic_task:audit] ")


@pytest.mark.parametrize("host", [
    "compute-1", "compute_1.example.org", "10.0.0.1", "a" * 63,
    ".".join(["b" * 63] * 4), "node.01"])
def test_good_host_names_parse(conf, write_ini, host):
    path = write_ini("[DEFAULT]\nhost = %s\n" % host)
    parse(conf, path)
    assert conf.host == host


def test_a_value_that_is_not_finite_is_refused_from_anywhere(conf,
                                                             write_ini):
    """Not only from a file: a substitution or an override too."""
    path = write_ini("[DEFAULT]\nperiodic_fuzzy_delay = 5\n")
    parse(conf, path)
    conf.set_override("periodic_fuzzy_delay", float("nan"))
    with pytest.raises(config.ConfigError,
                       match=r"^\[DEFAULT\] periodic_fuzzy_delay: nan is "
                             "not a finite number$"):
        config.check_values(conf)


def test_an_invalid_machine_hostname_asks_for_host(conf, write_ini,
                                                   monkeypatch):
    monkeypatch.setattr(config.socket, "gethostname",
                        lambda: "bad\x1bhost")
    conf.set_default("host", None)
    path = write_ini("[DEFAULT]\ndebug = false\n")
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, path)
    assert str(caught.value) == (
        "[DEFAULT] host: unset, and this machine's hostname 'bad\\x1bhost' "
        "is not a valid host name: set host")


def _numeric_options():
    return list(_iter_numeric_options())


def _iter_numeric_options():
    from novalite.conf import opts
    from novalite.conf import periodic_task

    for group, options in opts.list_opts() + [
            ("periodic_task:<name>", periodic_task.task_opts)]:
        if getattr(group, "name", group) == "database":  # not ours
            continue
        for option in options:
            if isinstance(option, (cfg.IntOpt, cfg.FloatOpt)):
                yield option


@pytest.mark.parametrize("option", _numeric_options(),
                         ids=lambda option: option.name)
def test_every_number_has_a_range_said_in_its_help(option):
    def text(number):
        return "%d" % number if float(number).is_integer() else str(number)

    assert option.type.min is not None and option.type.max is not None
    assert option.type.max <= 2 ** 31 - 1
    help_text = " ".join(option.help.split())
    assert "from %s to %s" % (text(option.type.min),
                              text(option.type.max)) in help_text


def test_report_interval_below_down_time_still_holds_at_the_maxima(
        conf, write_ini):
    path = write_ini("[DEFAULT]\nreport_interval = 31536000\n"
                     "service_down_time = 31536000\n")
    with pytest.raises(config.ConfigError, match="is not less than "
                       "service_down_time"):
        parse(conf, path)


# Config paths that are not config files.

def test_a_symlink_loop_is_one_line(conf, tmp_path):
    loop = tmp_path / "loop.conf"
    loop.symlink_to(loop)
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, str(loop))
    assert str(caught.value) == (
        "%s: config file cannot be read (too many levels of symbolic "
        "links)" % loop)


def test_a_fifo_is_refused_without_opening_it(conf, tmp_path):
    import os

    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, str(fifo))
    assert str(caught.value) == ("%s: is a FIFO, not a regular config file"
                                 % fifo)


def test_a_device_is_refused(conf):
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, "/dev/zero")
    assert str(caught.value) == ("/dev/zero: is a character device, not a "
                                 "regular config file")


def test_a_huge_file_is_refused_before_it_is_read(conf, tmp_path,
                                                  monkeypatch):
    huge = tmp_path / "huge.conf"
    with open(huge, "wb") as ini:
        ini.truncate(config.MAX_FILE_SIZE + 1)
    monkeypatch.setattr(cfg.ConfigParser, "parse", lambda self: 1 / 0)
    with pytest.raises(config.ConfigError) as caught:
        parse(conf, str(huge))
    assert str(caught.value) == (
        "%s: is 1048577 bytes; a config file has at most 1048576 (1 MiB)"
        % huge)


def test_a_config_dir_that_cannot_be_listed_is_refused(conf, tmp_path,
                                                       monkeypatch):
    import os

    (tmp_path / "a.conf").write_text("[DEFAULT]\n")

    def listdir(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "listdir", listdir)
    with pytest.raises(config.ConfigError) as caught:
        config.parse_args(["x", "--config-dir", str(tmp_path)], conf=conf,
                          default_config_files=[])
    assert str(caught.value) == (
        "%s: config directory cannot be read (permission denied)" % tmp_path)


def test_a_config_dir_that_is_a_file_is_refused(conf, write_ini):
    path = write_ini("[DEFAULT]\n")
    with pytest.raises(config.ConfigError,
                       match="novalite.conf: is not a directory$"):
        config.parse_args(["x", "--config-dir", path], conf=conf,
                          default_config_files=[])


def test_a_fifo_in_a_config_dir_is_refused(conf, tmp_path):
    import os

    os.mkfifo(tmp_path / "10-fifo.conf")
    with pytest.raises(config.ConfigError, match="10-fifo.conf: is a FIFO"):
        config.parse_args(["x", "--config-dir", str(tmp_path)], conf=conf,
                          default_config_files=[])


# A password others can read.

_WITH_PASSWORD = ("[database]\nconnection = "
                  "postgresql+pg8000://nova:s3cret@db.example/novalite\n")


@pytest.mark.parametrize("text, mode, warned", [
    (_WITH_PASSWORD, 0o644, True),
    (_WITH_PASSWORD, 0o640, False),
    (_WITH_PASSWORD, 0o600, False),
    ("[database]\nconnection = postgresql+pg8000://nova@db/novalite\n",
     0o644, False),
    ("[DEFAULT]\ndebug = true\n", 0o644, False),
])
def test_a_password_readable_by_others_is_warned_once(
        conf, write_ini, caplog, text, mode, warned):
    import logging
    import os

    path = write_ini(text)
    os.chmod(path, mode)
    parse(conf, path)
    with caplog.at_level(logging.WARNING, logger="novalite.config"):
        exposed = config.warn_about_exposed_password(conf)
    records = [r for r in caplog.records if r.name == "novalite.config"]
    if not warned:
        assert exposed == [] and records == []
        return
    assert exposed == ["%s (mode 0%o)" % (path, mode)]
    assert len(records) == 1 and records[0].levelname == "WARNING"
    message = records[0].getMessage()
    assert message.startswith("%s (mode 0644): readable by every user"
                              % path)
    assert "s3cret" not in message and "\n" not in message


# novalite-manage prints names safely.

def test_manage_tables_escape_control_characters(capsys):
    from novalite.cmd import manage

    manage.print_table([("host", "Host"), ("why", "Reason")], [
        {"host": "evil\x1b]0;owned\x07\x1b[2J", "why": "a\nb\u202ec"},
        {"host": "plain", "why": None}], "table")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[1] == ("evil\\x1b]0;owned\\x07\\x1b[2J  a\\nb\\u202ec")
    assert lines[2].split() == ["plain", "-"]


@pytest.mark.parametrize("host, problem", [
    ("", "cannot be empty"), ("a\x1bb", "not '\\x1b'"),
    ("h" * 300, "at most 255 characters, not 300"), ("a b", "not ' '")])
def test_manage_refuses_bad_host_arguments(host, problem):
    from novalite.cmd import manage

    with pytest.raises(manage.CommandError) as caught:
        manage.check_host_arguments({"host": host, "binary": "x"})
    assert problem in str(caught.value)
    assert str(caught.value).isprintable()
    manage.check_host_arguments({"host": "compute-1", "binary": "x"})
    manage.check_host_arguments({"host": None})


def test_every_manage_command_says_what_it_does():
    from novalite.cmd import manage

    for category, (command_class, actions) in manage.CATEGORIES.items():
        assert (command_class.__doc__ or "").strip(), category
        for action in actions:
            assert (getattr(command_class, action).__doc__ or "").strip(), (
                category, action)


def test_an_abbreviated_option_is_not_taken_for_the_option(tmp_path):
    ini = tmp_path / "novalite.conf"
    ini.write_text("[DEFAULT]\n")
    conf = cfg.ConfigOpts()
    with pytest.raises(SystemExit) as exited:
        config.parse_args(["novalite-compute", "--config-fil", str(ini)],
                          conf=conf, default_config_files=[])
    assert exited.value.code == 2


def test_no_config_file_read_is_a_warning_that_says_where_state_goes(
        tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="novalite")
    conf = cfg.ConfigOpts()
    config.parse_args(["novalite-compute"], conf=conf,
                      default_config_files=[])
    conf.set_override("state_path", str(tmp_path / "state"))
    config.say_where(conf)
    [record] = [r for r in caplog.records if r.name == "novalite.config"]
    assert record.levelno == logging.WARNING
    assert "No configuration file read" in record.getMessage()
    assert record.getMessage().endswith("state in %s" % (tmp_path / "state"))
