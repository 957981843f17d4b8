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

"""The RPC API version each service speaks, for [upgrade_levels] = auto.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa

from novalite.db import migration

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    migration.add_column("services", sa.Column("rpc_version", sa.String(32)))
