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

"""A fleet on one machine for the functional tests: novalite-schedulers
and novalite-computes of chosen sizes, each a real daemon started from its
own ini file, on this test's corner of the local RabbitMQ
(``tests.functional.broker``) and a shared database of its own, driven
with ``novalite-manage``; every process is stopped after the test (by the
``daemons`` fixture).
"""

import json
import signal
import subprocess
import time

import pytest

from novalite.db import api as db_api
from novalite.db import migration
from tests.functional import broker as broker_module
from tests.functional import daemon as daemon_module
from tests.functional import test_database

COMPUTE_MANAGER = "novalite.compute.manager.ComputeManager"
#: The periodic interval of the fleet's daemons: short, so capabilities
#: and the stalled-boot finder act within a test.
TICK = 1.0


@pytest.fixture(params=["postgresql"])
def shared_database(request):
    """A synced database of this test's own on the local server (the
    PostgreSQL one unless the test parametrizes ``shared_database`` with
    ``indirect=True``)."""
    with test_database.server_database(request.param) as url:
        engine = db_api.create_engine(url)
        migration.db_sync(engine)
        engine.dispose()
        yield url


class Fleet:
    """Schedulers and computes on one bus and one database."""

    def __init__(self, tmp_path, broker, url, daemons,
                 broker_address=broker_module.HOST, **options):
        self.tmp_path = tmp_path
        self.broker = broker
        self.url = url
        self.daemons = daemons
        self.broker_address = broker_address
        self.options = dict({"ram_allocation_ratio": 1.0,
                             "service_down_time": 5}, **options)
        self.computes = {}
        self.schedulers = {}
        self.ini = tmp_path / "manage.conf"
        self.ini.write_text(self.service_ini(broker.host("manage")))

    def service_ini(self, host, size=None, **overrides):
        options = {"host": host, "compute_manager": COMPUTE_MANAGER,
                   "periodic_interval": TICK, "report_interval": 0.5,
                   "instances_path": str(self.tmp_path / host / "instances")}
        options.update(self.options)
        options.update(overrides)
        text = (daemon_module.base_ini(str(self.tmp_path / host), **options)
                + self.broker.ini(self.broker_address)
                + "[database]\nconnection = %s\n" % self.url)
        if size:
            vcpus, memory_mb, local_gb = size
            text += ("[fake_driver]\nvcpus = %d\nmemory_mb = %d\n"
                     "local_gb = %d\n" % (vcpus, memory_mb, local_gb))
        return text

    def start_scheduler(self, name="sched", wait=True):
        host = self.broker.host(name)
        scheduler = self.daemons(self.tmp_path, self.service_ini(host),
                                 program="scheduler", name=name)
        scheduler.host = host
        self.schedulers[name] = scheduler
        if wait:
            scheduler.wait_for("is ready", timeout=30)
        return scheduler

    def start_compute(self, name, size, **overrides):
        host = self.broker.host(name)
        compute = self.daemons(self.tmp_path,
                               self.service_ini(host, size, **overrides),
                               program="compute", name=name)
        compute.host = host
        self.computes[name] = compute
        return compute

    def wait_until_ready(self):
        for compute in self.computes.values():
            compute.wait_for("is ready", timeout=30)

    def kill9(self, daemon):
        self.broker.killed = True
        daemon.signal(signal.SIGKILL)
        daemon.wait(15)

    # novalite-manage --------------------------------------------------------

    def manage(self, *args, timeout=120):
        return subprocess.run(
            daemon_module.command("manage") + ["--config-file",
                                               str(self.ini)] + list(args),
            capture_output=True, text=True, timeout=timeout,
            env=daemon_module.environment())

    def manage_json(self, *args):
        result = self.manage(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def boot_args(self, *args, timeout=60):
        return (daemon_module.command("manage")
                + ["--config-file", str(self.ini), "instance", "boot"]
                + list(args) + ["--wait", "--timeout", str(timeout)])

    def boot(self, *args, timeout=60):
        return subprocess.run(self.boot_args(*args, timeout=timeout),
                              capture_output=True, text=True,
                              timeout=timeout + 60,
                              env=daemon_module.environment())

    def boot_in_background(self, *args, timeout=60):
        return subprocess.Popen(
            self.boot_args(*args, timeout=timeout), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=daemon_module.environment())

    def instances(self):
        return self.manage_json("instance", "list")

    def node(self, name):
        [row] = self.manage_json("host", "show", self.computes[name].host)
        return row

    def wait_for_instance(self, uuid, timeout=30, **expected):
        deadline = time.monotonic() + timeout
        while True:
            row = self.manage_json("instance", "show", uuid)
            if all(row[key] == value for key, value in expected.items()):
                return row
            assert time.monotonic() < deadline, row
            time.sleep(0.2)

    def wait_until_settled(self, timeout):
        """Every instance ACTIVE or ERROR (none building), or fail."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.instances()
            if all(row["vm_state"] in ("active", "error")
                   and not row["task_state"] for row in rows):
                return rows
            assert time.monotonic() < deadline, [
                row for row in rows if row["vm_state"] == "building"]
            time.sleep(0.5)

    def assert_none_over_capacity(self, sizes, ratio=1.0):
        for name, (vcpus, memory_mb, local_gb) in sizes.items():
            node = self.node(name)
            assert node["memory_mb_used"] <= memory_mb * ratio, node
            assert node["vcpus_used"] <= vcpus * 16, node
            assert node["local_gb_used"] <= local_gb, node


def uuids_of(output):
    """The UUIDs ``instance boot`` printed."""
    return [line.split()[0] for line in output.splitlines()
            if line.endswith("  scheduling")]
