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
    novalite-manage [--config-file FILE] service delete --host H [--binary B]
    novalite-manage [--config-file FILE] service purge
    novalite-manage [--config-file FILE] host list | host show HOST
    novalite-manage [--config-file FILE] instance list [--host H]
    novalite-manage [--config-file FILE] instance boot NAME --flavor F
                        [--image REF] [--host H] [--availability-zone AZ]
                        [--count N] [--wait] [--timeout S]
    novalite-manage [--config-file FILE] instance show UUID
    novalite-manage [--config-file FILE] instance stop|start|delete UUID
    novalite-manage [--config-file FILE] flavor list
    novalite-manage [--config-file FILE] flavor create NAME --ram MIB
                                                 --vcpus N --disk GIB
    novalite-manage [--config-file FILE] flavor delete NAME
    novalite-manage [--config-file FILE] task list [--host H]

``instance boot``, ``stop``, ``start`` and ``delete`` send requests to the
services over the message bus (``transport_url``); without one they say
so and exit 69, as they do when the broker or every scheduler is down.

Tables are aligned for people; ``--format json`` prints them for scripts.
A control character in a value (an escape sequence in a host name or a
reason) is printed escaped, ``\x1b``, never raw.
"""

import datetime
import json
import os
import sys
import time
import unicodedata
import uuid as uuid_lib

import sqlalchemy as sa

from novalite.cmd import common
from novalite import concurrency
from novalite import early_signals
from novalite.compute import power_state
from novalite.compute import rpcapi as compute_rpcapi
from novalite.compute import task_states
from novalite.compute import vm_states
from novalite import conf
from novalite.conf import manage as manage_conf
from novalite.conf import values as conf_values
from novalite import config
from novalite import context as context_module
from novalite.db import api as db_api
from novalite.db import migration
from novalite.db import models
from novalite import exception
from novalite import heartbeat
from novalite.periodic import render
from novalite import rpc
from novalite.scheduler import host_manager
from novalite.scheduler import rpcapi as scheduler_rpcapi

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
    for line in render.table([title for _, title in columns],
                             [[_format_value(row[key]) for key, _ in columns]
                              for row in rows]):
        print(line)


def _missing_sqlite_file(url):
    """The path of a SQLite database file that does not exist, or None.

    A command that only reads must not create an empty file by opening it.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and (
            parsed.database != ":memory:"
            and not os.path.exists(parsed.database)):
        return parsed.database
    return None


def _refuse_missing_sqlite(url):
    """A command that reads must not create an empty SQLite file."""
    missing = _missing_sqlite_file(url)
    if missing:
        raise CommandError("no database at %s: start novalite-compute once "
                           "or run 'novalite-manage db sync'" % missing)


def open_database():
    """The configured database, refused clearly if missing or behind."""
    url = db_api.connection_url(CONF)
    _refuse_missing_sqlite(url)
    db = db_api.Database(db_api.create_engine(url))
    migration.check_synced(db.engine)
    return db


class DbCommands:
    """Create and upgrade the database schema."""

    def sync(self, version="head"):
        """Upgrade the schema to the newest version (or to --version)."""
        config.db_sync_logging()
        engine = db_api.create_engine(db_api.connection_url(CONF))
        migration.db_sync(engine, version)
        print("Database schema is at version %s"
              % migration.db_version(engine))

    def version(self):
        """Print the schema version of the database."""
        url = db_api.connection_url(CONF)
        missing = _missing_sqlite_file(url)
        current = None
        if not missing:
            current = migration.db_version(db_api.create_engine(url))
        print(current or "none")
        if missing:
            print("no database at %s: run 'novalite-manage db sync'"
                  % missing, file=sys.stderr)
            return 1
        if current != migration.HEAD:
            print("this novalite needs %s: run 'novalite-manage db sync'"
                  % migration.HEAD, file=sys.stderr)
            return 1
        return 0


class ServiceCommands:
    """List services and take them out of (or back into) scheduling."""

    COLUMNS = [("host", "Host"), ("binary", "Binary"), ("topic", "Topic"),
               ("status", "Status"), ("state", "State"),
               ("last_heartbeat", "Last heartbeat (UTC)"),
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
        """Let the scheduler choose this service again."""
        self._set(host, binary, disabled=False, disabled_reason=None)

    def delete(self, host, binary="novalite-compute"):
        """Remove a service that is gone for good: its row, its compute
        node, and what it published. Refused while it is up, or while
        instances are on its host."""
        db = open_database()
        service = db.service_get_by_host_and_binary(host, binary)
        if service is None:
            raise CommandError("no service %s on host %s" % (binary, host))
        if heartbeat.is_up(service, CONF.service_down_time):
            raise CommandError(
                "%s on %s is up (last heartbeat %s UTC): stop it first"
                % (binary, host,
                   render.timestamp(heartbeat.last_heartbeat(service))))
        if binary == "novalite-compute":
            instances = db.instance_get_all_by_host(host)
            if instances:
                raise CommandError(
                    "host %s still has %d instances: delete them first"
                    % (host, len(instances)))
        db.service_delete_everywhere(service)
        print("%s on %s deleted, with its compute node and what it "
              "published" % (escaped(binary), host))

    def purge(self):
        """Delete the capabilities and task statistics left by services
        that are gone."""
        published, recorded = open_database().purge_orphans()
        print("Purged %d capability rows and %d task statistics rows of "
              "services that are gone" % (published, recorded))

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
        ("running_vms", "Running VMs"), ("updated_at", "Audited (UTC)")]

    def list(self, format="table"):
        """Each host: up or down, free resources, and how old the
        capabilities it published are (what a scheduler that starts now
        would know)."""
        hosts = host_manager.HostManager(CONF, open_database(),
                                         concurrency.CLOCK)
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
        """One host's last audit: totals, usage, hypervisor."""
        node = open_database().compute_node_get(host)
        if node is None:
            raise CommandError("no compute node for host %s" % host)
        print_table(self.AUDIT_COLUMNS + [
            ("free_ram_mb", "Free RAM MiB"), ("free_disk_gb", "Free disk GiB"),
            ("hypervisor_type", "Hypervisor"),
            ("hypervisor_hostname", "Hypervisor hostname"),
            ("cpu_info", "CPU")], [dict(node._mapping)], format)


def open_bus(command):
    """The transport to the services, once the broker answered.

    :raises NoMessageBus: no ``transport_url``: a request has no way to
        reach a service (exit 69).
    :raises BrokerUnavailable: the broker does not answer (exit 69).
    """
    if not rpc.is_configured(CONF):
        raise exception.NoMessageBus(command=command)
    rpc.probe(CONF)
    return rpc.get_transport(CONF)


def is_live(db, binary, host=None):
    """Whether a service of ``binary`` (on ``host``, if given) is up, by
    its heartbeat."""
    return any(row.binary == binary and host in (None, row.host)
               and heartbeat.is_up(row, CONF.service_down_time)
               for row in db.service_get_all())


def require_live(db, binary):
    """Refuse to send a request that no live service of ``binary`` would
    take: it would wait in a queue, unseen, for one to start (exit 69).
    """
    if not is_live(db, binary):
        raise exception.NoLiveService(binary=binary)


#: How many times a request's cast is retried when the broker connection
#: fails, before the command gives up (oslo.messaging's default retries
#: for ever).
CAST_RETRIES = 3


def _get_instance(db, uuid):
    instance = db.instance_get(uuid)
    if instance is None:
        raise exception.InstanceNotFound(instance_id=uuid)
    return instance


def instance_outcome(instance, fault):
    """One line of what became of a boot."""
    name = escaped(instance.display_name or "")
    if instance.deleted:
        return "%s  %s  DELETED" % (instance.uuid, name)
    if instance.vm_state == vm_states.ERROR:
        return "%s  %s  ERROR: %s" % (
            instance.uuid, name,
            escaped(fault.message) if fault else "no fault recorded")
    return "%s  %s  %s on %s" % (instance.uuid, name,
                                 instance.vm_state.upper(), instance.host)


def _finished(instance):
    return instance.deleted or instance.vm_state in (vm_states.ACTIVE,
                                                     vm_states.ERROR)


def wait_for_builds(db, uuids, timeout, poll_seconds=0.2):
    """Print each boot's outcome as it is reached.

    :returns: 0 if every instance became ACTIVE, else 1 (an ERROR, a
        deletion, or ``timeout`` seconds passed with some still building).
    """
    pending = list(uuids)
    status = 0
    deadline = time.monotonic() + timeout
    while pending:
        rows = db.instance_get_all_by_uuids(pending)
        for uuid in list(pending):
            instance = rows.get(uuid)
            if instance is None or not _finished(instance):
                continue
            pending.remove(uuid)
            fault = (db.instance_fault_get_latest(uuid)
                     if instance.vm_state == vm_states.ERROR else None)
            print(instance_outcome(instance, fault), flush=True)
            if instance.deleted or instance.vm_state != vm_states.ACTIVE:
                status = 1
        if pending and time.monotonic() > deadline:
            for uuid in pending:
                print("%s  still building after %g s" % (uuid, timeout))
            return 1
        if pending:
            time.sleep(poll_seconds)
    return status


class InstanceCommands:
    """Instances: list and show them; boot, stop, start and delete them
    through the services."""

    COLUMNS = [("uuid", "UUID"), ("display_name", "Name"), ("host", "Host"),
               ("vm_state", "VM state"), ("power_state", "Power state"),
               ("task_state", "Task state"), ("vcpus", "vCPUs"),
               ("memory_mb", "RAM MiB"), ("root_gb", "Disk GiB")]
    SHOW_FIELDS = [
        ("uuid", "UUID"), ("display_name", "Name"), ("host", "Host"),
        ("availability_zone", "Availability zone"),
        ("vm_state", "VM state"), ("task_state", "Task state"),
        ("power_state", "Power state"), ("flavor", "Flavor"),
        ("vcpus", "vCPUs"), ("memory_mb", "RAM MiB"),
        ("root_gb", "Disk GiB"), ("image_ref", "Image"),
        ("created_at", "Created (UTC)"), ("launched_at", "Launched (UTC)"),
        ("fault", "Fault"), ("fault_host", "Fault host"),
        ("fault_at", "Fault time (UTC)")]

    def list(self, host=None, format="table"):
        """Every instance, or those of one host."""
        db = open_database()
        if host and not any(row.host == host
                            for row in db.service_get_all()):
            raise CommandError("no service on host %s" % host)
        instances = (db.instance_get_all_by_host(host) if host
                     else db.instance_get_all())
        rows = []
        for instance in instances:
            row = dict(instance._mapping)
            row["power_state"] = power_state.STATE_MAP.get(
                instance.power_state, instance.power_state)
            rows.append(row)
        print_table(self.COLUMNS, rows, format)

    def boot(self, name, flavor, image=None, host=None,
             availability_zone=None, count=1, wait=False, timeout=None):
        """Create instances and send them to a scheduler; with --wait,
        print each outcome and exit 0 only if all are ACTIVE."""
        if not 1 <= count <= 1000:
            raise CommandError("--count must be from 1 to 1000, not %d"
                               % count)
        if timeout is None:
            timeout = (CONF.instance_build_timeout
                       * CONF.scheduler_max_attempts)
        if timeout <= 0:
            raise CommandError("--timeout must be more than 0 s")
        transport = open_bus("instance boot")
        try:
            db = open_database()
            chosen = db.flavor_get_by_name(flavor)
            if host is not None and db.compute_node_get(host) is None:
                raise CommandError("no compute host %s" % host)
            require_live(db, "novalite-scheduler")
            api = scheduler_rpcapi.SchedulerAPI(CONF, db, transport)
            api.require_version("run_instance", "1.1")
            uuids = self._create(db, name, chosen, image, host,
                                 availability_zone, count)
            for uuid in uuids:
                print("%s  scheduling" % uuid, flush=True)
            request_spec = {
                "instance_uuids": uuids,
                "instance_properties": {
                    "memory_mb": chosen.memory_mb, "vcpus": chosen.vcpus,
                    "root_gb": chosen.root_gb, "image_ref": image,
                    "availability_zone": availability_zone}}
            filter_properties = {"force_hosts": [host]} if host else {}
            try:
                api.run_instance(context_module.get_admin_context(),
                                 request_spec, filter_properties,
                                 retry=CAST_RETRIES)
            except Exception as exc:
                self._not_sent(db, uuids, exc)
                raise
        finally:
            transport.cleanup()
        return wait_for_builds(db, uuids, timeout) if wait else 0

    @staticmethod
    def _not_sent(db, uuids, exc):
        """The rows of a request that never reached a scheduler: ERROR,
        with why, rather than building until instance_build_timeout."""
        reason = "The request could not be sent to a scheduler: %s" % exc
        for uuid in uuids:
            if db.instance_update(
                    uuid, expected={"task_state": task_states.SCHEDULING,
                                    "host": None},
                    vm_state=vm_states.ERROR, task_state=None) is not None:
                db.instance_fault_create(uuid, 500, reason)

    @staticmethod
    def _create(db, name, flavor, image, host, availability_zone, count):
        names = ([name] if count == 1
                 else ["%s-%d" % (name, index + 1) for index in range(count)])
        uuids = []
        for display_name in names:
            instance = db.instance_create(
                uuid=str(uuid_lib.uuid4()), display_name=display_name,
                vm_state=vm_states.BUILDING,
                task_state=task_states.SCHEDULING,
                power_state=power_state.NOSTATE, vcpus=flavor.vcpus,
                memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
                image_ref=image, instance_type_id=flavor.id,
                availability_zone=availability_zone)
            uuids.append(instance.uuid)
        return uuids

    def show(self, uuid, format="table"):
        """One instance, with its flavor and its last fault."""
        db = open_database()
        instance = _get_instance(db, uuid)
        row = dict(instance._mapping)
        row["power_state"] = power_state.STATE_MAP.get(
            instance.power_state, instance.power_state)
        flavor = (db.flavor_get(instance.instance_type_id)
                  if instance.instance_type_id is not None else None)
        row["flavor"] = flavor.name if flavor else None
        fault = db.instance_fault_get_latest(uuid)
        row.update(fault=fault.message if fault else None,
                   fault_host=fault.host if fault else None,
                   fault_at=fault.created_at if fault else None)
        if format == "json":
            print(json.dumps({key: row[key] for key, _ in self.SHOW_FIELDS},
                             default=str, indent=2))
            return
        print_table([("field", "Field"), ("value", "Value")],
                    [{"field": title, "value": row[key]}
                     for key, title in self.SHOW_FIELDS], format)

    def stop(self, uuid):
        """Power an ACTIVE instance off, on its host."""
        self._send_to_host("stop", uuid, "stop_instance", vm_states.ACTIVE)

    def start(self, uuid):
        """Power a STOPPED instance on, on its host."""
        self._send_to_host("start", uuid, "start_instance",
                           vm_states.STOPPED)

    def delete(self, uuid):
        """Delete an instance: on its host; here if it has none, or if its
        host's compute service is down (the host reaps what it still runs
        when it comes back: running_deleted_instance_action)."""
        db = open_database()
        for _ in range(5):
            instance = _get_instance(db, uuid)
            if instance.host is not None and not is_live(
                    db, "novalite-compute", instance.host):
                self._delete_here(db, instance, "its host %s is down"
                                  % instance.host)
                return
            marked = db.instance_update(
                uuid, expected={"host": instance.host},
                task_state=task_states.DELETING)
            if marked is None:
                continue
            if instance.host is None:
                self._delete_here(db, instance, "it had no host")
                return
            self._send_to_host("delete", uuid, "terminate_instance")
            return
        raise CommandError("instance %s keeps moving between hosts; try "
                           "again" % uuid)

    @staticmethod
    def _delete_here(db, instance, why):
        db.instance_destroy(instance.uuid, vm_state=vm_states.DELETED,
                            task_state=None)
        print("Instance %s deleted here (%s)" % (instance.uuid, why))

    def _send_to_host(self, action, uuid, method, *allowed):
        """Cast ``method`` to the instance's host, once its state allows
        ``action`` (``allowed`` vm_states and no task) and its compute is
        up."""
        transport = open_bus("instance %s" % action)
        try:
            db = open_database()
            instance = _get_instance(db, uuid)
            state = instance.task_state or instance.vm_state
            if allowed and (instance.vm_state not in allowed
                            or instance.task_state):
                raise CommandError("cannot %s instance %s while it is %s"
                                   % (action, uuid, state))
            if instance.host is None:
                raise CommandError("instance %s has no host (it is %s)"
                                   % (uuid, state))
            if not is_live(db, "novalite-compute", instance.host):
                raise exception.NoLiveService(
                    binary="novalite-compute on %s" % instance.host)
            getattr(compute_rpcapi.ComputeAPI(CONF, db, transport),
                    method)(context_module.get_admin_context(),
                            instance.host, uuid, retry=CAST_RETRIES)
        finally:
            transport.cleanup()
        print("Request to %s instance %s sent to %s"
              % (action, uuid, instance.host))


class FlavorCommands:
    """Flavors: the sizes instances are booted with."""

    COLUMNS = [("name", "Name"), ("memory_mb", "RAM MiB"),
               ("vcpus", "vCPUs"), ("root_gb", "Disk GiB")]

    def list(self, format="table"):
        """Every flavor, smallest first."""
        print_table(self.COLUMNS, [dict(row._mapping) for row in
                                   open_database().flavor_get_all()], format)

    def create(self, name, ram, vcpus, disk):
        """Add a flavor."""
        if not name.strip() or len(name) > 255 or escaped(name) != name:
            raise CommandError("invalid flavor name %s: 1 to 255 printable "
                               "characters" % config.shown(name))
        for option, value in (("--ram", ram), ("--vcpus", vcpus),
                              ("--disk", disk)):
            if not 0 < value <= 2 ** 30:
                raise CommandError("%s must be from 1 to %d, not %d"
                                   % (option, 2 ** 30, value))
        open_database().flavor_create(name, ram, vcpus, disk)
        print("Flavor %s created: %d MiB RAM, %d vCPUs, %d GiB disk"
              % (name, ram, vcpus, disk))

    def delete(self, name):
        """Remove a flavor; instances booted with it keep their sizes."""
        open_database().flavor_destroy(name)
        print("Flavor %s deleted" % escaped(name))


class TaskCommands:
    """The periodic tasks of each service: schedule and record."""

    COLUMNS = [("host", "Host"), ("binary", "Binary"), ("task", "Task"),
               ("schedule", "Schedule"), ("runs", "Runs"),
               ("failures", "Failures"), ("timeouts", "Timeouts"),
               ("last_start", "Last run (UTC)"),
               ("last_duration", "Duration s"),
               ("next_due", "Next due (UTC)"), ("last_error", "Last error")]

    def list(self, host=None, format="table"):
        """Every periodic task of every service (or of one host): its
        schedule, runs, failures, timeouts and last error."""
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
_UUID = (("uuid",), {"help": "the instance's UUID"})

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
        "delete": [(("--host",), {"required": True}), _BINARY],
        "purge": [],
    }),
    "host": (HostCommands, {
        "list": [_FORMAT],
        "show": [(("host",), {"help": "the host's name"}), _FORMAT],
    }),
    "instance": (InstanceCommands, {
        "list": [_HOST, _FORMAT],
        "boot": [
            (("name",), {"help": "the instance's name (NAME-1... with "
                                 "--count)"}),
            (("--flavor",), {"required": True,
                             "help": "its size: 'flavor list' shows them"}),
            (("--image",), {"help": "the image reference to boot"}),
            (("--host",), {"help": "this host only (the filters are "
                                   "skipped, and there is no retry)"}),
            (("--availability-zone",), {"help": "a host in this zone"}),
            (("--count",), {"type": int, "default": 1,
                            "help": "how many instances, 1 to 1000"}),
            (("--wait",), {"action": "store_true",
                           "help": "wait for every outcome; exit 0 only "
                                   "if all are ACTIVE"}),
            (("--timeout",), {"type": float,
                              "help": "seconds --wait waits (default: "
                                      "instance_build_timeout x "
                                      "scheduler_max_attempts)"})],
        "show": [_UUID, _FORMAT],
        "stop": [_UUID],
        "start": [_UUID],
        "delete": [_UUID],
    }),
    "flavor": (FlavorCommands, {
        "list": [_FORMAT],
        "create": [(("name",), {"help": "the flavor's name"}),
                   (("--ram",), {"type": int, "required": True,
                                 "help": "RAM in MiB"}),
                   (("--vcpus",), {"type": int, "required": True}),
                   (("--disk",), {"type": int, "required": True,
                                  "help": "root disk in GiB"})],
        "delete": [(("name",), {"help": "the flavor's name"})],
    }),
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
    except (CommandError, exception.InstanceNotFound,
            exception.FlavorNotFound, exception.FlavorExists,
            exception.ServiceTooOld) as exc:
        print("%s: %s" % (os.path.basename(sys.argv[0]), escaped(str(exc))),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
