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

"""The migrations build exactly the schema models.py describes, on SQLite,
PostgreSQL and MySQL; and the head revision novalite reads from the files
is alembic's.

The server databases are test_database's: fresh ones on the local servers,
skipped, with the reason, when a server does not answer.
"""

import subprocess
import sys

from alembic import autogenerate
from alembic import migration as alembic_migration
import sqlalchemy as sa

from novalite.db import migration
from novalite.db import models
from tests.functional import test_database

# A fresh, empty database of each kind, dropped afterwards.
database_url = test_database.database_url


def test_head_read_from_the_files_is_alembics_head():
    assert migration.head() == migration.head_version()
    assert migration.HEAD == migration.head()


def test_head_does_not_import_alembic():
    code = ("import sys\n"
            "from novalite.db import migration\n"
            "print(migration.HEAD)\n"
            "assert 'alembic' not in sys.modules, sorted(\n"
            "    name for name in sys.modules if 'alembic' in name)\n")
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == migration.head_version()


def test_migrated_schema_matches_the_models(database_url):
    engine = sa.create_engine(database_url)
    try:
        migration.db_sync(engine)
        assert migration.db_version(engine) == migration.HEAD
        with engine.connect() as connection:
            context = alembic_migration.MigrationContext.configure(
                connection, opts={"compare_type": True,
                                  "compare_server_default": True})
            differences = autogenerate.compare_metadata(
                context, models.metadata)
        assert differences == []
    finally:
        engine.dispose()
