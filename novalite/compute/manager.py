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

"""The manager novalite-compute runs: instances on one host.

The life-cycle methods keep the driver and the database consistent; the
periodic tasks audit the host, publish its capabilities, and reconcile
what the database believes with what the hypervisor has.
"""

import functools
import hashlib
import os
import time
import uuid as uuid_lib

from oslo_log import log as logging

from novalite.compute import power_state
from novalite.compute import resource_tracker
from novalite.compute import rpcapi as compute_rpcapi
from novalite.compute import task_states
from novalite.compute import vm_states
from novalite import concurrency
from novalite import context as context_module
from novalite.db import api as db_api
from novalite.db import models
from novalite import exception
from novalite import manager
from novalite import rpc
from novalite.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

#: The fault code of a failed build, as nova records it.
FAULT_CODE = 500


def one_at_a_time(method):
    """Run ``method(self, context, uuid, ...)`` holding the instance's lock:
    RPC calls, casts and periodic tasks touch an instance one at a time,
    as nova's ``@synchronized(instance.uuid)`` made them."""
    @functools.wraps(method)
    def locked(self, context, uuid, *args, **kwargs):
        with self._instance_locks(uuid):
            return method(self, context, uuid, *args, **kwargs)
    return locked


def image_cache_name(image_ref):
    """The file name of an image in the ``_base`` cache, as nova names it."""
    return hashlib.sha1(image_ref.encode()).hexdigest()


class ComputeManager(manager.SchedulerDependentManager):
    """Manages the instances of one compute host."""

    target = rpc.Target(version=compute_rpcapi.ComputeAPI.VERSION)

    def __init__(self, host=None, service_name="compute", *, conf=None,
                 db=None, **kwargs):
        conf = conf if conf is not None else manager.CONF
        db = db if db is not None else db_api.Database.from_conf(conf)
        super().__init__(host, service_name, conf=conf, db=db, **kwargs)
        self.driver = virt_driver.load_compute_driver(
            self.conf.compute_driver, self.conf)
        self._instance_locks = concurrency.KeyedLocks()
        self.resource_tracker = resource_tracker.ResourceTracker(
            self.host, self.driver, self.db, self.conf)
        self.compute_rpcapi = compute_rpcapi.ComputeAPI(
            self.conf, self.db, self.transport)

    def reset(self):
        """On SIGHUP the compute API reads its version cap again too."""
        super().reset()
        self.compute_rpcapi.reset()

    # Start-up ---------------------------------------------------------------

    def init_host(self):
        """Reconcile the driver with the database, as nova does on restart.

        An instance the hypervisor lost (a rebooted host) is recorded as
        shut down and stopped; one caught halfway through spawning is put
        in error, with a fault; one caught halfway through deleting is
        deleted. One sent here but not claimed yet (``scheduling``) goes
        back to the schedulers: its message was taken off the queue before
        the service stopped, so it would never come again (a copy that
        does is ignored: the row no longer names this host).
        """
        self.driver.init_host(self.host)
        on_driver = set(self.driver.list_instances())
        for instance in self.db.instance_get_all_by_host(self.host):
            try:
                self._init_instance(instance, on_driver)
            except Exception:
                LOG.exception("Could not reconcile instance %s",
                              instance.uuid)

    def pre_start_hook(self):
        """Audit the host before the service consumes, as nova did: the
        schedulers see its resources from its first moment up, not a
        publishing period later."""
        self.update_available_resource(context_module.get_admin_context())

    def _init_instance(self, instance, on_driver):
        if instance.task_state == task_states.SCHEDULING:
            self._send_back_unclaimed(instance)
            return
        if instance.task_state == task_states.DELETING:
            LOG.info("Finishing the deletion of instance %s", instance.uuid)
            self._destroy(instance)
            return
        if instance.task_state == task_states.SPAWNING:
            LOG.warning("Instance %s was spawning when the service stopped; "
                        "putting it in error", instance.uuid)
            self.driver.destroy(None, _as_dict(instance))
            self.db.instance_update(instance.uuid, vm_state=vm_states.ERROR,
                                    task_state=None,
                                    power_state=power_state.NOSTATE)
            self.db.instance_fault_create(
                instance.uuid, FAULT_CODE, "The compute service on %s "
                "stopped while the instance was spawning" % self.host,
                host=self.host)
            return
        if instance.task_state is not None:
            self.db.instance_update(instance.uuid, task_state=None)
        if instance.uuid not in on_driver and instance.vm_state in (
                vm_states.ACTIVE, vm_states.STOPPED):
            LOG.info("Instance %s is gone from the hypervisor; recording it "
                     "as stopped", instance.uuid)
            self.db.instance_update(instance.uuid,
                                    vm_state=vm_states.STOPPED,
                                    power_state=power_state.SHUTDOWN)

    def _send_back_unclaimed(self, instance):
        reason = ("The compute service on %s restarted before it claimed "
                  "the instance" % self.host)
        if self.transport is None:
            self._give_up(instance, reason)
            return
        request_spec = {
            "instance_uuids": [instance.uuid],
            "instance_properties": {
                "memory_mb": instance.memory_mb, "vcpus": instance.vcpus,
                "root_gb": instance.root_gb,
                "availability_zone": instance.availability_zone,
                "image_ref": instance.image_ref}}
        filter_properties = {"retry": {"num_attempts": 1,
                                       "hosts": [self.host]}}
        context = context_module.get_admin_context()
        self._reschedule_or_give_up(context, instance, request_spec,
                                    filter_properties, reason)

    # Life cycle -------------------------------------------------------------

    def run_instance(self, context, display_name=None, vcpus=1,
                     memory_mb=512, root_gb=1, image_ref=None, uuid=None):
        """Boot an instance on this host without a scheduler (one host,
        tests, benchmarks): the same claim and spawn as a scheduled boot,
        with no retry.

        :returns: the instance's row, active and running.
        :raises ComputeResourcesUnavailable: it does not fit; or the
            driver's error. The instance is then in ERROR, with a fault.
        """
        instance = self.db.instance_create(
            uuid=uuid or str(uuid_lib.uuid4()), display_name=display_name,
            host=self.host, vm_state=vm_states.BUILDING,
            task_state=task_states.SCHEDULING,
            power_state=power_state.NOSTATE, vcpus=vcpus,
            memory_mb=memory_mb, root_gb=root_gb, image_ref=image_ref,
            availability_zone=self.conf.default_availability_zone)
        with self._instance_locks(instance.uuid):
            try:
                return self._build(context, instance)
            except Exception as exc:
                self._give_up(instance, _reason(exc))
                raise

    @rpc.expose
    @one_at_a_time
    def build_and_run_instance(self, context, uuid, request_spec,
                               filter_properties):
        """Claim and spawn an instance a scheduler sent here; if either
        fails, send it back to the schedulers for another host (while
        ``filter_properties["retry"]`` allows), else put it in ERROR."""
        instance = self.db.instance_get(uuid)
        if (instance is None or instance.host != self.host
                or instance.task_state != task_states.SCHEDULING):
            LOG.info("Instance %s no longer waits for this host; not built",
                     uuid)
            return
        try:
            self._build(context, instance)
        except Exception as exc:
            self._reschedule_or_give_up(context, instance, request_spec,
                                        filter_properties, _reason(exc))

    def _build(self, context, instance):
        """Claim, spawn, and make the instance ACTIVE.

        :returns: the active row, or None if the instance stopped waiting
            for this host meanwhile (deleted, or timed out by a scheduler).
        :raises: whatever the claim or the driver raised; the driver's
            half-spawned instance is destroyed first.
        """
        claimed = self.resource_tracker.claim(instance)
        if claimed is None:
            LOG.info("Instance %s no longer waits for this host; not built",
                     instance.uuid)
            return None
        try:
            self._cache_image(instance.image_ref)
            self.driver.spawn(context, _as_dict(claimed))
        except Exception:
            LOG.exception("Could not spawn instance %s", instance.uuid)
            self.driver.destroy(context, _as_dict(claimed))
            raise
        active = self.db.instance_update(
            instance.uuid, expected={"host": self.host,
                                     "task_state": task_states.SPAWNING},
            vm_state=vm_states.ACTIVE, task_state=None,
            power_state=power_state.RUNNING, launched_at=models.utcnow())
        if active is None:
            LOG.warning("Instance %s was given up while it spawned here (it "
                        "took longer than instance_build_timeout, or was "
                        "deleted); destroying it", instance.uuid)
            self.driver.destroy(context, _as_dict(claimed))
            self.resource_tracker.release(instance.uuid)
        return active

    def _reschedule_or_give_up(self, context, instance, request_spec,
                               filter_properties, reason):
        """Send a boot this host could not build back to the schedulers,
        with this host in ``retry``; with no ``retry`` (``--host``), or if
        the schedulers cannot be told, put it in ERROR. Either only if the
        boot is still this host's: one being deleted is left to the
        deletion, one given up meanwhile to what gave it up."""
        retry = filter_properties.get("retry")
        if retry is None:
            self._give_up(instance, reason)
            return
        retry["exc"] = reason
        back = self.db.instance_update(
            instance.uuid, expected={"host": self.host,
                                     "task_state": task_states.BUILDING},
            host=None, task_state=task_states.SCHEDULING)
        self.resource_tracker.release(instance.uuid)
        if back is None:
            return
        self.db.instance_fault_create(instance.uuid, FAULT_CODE, reason,
                                      host=self.host)
        LOG.warning("Instance %s could not be built on %s (%s); sent back "
                    "to the schedulers after attempt %d of %d",
                    instance.uuid, self.host, reason, retry["num_attempts"],
                    self.conf.scheduler_max_attempts)
        try:
            self.scheduler_rpcapi.run_instance(context, request_spec,
                                               filter_properties)
        except Exception as exc:
            LOG.error("Instance %s could not be sent back to the "
                      "schedulers: %s", instance.uuid, _reason(exc))
            self._set_error(instance.uuid, "%s; then it could not be sent "
                            "back to the schedulers: %s"
                            % (reason, _reason(exc)),
                            expected={"host": None,
                                      "task_state": task_states.SCHEDULING})

    def _give_up(self, instance, reason):
        """ERROR, with ``reason`` as the fault, if the boot is still this
        host's; the claim is released."""
        LOG.error("Instance %s could not be built on %s: %s", instance.uuid,
                  self.host, reason)
        self._set_error(instance.uuid, reason,
                        expected={"host": self.host,
                                  "task_state": task_states.BUILDING})
        self.resource_tracker.release(instance.uuid)

    def _set_error(self, uuid, reason, expected):
        failed = self.db.instance_update(
            uuid, expected=expected, vm_state=vm_states.ERROR,
            task_state=None, host=None)
        if failed is not None:
            self.db.instance_fault_create(uuid, FAULT_CODE, reason,
                                          host=self.host)

    @rpc.expose
    def get_host_uptime(self, context):
        """When this host booted and how long ago, for ComputeAPI."""
        booted_at = self.driver.get_host_uptime()
        return {"host": self.host,
                "booted_at": booted_at.isoformat() + "Z",
                "uptime_s": (models.utcnow() - booted_at).total_seconds()}

    @rpc.expose
    @one_at_a_time
    def terminate_instance(self, context, uuid):
        """Destroy an instance on the hypervisor and delete its row.

        A boot that left this host while the request travelled (sent back
        to the schedulers) is deleted where it is now: its row alone if it
        has no host, else the request goes on to its host.
        """
        instance = self.db.instance_get(uuid)
        if instance is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        if instance.host is None:
            LOG.info("Instance %s has no host; deleting its row", uuid)
            return self.db.instance_destroy(
                uuid, vm_state=vm_states.DELETED, task_state=None,
                power_state=power_state.NOSTATE)
        if instance.host != self.host:
            LOG.info("Instance %s is on %s now; the deletion goes there",
                     uuid, instance.host)
            self.compute_rpcapi.terminate_instance(context, instance.host,
                                                   uuid)
            return None
        self.db.instance_update(uuid, task_state=task_states.DELETING)
        return self._destroy(instance)

    @rpc.expose
    @one_at_a_time
    def stop_instance(self, context, uuid):
        instance = self._require_state(uuid, "stop", vm_states.ACTIVE)
        self.driver.power_off(_as_dict(instance))
        return self._transition(instance, vm_states.ACTIVE,
                                vm_state=vm_states.STOPPED,
                                power_state=power_state.SHUTDOWN)

    @rpc.expose
    @one_at_a_time
    def start_instance(self, context, uuid):
        instance = self._require_state(uuid, "start", vm_states.STOPPED)
        self.driver.power_on(context, _as_dict(instance))
        return self._transition(instance, vm_states.STOPPED,
                                vm_state=vm_states.ACTIVE,
                                power_state=power_state.RUNNING)

    @one_at_a_time
    def soft_delete_instance(self, context, uuid):
        """Power an instance off and queue it for reclaiming; with no
        ``reclaim_instance_interval`` it is deleted at once."""
        instance = self._require_state(uuid, "soft-delete", vm_states.ACTIVE,
                                       vm_states.STOPPED)
        if self.conf.reclaim_instance_interval <= 0:
            return self.terminate_instance(context, uuid)
        if instance.vm_state == vm_states.ACTIVE:
            self.driver.power_off(_as_dict(instance))
        return self._transition(instance, instance.vm_state,
                                vm_state=vm_states.SOFT_DELETED,
                                power_state=power_state.SHUTDOWN)

    @one_at_a_time
    def restore_instance(self, context, uuid):
        instance = self._require_state(uuid, "restore",
                                       vm_states.SOFT_DELETED)
        self.driver.power_on(context, _as_dict(instance))
        return self._transition(instance, vm_states.SOFT_DELETED,
                                vm_state=vm_states.ACTIVE,
                                power_state=power_state.RUNNING)

    def _get(self, uuid):
        instance = self.db.instance_get(uuid)
        if instance is None or instance.host != self.host:
            raise exception.InstanceNotFound(instance_id=uuid)
        return instance

    def _require_state(self, uuid, action, *allowed):
        instance = self._get(uuid)
        if instance.vm_state not in allowed or instance.task_state:
            raise exception.InstanceInvalidState(
                action=action, instance_id=uuid,
                state=instance.task_state or instance.vm_state)
        return instance

    def _transition(self, instance, expected, **values):
        updated = self.db.instance_update(instance.uuid,
                                          expected={"vm_state": expected},
                                          **values)
        if updated is None:
            raise exception.InstanceInvalidState(
                action="update", instance_id=instance.uuid,
                state="changed by another request")
        return updated

    def _destroy(self, instance):
        self.driver.destroy(None, _as_dict(instance))
        deleted = self.db.instance_destroy(
            instance.uuid, vm_state=vm_states.DELETED, task_state=None,
            power_state=power_state.NOSTATE)
        self.resource_tracker.release(instance.uuid)
        return deleted

    def _base_dir(self):
        return os.path.join(os.path.abspath(os.path.expanduser(
            self.conf.instances_path)), "_base")

    def _cache_image(self, image_ref):
        """Keep the instance's image in ``_base``, as a download would."""
        if not image_ref:
            return
        os.makedirs(self._base_dir(), exist_ok=True)
        path = os.path.join(self._base_dir(), image_cache_name(image_ref))
        with open(path, "a"):
            os.utime(path)

    # Periodic tasks ---------------------------------------------------------

    @manager.periodic_task(spacing=60)
    def update_available_resource(self, context):
        """Audit the host and write its ``compute_nodes`` row."""
        self.resource_tracker.update_available_resource()

    @manager.periodic_task(spacing=120, run_immediately=True)
    def _report_driver_status(self, context):
        """Refresh the host's stats and hand them to the publisher.

        At the first pass too, as nova's did, so that the schedulers learn
        of a new host at its second tick, not two minutes later.
        """
        self.update_service_capabilities(
            self.driver.get_host_stats(refresh=True))

    @manager.periodic_task(spacing=600)
    def _sync_power_states(self, context):
        """Make the database's power states the hypervisor's."""
        for instance in self.db.instance_get_all_by_host(self.host):
            if instance.task_state is not None:
                continue  # an operation in progress will set it
            try:
                self._sync_power_state(instance)
            except Exception:
                LOG.exception("Could not sync the power state of %s",
                              instance.uuid)

    def _sync_power_state(self, instance):
        with self._instance_locks(instance.uuid):
            instance = self.db.instance_get(instance.uuid)
            if instance is not None and instance.task_state is None:
                self._sync_locked_power_state(instance)

    def _sync_locked_power_state(self, instance):
        try:
            actual = self.driver.get_info(_as_dict(instance))["power_state"]
        except exception.InstanceNotFound:
            actual = power_state.SHUTDOWN
        if actual == instance.power_state:
            return
        values = {"power_state": actual}
        if instance.vm_state == vm_states.ACTIVE and actual in (
                power_state.SHUTDOWN, power_state.CRASHED,
                power_state.NOSTATE):
            values["vm_state"] = vm_states.STOPPED
        LOG.info("Instance %s: power state %s in the database, %s on the "
                 "hypervisor; recording %s", instance.uuid,
                 power_state.STATE_MAP.get(instance.power_state),
                 power_state.STATE_MAP.get(actual),
                 values.get("vm_state", instance.vm_state))
        self.db.instance_update(instance.uuid,
                                expected={"vm_state": instance.vm_state},
                                **values)

    @manager.periodic_task(spacing=1800)
    def _cleanup_running_deleted_instances(self, context):
        """Deal with instances deleted in the database but still running."""
        action = self.conf.running_deleted_instance_action
        if action == "noop":
            return
        on_driver = set(self.driver.list_instances())
        timeout = self.conf.running_deleted_instance_timeout
        now = models.utcnow()
        for instance in self.db.instance_get_all_by_host(
                self.host, read_deleted="only"):
            if instance.uuid not in on_driver:
                continue
            if (instance.deleted_at is not None and
                    (now - instance.deleted_at).total_seconds() < timeout):
                continue
            try:
                if action == "log":
                    LOG.warning("Instance %s is deleted but still on the "
                                "hypervisor", instance.uuid)
                elif action == "shutdown":
                    LOG.info("Powering off deleted instance %s",
                             instance.uuid)
                    self.driver.power_off(_as_dict(instance))
                else:
                    LOG.info("Destroying deleted instance %s",
                             instance.uuid)
                    self.driver.destroy(context, _as_dict(instance))
            except Exception:
                LOG.exception("Could not %s deleted instance %s", action,
                              instance.uuid)

    @manager.periodic_task(spacing=60)
    def _reclaim_queued_deletes(self, context):
        """Delete soft-deleted instances kept longer than
        ``reclaim_instance_interval``."""
        interval = self.conf.reclaim_instance_interval
        if interval <= 0:
            LOG.debug("reclaim_instance_interval is %s: nothing to reclaim",
                      interval)
            return
        now = models.utcnow()
        for instance in self.db.instance_get_all_by_host(self.host):
            if instance.vm_state != vm_states.SOFT_DELETED:
                continue
            since = instance.updated_at or instance.created_at
            if (now - since).total_seconds() < interval:
                continue
            try:
                LOG.info("Reclaiming soft-deleted instance %s",
                         instance.uuid)
                self._destroy(instance)
            except Exception:
                LOG.exception("Could not reclaim instance %s", instance.uuid)

    @manager.periodic_task(spacing=2400)
    def _run_image_cache_manager_pass(self, context):
        """Remove base images no instance of this host uses any more."""
        base = self._base_dir()
        if not os.path.isdir(base):
            return
        in_use = {image_cache_name(i.image_ref)
                  for i in self.db.instance_get_all_by_host(self.host)
                  if i.image_ref}
        minimum_age = self.conf.remove_unused_original_minimum_age_seconds
        now = time.time()
        with os.scandir(base) as entries:
            for entry in entries:
                if (entry.name in in_use
                        or not entry.is_file(follow_symlinks=False)):
                    continue
                try:
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                    if age < minimum_age:
                        continue
                    LOG.info("Removing unused base image %s (%d s old)",
                             entry.path, age)
                    os.unlink(entry.path)
                except OSError:
                    LOG.exception("Could not remove base image %s",
                                  entry.path)


def _reason(exc):
    return str(exc) or type(exc).__name__


def _as_dict(instance):
    """What a driver needs of an instance row."""
    return dict(instance._mapping)
