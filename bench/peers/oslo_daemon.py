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

"""The peer daemon: novalite-compute's work on oslo.service.

oslo.service's launcher and a PeriodicTasks manager whose tasks, with the
same spacings, call novalite's ComputeManager; the same option values, the
same oslo.log set-up, novalite's database code for the heartbeat. What
differs is the service framework. Benchmark only; installed with the peers,
never a novalite dependency.
"""

import eventlet

eventlet.monkey_patch()

import random  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_service import periodic_task  # noqa: E402
from oslo_service import service  # noqa: E402

from novalite.compute import manager as compute_manager  # noqa: E402
from novalite import conf as novalite_conf  # noqa: E402
from novalite import context  # noqa: E402
from novalite.db import api as db_api  # noqa: E402
from novalite.db import migration  # noqa: E402

# oslo.service registers its own graceful_shutdown_timeout: the peer keeps
# its framework options apart from novalite's, which ComputeManager reads.
PEER_CONF = cfg.ConfigOpts()
NOVALITE_CONF = novalite_conf.CONF
LOG = logging.getLogger(__name__)


def _calls(task_name, **decorator):
    def task(self, ctxt):
        getattr(self.compute, task_name)(ctxt)
    task.__name__ = task_name
    if not decorator:  # oslo.service's periodic_task() fails without args
        return periodic_task.periodic_task(task)
    return periodic_task.periodic_task(**decorator)(task)


class Manager(periodic_task.PeriodicTasks):
    update_available_resource = _calls("update_available_resource",
                                       spacing=60)
    _report_driver_status = _calls("_report_driver_status", spacing=120)
    _publish_service_capabilities = _calls("_publish_service_capabilities")
    _sync_power_states = _calls("_sync_power_states", spacing=600)
    _cleanup_running_deleted_instances = _calls(
        "_cleanup_running_deleted_instances", spacing=1800)
    _reclaim_queued_deletes = _calls("_reclaim_queued_deletes", spacing=60)
    _run_image_cache_manager_pass = _calls("_run_image_cache_manager_pass",
                                           spacing=2400)

    def __init__(self, db):
        super().__init__(PEER_CONF)
        self.compute = compute_manager.ComputeManager(
            host=NOVALITE_CONF.host, db=db)


class ComputeService(service.Service):
    def start(self):
        self.db = db_api.Database.from_conf(NOVALITE_CONF)
        migration.prepare(self.db.engine)
        self.manager = Manager(self.db)
        self.manager.compute.init_host()
        self.context = context.get_admin_context()
        self.service_id = self.db.service_get_or_create(
            NOVALITE_CONF.host, "oslo-compute", "compute").id
        interval = NOVALITE_CONF.report_interval
        self.tg.add_timer(interval, self.report_state, initial_delay=interval)
        self.tg.add_dynamic_timer(
            self.periodic_tasks,
            initial_delay=random.uniform(0,
                                         NOVALITE_CONF.periodic_fuzzy_delay),
            periodic_interval_max=NOVALITE_CONF.periodic_interval)

    def report_state(self):
        try:
            self.db.service_heartbeat(self.service_id)
        except Exception:
            LOG.exception("model server went away")

    def periodic_tasks(self):
        return self.manager.run_periodic_tasks(self.context)


def main():
    logging.register_options(PEER_CONF)
    PEER_CONF(sys.argv[1:], project="novalite")
    NOVALITE_CONF(sys.argv[1:], project="novalite")
    logging.setup(PEER_CONF, "oslo-compute")
    launcher = service.launch(PEER_CONF, ComputeService(),
                              restart_method="mutate")
    launcher.wait()


if __name__ == "__main__":
    main()
