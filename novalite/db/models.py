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
    sa.Column("rpc_version", sa.String(32)),
    sa.UniqueConstraint("host", "binary", "deleted",
                        name="uniq_services0host0binary0deleted"),
)


compute_nodes = sa.Table(
    "compute_nodes", metadata,
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
    *soft_delete_columns(),
    sa.Column("availability_zone", sa.String(255)),
    sa.UniqueConstraint("host", "deleted",
                        name="uniq_compute_nodes0host0deleted"),
)

instances = sa.Table(
    "instances", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("display_name", sa.String(255)),
    sa.Column("host", sa.String(255), index=True),
    sa.Column("vm_state", sa.String(255)),
    sa.Column("power_state", sa.Integer),
    sa.Column("task_state", sa.String(255)),
    sa.Column("vcpus", sa.Integer, nullable=False, default=1),
    sa.Column("memory_mb", sa.Integer, nullable=False, default=512),
    sa.Column("root_gb", sa.Integer, nullable=False, default=1),
    sa.Column("image_ref", sa.String(255)),
    sa.Column("launched_at", sa.DateTime),
    sa.Column("terminated_at", sa.DateTime),
    *soft_delete_columns(),
    sa.Column("instance_type_id", sa.Integer),
    sa.Column("availability_zone", sa.String(255)),
)

#: Flavors, under nova's table name: what an instance is given.
instance_types = sa.Table(
    "instance_types", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("memory_mb", sa.Integer, nullable=False),
    sa.Column("vcpus", sa.Integer, nullable=False),
    sa.Column("root_gb", sa.Integer, nullable=False),
    *soft_delete_columns(),
    sa.UniqueConstraint("name", "deleted",
                        name="uniq_instance_types0name0deleted"),
)

#: Why an instance went to ERROR (or why a try on a host failed), newest
#: last, as nova's ``instance_faults``.
instance_faults = sa.Table(
    "instance_faults", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("instance_uuid", sa.String(36), nullable=False, index=True),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("message", sa.String(255), nullable=False),
    sa.Column("details", sa.Text),
    sa.Column("host", sa.String(255)),
    sa.Column("created_at", sa.DateTime, default=utcnow),
)

periodic_task_stats = sa.Table(
    "periodic_task_stats", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("binary", sa.String(255), nullable=False),
    sa.Column("task", sa.String(255), nullable=False),
    sa.Column("schedule", sa.String(255)),
    sa.Column("runs", sa.Integer, nullable=False, default=0),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("timeouts", sa.Integer, nullable=False, default=0),
    sa.Column("last_start", sa.DateTime),
    sa.Column("last_duration", sa.Float),
    sa.Column("next_due", sa.DateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("updated_at", sa.DateTime, default=utcnow, onupdate=utcnow),
    sa.UniqueConstraint("host", "binary", "task",
                        name="uniq_periodic_task_stats0host0binary0task"),
)

service_capabilities = sa.Table(
    "service_capabilities", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("service_name", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("capabilities", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, default=utcnow, onupdate=utcnow),
    sa.UniqueConstraint("service_name", "host",
                        name="uniq_service_capabilities0service0host"),
)
