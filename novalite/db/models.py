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
"""Table definitions (SQLAlchemy Core); tables and columns keep nova's names.

Core rather than the ORM: the service reads and writes a few rows with
plain statements, and the ORM would add a twentieth of a second to every
start for nothing.
"""

import datetime

import sqlalchemy as sa

metadata = sa.MetaData()


def utcnow():
    """Naive UTC, as nova stores its timestamps."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def soft_delete_columns():
    """nova's timestamps and soft delete: ``deleted`` is 0 while the row
    is alive and the row's id after, so unique constraints that include it
    leave room for a new live row."""
    return [
        sa.Column("created_at", sa.DateTime, default=utcnow),
        sa.Column("updated_at", sa.DateTime, onupdate=utcnow),
        sa.Column("deleted_at", sa.DateTime),
        sa.Column("deleted", sa.Integer, nullable=False, default=0),
    ]


services = sa.Table(
    "services", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("binary", sa.String(255), nullable=False),
    sa.Column("topic", sa.String(255)),
    sa.Column("report_count", sa.Integer, nullable=False, default=0),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("disabled_reason", sa.String(255)),
    *soft_delete_columns(),
    sa.UniqueConstraint("host", "binary", "deleted",
                        name="uniq_services0host0binary0deleted"),
)
