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

"""Every kind of bad configuration: exit 78, one line, nothing runs."""

import os
import pathlib
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.functional import daemon as daemon_module

BAD = {
    "not a number": "[DEFAULT]\nperiodic_interval = often\n",
    "below minimum": "[DEFAULT]\nreport_interval = 0\n",
    "negative fuzzy delay": "[DEFAULT]\nperiodic_fuzzy_delay = -1\n",
    "bad boolean": "[DEFAULT]\nperiodic_enable = sure\n",
    "bad debug": "[DEFAULT]\ndebug = loud\n",
    "unknown option": "[DEFAULT]\nperiodic_intervall = 5\n",
    "unknown section": "[databse]\nconnection = sqlite://\n",
    "unknown database option": "[database]\nconection = sqlite://\n",
    "not a url": "[database]\nconnection = nowhere\n",
    "unknown driver": "[database]\nconnection = postgresql+nope://h/d\n",
    "heartbeat slower than down time":
        "[DEFAULT]\nreport_interval = 30\nservice_down_time = 20\n",
    "unloadable manager": "[DEFAULT]\ncompute_manager = no.such.Manager\n",
    "unknown task": "[periodic_task:no_such_task]\nspacing = 5\n",
    "task name with underscores": "[periodic_task:_busy]\nspacing = 5\n",
    "spacing and ticks": "[periodic_task:fast]\nspacing = 1\n"
                         "ticks_between_runs = 2\n",
    "bad spacing": "[periodic_task:fast]\nspacing = fast\n",
    "negative ticks": "[periodic_task:counted]\nticks_between_runs = -2\n",
    "fractional ticks": "[periodic_task:counted]\nticks_between_runs = 0.5\n",
    "bad enabled": "[periodic_task:slow]\nenabled = maybe\n",
    "bad run_immediately": "[periodic_task:slow]\nrun_immediately = 3\n",
    "negative timeout": "[periodic_task:slow]\ntimeout = -1\n",
    "unknown task option": "[periodic_task:slow]\nspace = 1\n",
    "no section header": "periodic_interval = 5\n",
    "no equals sign": "[DEFAULT]\nperiodic_interval 5\n",
    "state path not creatable": "[DEFAULT]\nstate_path = /proc/novalite\n",
    "unknown compute driver": "[DEFAULT]\ncompute_driver = libvirt\n"
                              "compute_manager = "
                              "novalite.compute.manager.ComputeManager\n",
    "bad choice": "[DEFAULT]\nrunning_deleted_instance_action = burn\n",
    "bad pinned resource": "[fake_driver]\nvcpus = 0\n",
    "unknown filter": "[filter_scheduler]\n"
                      "enabled_filters = RamFilter,NoSuchFilter\n",
    "unknown weigher": "[filter_scheduler]\nweight_classes = CPUWeigher\n",
    "zero allocation ratio": "[DEFAULT]\nram_allocation_ratio = 0\n",
    "zero build attempts": "[DEFAULT]\nscheduler_max_attempts = 0\n",
    # hostile values: not finite, out of range, not a host name
    "nan report interval": "[DEFAULT]\nreport_interval = nan\n",
    "nan down time": "[DEFAULT]\nservice_down_time = nan\n",
    "nan periodic interval": "[DEFAULT]\nperiodic_interval = nan\n",
    "huge periodic interval": "[DEFAULT]\nperiodic_interval = 1e308\n",
    "infinite fuzzy delay": "[DEFAULT]\nperiodic_fuzzy_delay = inf\n",
    "huge spacing": "[periodic_task:fast]\nspacing = 1e308\n",
    "23-digit ticks": "[periodic_task:counted]\n"
                      "ticks_between_runs = 12345678901234567890123\n",
    "empty host": "[DEFAULT]\nhost =\n",
    "host with a continuation line":
        "[DEFAULT]\nhost = probe-host\n  2023-01-01 ERROR forged\n",
    "host with an escape sequence": "[DEFAULT]\nhost = \x1b[2Jprobe\n",
    "host with a NUL": "[DEFAULT]\nhost = probe\x00host\n",
    "300-character host": "[DEFAULT]\nhost = %s\n" % ("a." * 150),
    "10k host": "[DEFAULT]\nhost = %s\n" % ("h" * 10000),
}


def run_compute(args, env=None, timeout=60, prefix=(), **popen):
    """Run novalite-compute to its end; ``prefix`` goes before the
    command (setpriv ...), ``popen`` to subprocess (user, cwd ...)."""
    return subprocess.run(list(prefix) + daemon_module.command() + args,
                          capture_output=True, text=True, timeout=timeout,
                          env=daemon_module.environment(env), **popen)


def assert_one_line_and_78(result):
    assert result.returncode == 78, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("compute.py: ") or lines[0].startswith(
        "novalite-compute: ")
    assert "Traceback" not in result.stderr
    assert "Eventlet is deprecated" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_config_exits_78_with_one_line(tmp_path, state_path, kind):
    ini = tmp_path / "compute.conf"
    text = BAD[kind]
    if not text.startswith("[DEFAULT]") and not text.startswith(
            "periodic_interval"):
        text = daemon_module.base_ini(state_path) + text
    else:
        text = text.replace("[DEFAULT]\n", daemon_module.base_ini(
            state_path), 1)
    ini.write_text(text)
    result = run_compute(["--config-file", str(ini)])
    line = assert_one_line_and_78(result)
    assert line.isprintable() and len(line) < 400, line
    assert "Running periodic task" not in result.stdout
    assert not os.path.exists(os.path.join(state_path, "novalite.sqlite"))
    if kind not in ("unloadable manager", "state path not creatable",
                    "unknown compute driver",
                    "heartbeat slower than down time", "not a url",
                    "unknown driver"):
        assert str(ini) in line


def test_missing_config_file(tmp_path):
    missing = str(tmp_path / "missing.conf")
    line = assert_one_line_and_78(run_compute(["--config-file", missing]))
    assert missing in line and "not found" in line


def test_config_file_that_is_a_directory(tmp_path):
    line = assert_one_line_and_78(run_compute(["--config-file",
                                               str(tmp_path)]))
    assert "directory" in line


# Run as the daemon would be, by the probe below: Python and novalite
# import, the file's directory can be crossed, the file (or directory)
# cannot be read (or listed).
_PROBE = """
import os, sys
import novalite.cmd.compute
os.stat(sys.argv[1])
try:
    if os.path.isdir(sys.argv[1]):
        os.listdir(sys.argv[1])
    else:
        open(sys.argv[1]).close()
except PermissionError:
    sys.exit(0)
sys.exit("could read it")
"""
_NO_DAC = "-dac_override,-dac_read_search"


def _cannot_read(ini, prefix=(), **popen):
    """None if a daemon run so cannot read ``ini`` but can run; else why."""
    try:
        result = subprocess.run(
            list(prefix) + [sys.executable, "-c", _PROBE, str(ini)],
            capture_output=True, text=True, timeout=60,
            env=daemon_module.environment(), **popen)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if result.returncode:
        return (result.stderr.strip().splitlines()
                or ["status %d" % result.returncode])[-1]
    return None


def _secret_file(top):
    ini = pathlib.Path(top) / "secret.conf"
    ini.write_text("[DEFAULT]\n")
    ini.chmod(0)
    return ini


def _secret_dir(top):
    directory = pathlib.Path(top) / "secret.d"
    directory.mkdir()
    (directory / "a.conf").write_text("[DEFAULT]\n")
    directory.chmod(0)
    return directory


@pytest.fixture
def unreadable_ini(tmp_path):
    """(config file, run): ``run(args)`` runs a daemon that cannot read
    the file. Root reads anything, so as root the daemon runs as nobody
    or, if nobody cannot run it (Python under /root ...), as root without
    the capabilities that override file permissions."""
    yield from _unreadable(tmp_path, _secret_file)


@pytest.fixture
def unreadable_dir(tmp_path):
    """(config directory, run), as unreadable_ini: the daemon cannot list
    the directory."""
    yield from _unreadable(tmp_path, _secret_dir)


def _unreadable(tmp_path, make):
    if os.geteuid() != 0:
        path = make(tmp_path)
        yield path, run_compute
        path.chmod(0o700)
        return
    reasons = []
    # pytest's own temporary directories are root's alone: nobody could
    # not even reach the file. This one it can cross and list.
    with tempfile.TemporaryDirectory(prefix="novalite-") as top:
        os.chmod(top, 0o755)
        ini = make(top)
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            reasons.append("as nobody: no such user")
        else:
            popen = {"user": nobody.pw_uid, "group": nobody.pw_gid,
                     "extra_groups": [], "cwd": top}
            why = _cannot_read(ini, **popen)
            if why is None:
                yield ini, lambda args: run_compute(args, **popen)
                return
            reasons.append("as nobody: %s" % why)
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            reasons.append("without CAP_DAC_OVERRIDE: no setpriv")
        else:
            prefix = [setpriv, "--inh-caps=" + _NO_DAC,
                      "--bounding-set=" + _NO_DAC, "--"]
            why = _cannot_read(ini, prefix=prefix, cwd=top)
            if why is None:
                yield ini, lambda args: run_compute(args, prefix=prefix,
                                                    cwd=top)
                return
            reasons.append("without CAP_DAC_OVERRIDE: %s" % why)
        pytest.skip("root, and no way to run the daemon unable to read "
                    "a file: " + "; ".join(reasons))


def test_unreadable_config_file(unreadable_ini):
    ini, run = unreadable_ini
    line = assert_one_line_and_78(run(["--config-file", str(ini)]))
    assert "permission denied" in line.lower()
    assert str(ini) in line


def test_unreadable_config_dir(unreadable_dir):
    directory, run = unreadable_dir
    line = assert_one_line_and_78(run(["--config-dir", str(directory)]))
    assert line.endswith("%s: config directory cannot be read (permission "
                         "denied)" % directory)


def _symlink_loop(tmp_path):
    loop = tmp_path / "loop.conf"
    loop.symlink_to(loop)
    return str(loop), "config file cannot be read (too many levels of " \
        "symbolic links)"


def _fifo(tmp_path):
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    return str(fifo), "is a FIFO, not a regular config file"


def _huge(tmp_path):
    huge = tmp_path / "huge.conf"
    with open(huge, "w") as ini:
        ini.write("[DEFAULT]\n" + "# padding\n" * 110000)
    return str(huge), "is 1100010 bytes; a config file has at most " \
        "1048576 (1 MiB)"


@pytest.mark.parametrize("make", [
    _symlink_loop, _fifo, _huge,
    lambda _: ("/dev/zero", "is a character device, not a regular config "
                            "file")], ids=["symlink loop", "fifo", "huge",
                                           "/dev/zero"])
def test_config_path_that_is_no_config_file(tmp_path, make):
    path, problem = make(tmp_path)
    line = assert_one_line_and_78(run_compute(["--config-file", path],
                                              timeout=30))
    assert line.endswith("%s: %s" % (path, problem))


def test_missing_config_dir(tmp_path):
    line = assert_one_line_and_78(run_compute(
        ["--config-dir", str(tmp_path / "nodir")]))
    assert "config directory not found" in line


def test_unreachable_database_is_status_69(tmp_path, state_path):
    ini = tmp_path / "compute.conf"
    ini.write_text(daemon_module.base_ini(state_path) + (
        "[database]\nconnection = "
        "postgresql+pg8000://nobody@127.0.0.1:9/novalite\n"))
    result = run_compute(["--config-file", str(ini)])
    assert result.returncode == 69
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_line_option_is_a_usage_error():
    result = run_compute(["--no-such-flag"])
    assert result.returncode == 2
    assert "usage:" in result.stderr
