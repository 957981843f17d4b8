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

"""Compute nodes, instances, task statistics and published capabilities.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa

from novalite.db import migration

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _soft_delete_columns():
    return [
        sa.Column("created_at", sa.DateTime),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime),
        sa.Column("deleted", sa.Integer, nullable=False, default=0),
    ]


def upgrade():
    migration.create_table(
        "compute_nodes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("vcpus_used", sa.Integer, nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("memory_mb_used", sa.Integer, nullable=False),
        sa.Column("local_gb", sa.Integer, nullable=False),
        sa.Column("local_gb_used", sa.Integer, nullable=False),
        sa.Column("free_ram_mb", sa.Integer),
        sa.Column("free_disk_gb", sa.Integer),
        sa.Column("running_vms", sa.Integer),
        sa.Column("hypervisor_type", sa.String(255)),
        sa.Column("hypervisor_hostname", sa.String(255)),
        sa.Column("cpu_info", sa.Text),
        *_soft_delete_columns(),
        sa.UniqueConstraint("host", "deleted",
                            name="uniq_compute_nodes0host0deleted"),
    )
    migration.create_table(
        "instances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("display_name", sa.String(255)),
        sa.Column("host", sa.String(255)),
        sa.Column("vm_state", sa.String(255)),
        sa.Column("power_state", sa.Integer),
        sa.Column("task_state", sa.String(255)),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("root_gb", sa.Integer, nullable=False),
        sa.Column("image_ref", sa.String(255)),
        sa.Column("launched_at", sa.DateTime),
        sa.Column("terminated_at", sa.DateTime),
        *_soft_delete_columns(),
    )
    migration.create_index("ix_instances_host", "instances", ["host"])
    migration.create_table(
        "periodic_task_stats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(255), nullable=False),
        sa.Column("task", sa.String(255), nullable=False),
        sa.Column("schedule", sa.String(255)),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("timeouts", sa.Integer, nullable=False),
        sa.Column("last_start", sa.DateTime),
        sa.Column("last_duration", sa.Float),
        sa.Column("next_due", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", sa.DateTime),
        sa.UniqueConstraint("host", "binary", "task",
                            name="uniq_periodic_task_stats0host0binary0task"),
    )
    migration.create_table(
        "service_capabilities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("capabilities", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.UniqueConstraint("service_name", "host",
                            name="uniq_service_capabilities0service0host"),
    )
