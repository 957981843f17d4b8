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

from oslo_config import fixture as config_fixture
import pytest

from novalite import conf
from novalite.db import api as db_api
from novalite.db import migration
from tests import fakes


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
