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

"""novalite-manage: operator commands on the database.

    novalite-manage [--config-file FILE] db sync [--version V] | db version
    novalite-manage [--config-file FILE] service list [--format json]
    novalite-manage [--config-file FILE] service disable|enable --host H
                                                [--binary B] [--reason R]
    novalite-manage [--config-file FILE] host list | host show HOST
    novalite-manage [--config-file FILE] instance list [--host H]
    novalite-manage [--config-file FILE] task list [--host H]

Tables are aligned for people; ``--format json`` prints them for scripts.
A control character in a value (an escape sequence in a host name or a
reason) is printed escaped, ``\x1b``, never raw.
"""

import datetime
import json
import os
import sys
import unicodedata

import sqlalchemy as sa

from novalite.cmd import common
from novalite import early_signals
from novalite.compute import power_state
from novalite import conf
from novalite.conf import manage as manage_conf
from novalite.conf import values as conf_values
from novalite import config
from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models
from novalite import exception
from novalite import greenthreads
from novalite import heartbeat
from novalite.periodic import render
from novalite.scheduler import host_manager

CONF = conf.CONF


class CommandError(Exception):
    """A request the database cannot answer; one line, exit status 1."""


def escaped(text):
    """``text`` with every control, format or unassigned character (ESC,
    newline, a bidi override...) written as its escape, repr-style:
    nothing a terminal would act on."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char).startswith("C") else char
        for char in text)


def _format_value(value):
    if value is None:
        return "-"
    if isinstance(value, datetime.datetime):
        return render.timestamp(value)
    if isinstance(value, float):
        return "%.3f" % value
    return escaped(str(value))


def print_table(columns, rows, output_format):
    """Print ``rows`` (dicts) as an aligned table or as JSON."""
    if output_format == "json":
        print(json.dumps([{key: row[key] for key, _ in columns}
                          for row in rows], default=str, indent=2))
        return
    cells = [[title for _, title in columns]] + [
        [_format_value(row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells)
              for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.ljust(width)
                        for cell, width in zip(line, widths,
                                               strict=True)).rstrip())


def open_database():
    """The configured database, refused clearly if missing or behind."""
    url = db_api.connection_url(CONF)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and (
            parsed.database != ":memory:"
            and not os.path.exists(parsed.database)):
        raise CommandError("no database at %s: start novalite-compute once "
                           "or run 'novalite-manage db sync'"
                           % parsed.database)
    db = db_api.Database(db_api.create_engine(url))
    migration.check_synced(db.engine)
    return db


class DbCommands:
    """Create and upgrade the database schema."""

    def sync(self, version="head"):
        """Upgrade the schema to the newest version (or to --version)."""
        engine = db_api.create_engine(db_api.connection_url(CONF))
        migration.db_sync(engine, version)
        print("Database schema is at version %s"
              % migration.db_version(engine))

    def version(self):
        """Print the schema version of the database."""
        engine = db_api.create_engine(db_api.connection_url(CONF))
        current = migration.db_version(engine)
        print(current or "none")
        if current != migration.HEAD:
            print("this novalite needs %s: run 'novalite-manage db sync'"
                  % migration.HEAD, file=sys.stderr)
            return 1
        return 0


class ServiceCommands:
    """List services and take them out of (or back into) scheduling."""

    COLUMNS = [("host", "Host"), ("binary", "Binary"), ("topic", "Topic"),
               ("status", "Status"), ("state", "State"),
               ("last_heartbeat", "Last heartbeat"),
               ("rpc_version", "RPC API"),
               ("disabled_reason", "Disabled reason")]

    def list(self, format="table"):
        """Each service, up or down by the age of its last heartbeat."""
        now = models.utcnow()
        rows = []
        for service in open_database().service_get_all():
            up = heartbeat.is_up(service, CONF.service_down_time, now)
            rows.append({
                "host": service.host, "binary": service.binary,
                "topic": service.topic,
                "status": "disabled" if service.disabled else "enabled",
                "state": "up" if up else "down",
                "last_heartbeat": heartbeat.last_heartbeat(service),
                "rpc_version": service.rpc_version,
                "disabled_reason": service.disabled_reason})
        print_table(self.COLUMNS, rows, format)

    def disable(self, host, binary="novalite-compute", reason=None):
        """Keep the scheduler from choosing this service."""
        self._set(host, binary, disabled=True, disabled_reason=reason)

    def enable(self, host, binary="novalite-compute"):
        self._set(host, binary, disabled=False, disabled_reason=None)

    def _set(self, host, binary, **values):
        db = open_database()
        service = db.service_get_by_host_and_binary(host, binary)
        if service is None:
            raise CommandError("no service %s on host %s" % (binary, host))
        db.service_update(service.id, **values)
        print("%s on %s is %s" % (escaped(binary), host, "disabled"
                                  if values["disabled"] else "enabled"))


class HostCommands:
    """The compute hosts as the schedulers see them, and their last audit."""

    COLUMNS = [("host", "Host"), ("state", "State"), ("status", "Status"),
               ("free_vcpus", "Free vCPUs"), ("free_ram_mb", "Free RAM MiB"),
               ("free_disk_gb", "Free disk GiB"),
               ("running_vms", "Running VMs"),
               ("capabilities_age", "Capabilities age s")]
    AUDIT_COLUMNS = [
        ("host", "Host"), ("vcpus_used", "vCPUs used"), ("vcpus", "vCPUs"),
        ("memory_mb_used", "RAM used MiB"), ("memory_mb", "RAM MiB"),
        ("local_gb_used", "Disk used GiB"), ("local_gb", "Disk GiB"),
        ("running_vms", "Running VMs"), ("updated_at", "Audited")]

    def list(self, format="table"):
        """Each host: up or down, free resources, and how old the
        capabilities it published are (what a scheduler that starts now
        would know)."""
        hosts = host_manager.HostManager(CONF, open_database(),
                                         greenthreads.CLOCK)
        hosts.load_from_database(hosts.max_capabilities_age)
        rows = [{
            "host": state.host, "state": "up" if state.up else "down",
            "status": "disabled" if state.disabled else "enabled",
            "free_vcpus": state.free_vcpus, "free_ram_mb": state.free_ram_mb,
            "free_disk_gb": state.free_disk_gb,
            "running_vms": state.running_vms,
            "capabilities_age": state.capabilities_age,
        } for state in hosts.get_all_host_states()]
        print_table(self.COLUMNS, rows, format)

    def show(self, host, format="table"):
        node = open_database().compute_node_get(host)
        if node is None:
            raise CommandError("no compute node for host %s" % host)
        print_table(self.AUDIT_COLUMNS + [
            ("free_ram_mb", "Free RAM MiB"), ("free_disk_gb", "Free disk GiB"),
            ("hypervisor_type", "Hypervisor"),
            ("hypervisor_hostname", "Hypervisor hostname"),
            ("cpu_info", "CPU")], [dict(node._mapping)], format)


class InstanceCommands:
    """Instances and their states."""

    COLUMNS = [("uuid", "UUID"), ("display_name", "Name"), ("host", "Host"),
               ("vm_state", "VM state"), ("power_state", "Power state"),
               ("task_state", "Task state"), ("vcpus", "vCPUs"),
               ("memory_mb", "RAM MiB"), ("root_gb", "Disk GiB")]

    def list(self, host=None, format="table"):
        db = open_database()
        instances = (db.instance_get_all_by_host(host) if host
                     else db.instance_get_all())
        rows = []
        for instance in instances:
            row = dict(instance._mapping)
            row["power_state"] = power_state.STATE_MAP.get(
                instance.power_state, instance.power_state)
            rows.append(row)
        print_table(self.COLUMNS, rows, format)


class TaskCommands:
    """The periodic tasks of each service: schedule and record."""

    COLUMNS = [("host", "Host"), ("binary", "Binary"), ("task", "Task"),
               ("schedule", "Schedule"), ("runs", "Runs"),
               ("failures", "Failures"), ("timeouts", "Timeouts"),
               ("last_start", "Last run"), ("last_duration", "Duration s"),
               ("next_due", "Next due"), ("last_error", "Last error")]

    def list(self, host=None, format="table"):
        rows = [dict(row._mapping)
                for row in open_database().task_stats_get_all(host)]
        if host and not rows:
            raise CommandError("no periodic task statistics for host %s"
                               % host)
        print_table(self.COLUMNS, rows, format)


_FORMAT = (("--format",), {"choices": ["table", "json"], "default": "table",
                           "help": "table for people, json for scripts"})
_HOST = (("--host",), {"help": "only this host"})
_BINARY = (("--binary",), {"default": "novalite-compute"})

CATEGORIES = {
    "db": (DbCommands, {
        "sync": [(("--version",), {"default": "head",
                                   "help": "schema version to reach"})],
        "version": [],
    }),
    "service": (ServiceCommands, {
        "list": [_FORMAT],
        "disable": [(("--host",), {"required": True}), _BINARY,
                    (("--reason",), {"help": "why, for other operators"})],
        "enable": [(("--host",), {"required": True}), _BINARY],
    }),
    "host": (HostCommands, {
        "list": [_FORMAT],
        "show": [(("host",), {"help": "the host's name"}), _FORMAT],
    }),
    "instance": (InstanceCommands, {"list": [_HOST, _FORMAT]}),
    "task": (TaskCommands, {"list": [_HOST, _FORMAT]}),
}


def _param(flags):
    return flags[0].lstrip("-").replace("-", "_")


def _dest(flags):
    # NOTE(novalite): prefixed, or oslo.config mistakes "host" for the
    # [DEFAULT] option of that name.
    return "arg_" + _param(flags)


def add_command_parsers(subparsers):
    for category, (command_class, actions) in CATEGORIES.items():
        parser = subparsers.add_parser(category,
                                       help=command_class.__doc__)
        action_parsers = parser.add_subparsers(dest="action", required=True,
                                               metavar="<action>")
        for action, arguments in actions.items():
            action_parser = action_parsers.add_parser(
                action, help=getattr(command_class, action).__doc__)
            for flags, options in arguments:
                if flags[0].startswith("-"):
                    options = dict(options, dest=_dest(flags))
                    action_parser.add_argument(*flags, **options)
                else:
                    action_parser.add_argument(_dest(flags),
                                               metavar=flags[0].upper(),
                                               **options)


def check_host_arguments(arguments):
    """Raise CommandError unless the ``host`` argument, if any, is a host
    name: a bad one is a clear line, not a database error."""
    host = arguments.get("host")
    if host is None:
        return
    try:
        conf_values.check_host_name(host)
    except ValueError as exc:
        raise CommandError("invalid host %s: %s" % (config.shown(host), exc))


@common.explained_errors
def main():
    early_signals.release()
    common.keep_files_private()
    manage_conf.register_cli_opts(CONF, add_command_parsers)
    config.parse_args(sys.argv)
    category = CONF.category
    command_class, actions = CATEGORIES[category.name]
    arguments = {_param(flags): getattr(category, _dest(flags))
                 for flags, _ in actions[category.action]}
    try:
        check_host_arguments(arguments)
        return getattr(command_class(), category.action)(**arguments) or 0
    except (CommandError, exception.InstanceNotFound) as exc:
        print("%s: %s" % (os.path.basename(sys.argv[0]), escaped(str(exc))),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
