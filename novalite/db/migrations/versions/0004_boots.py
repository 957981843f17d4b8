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

"""Boots: flavors (with nova's defaults), instance faults, and the flavor
and availability zone of instances and compute nodes.

Revision ID: 0004
Revises: 0003
"""

import datetime

import sqlalchemy as sa

from novalite.db import migration

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: nova's default flavors: name, RAM MiB, vCPUs, root disk GiB.
DEFAULT_FLAVORS = [
    ("m1.tiny", 512, 1, 1),
    ("m1.small", 2048, 1, 20),
    ("m1.medium", 4096, 2, 40),
    ("m1.large", 8192, 4, 80),
    ("m1.xlarge", 16384, 8, 160),
]


def upgrade():
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    migration.create_table(
        "instance_types",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("root_gb", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime),
        sa.Column("deleted", sa.Integer, nullable=False, default=0),
        sa.UniqueConstraint("name", "deleted",
                            name="uniq_instance_types0name0deleted"),
    )
    migration.insert_missing(
        "instance_types", "name",
        [{"name": name, "memory_mb": memory_mb, "vcpus": vcpus,
          "root_gb": root_gb, "deleted": 0,
          "created_at": now}
         for name, memory_mb, vcpus, root_gb in DEFAULT_FLAVORS])
    migration.create_table(
        "instance_faults",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("message", sa.String(255), nullable=False),
        sa.Column("details", sa.Text),
        sa.Column("host", sa.String(255)),
        sa.Column("created_at", sa.DateTime),
    )
    migration.create_index("ix_instance_faults_instance_uuid",
                           "instance_faults", ["instance_uuid"])
    migration.add_column("instances",
                         sa.Column("instance_type_id", sa.Integer))
    migration.add_column("instances",
                         sa.Column("availability_zone", sa.String(255)))
    migration.add_column("compute_nodes",
                         sa.Column("availability_zone", sa.String(255)))
