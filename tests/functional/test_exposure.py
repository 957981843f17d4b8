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

"""What the daemon leaves on disk is not readable by others."""

import os
import stat
import time

from tests.functional import daemon as daemon_module


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_state_database_and_log_are_private_whatever_the_umask(
        tmp_path, state_path, daemons):
    log_file = tmp_path / "logs" / "compute.log"
    log_file.parent.mkdir()
    previous = os.umask(0o002)
    try:
        compute = daemons(tmp_path, daemon_module.base_ini(
            state_path, log_file=str(log_file)))
    finally:
        os.umask(previous)
    deadline = time.monotonic() + 15
    while not (log_file.exists() and "is ready" in log_file.read_text()):
        assert compute.process.poll() is None, "the daemon exited"
        assert time.monotonic() < deadline, "never ready"
        time.sleep(0.1)
    database = os.path.join(state_path, "novalite.sqlite")
    created = [state_path, database, str(log_file)] + [
        database + suffix for suffix in ("-wal", "-shm")
        if os.path.exists(database + suffix)]
    for path in created:
        assert _mode(path) & 0o027 == 0, "%s is %o" % (path, _mode(path))


_WITH_PASSWORD = ("[database]\nconnection = postgresql+pg8000://nova:s3cret@"
                  "127.0.0.1:1/novalite\n")


def _run_with_config_mode(tmp_path, state_path, mode):
    """The daemon on a config file of ``mode`` that holds a password; the
    database port refuses, so it exits after its start-up checks."""
    compute = daemon_module.Daemon(
        tmp_path, daemon_module.base_ini(state_path) + _WITH_PASSWORD)
    os.chmod(compute.ini, mode)
    try:
        compute.start()
        assert compute.wait() == 69
        compute.wait_for("cannot use the database")  # all output read
    finally:
        compute.stop()
    return compute


def test_a_world_readable_password_is_warned_about_once(tmp_path,
                                                        state_path):
    compute = _run_with_config_mode(tmp_path, state_path, 0o644)
    warnings = compute.matching("readable by every user")
    assert len(warnings) == 1 and "chmod o-r" in warnings[0]
    assert not compute.matching("s3cret")


def test_a_private_config_file_is_not_warned_about(tmp_path, state_path):
    compute = _run_with_config_mode(tmp_path, state_path, 0o640)
    assert not compute.matching("readable by every user")
