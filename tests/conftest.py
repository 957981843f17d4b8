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

import logging
import sys
import types

from oslo_config import fixture as config_fixture
import pytest

# The test runner itself is never monkey-patched. Importing novalite.cmd
# (for a helper of novalite-manage, say) patches the process it runs in,
# and a patched runner turns the threads that read the daemons' output
# into greenthreads that trip over each other's file descriptors. The
# daemons the functional tests start are patched as in production.
sys.modules.setdefault("novalite.monkey_patch",
                       types.ModuleType("novalite.monkey_patch"))

from novalite import concurrency  # noqa: E402

# Under NOVALITE_BACKEND=threading the runner is prepared as a daemon is
# (eventlet kept out, oslo.service on its threading backend), so that the
# unit tests run the process the daemons run.
if concurrency.BACKEND == "threading":
    concurrency.monkey_patch()

from novalite import conf  # noqa: E402
from novalite.db import api as db_api  # noqa: E402
from novalite.db import migration  # noqa: E402
from tests import fakes  # noqa: E402


@pytest.fixture
def clock():
    return fakes.FakeClock()


@pytest.fixture
def debug_log(caplog):
    """Capture novalite's log records from DEBUG up."""
    caplog.set_level(logging.DEBUG, logger="novalite")
    return caplog


@pytest.fixture
def config():
    """oslo.config's fixture on the global CONF: ``config.config(k=v)``
    sets overrides that are undone after the test."""
    fixture = config_fixture.Config(conf.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def db(tmp_path):
    """A migrated SQLite database in a temporary directory."""
    database = db_api.Database(db_api.create_engine(
        "sqlite:///%s" % (tmp_path / "state" / "novalite.sqlite")))
    migration.prepare(database.engine)
    yield database
    database.dispose()
