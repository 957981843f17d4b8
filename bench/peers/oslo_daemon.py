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
"""The peer daemon: oslo.service's launcher and PeriodicTasks doing what
novalite-compute does with its default configuration.

Same option values, same oslo.log set-up, same database and heartbeat queries
(novalite's), so that what differs is the service framework. Benchmark
only; installed with the peers, never a novalite dependency.
"""

import eventlet

eventlet.monkey_patch()

import random  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_service import periodic_task  # noqa: E402
from oslo_service import service  # noqa: E402

from novalite.db import api as db_api  # noqa: E402
from novalite.db import migration  # noqa: E402

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
# The peer's own copy of the options it shares with novalite-compute
# (oslo.service registers graceful_shutdown_timeout itself).
CONF.register_opts([
    cfg.StrOpt("host", default=socket.gethostname()),
    cfg.StrOpt("state_path", default="/var/lib/novalite"),
    cfg.FloatOpt("report_interval", default=10.0),
    cfg.FloatOpt("periodic_interval", default=60.0),
    cfg.FloatOpt("periodic_fuzzy_delay", default=60.0),
])


class Manager(periodic_task.PeriodicTasks):
    def __init__(self):
        super().__init__(CONF)
        self.last_capabilities = None

    @periodic_task.periodic_task
    def _publish_service_capabilities(self, context):
        if self.last_capabilities:
            LOG.debug("publishing %s", self.last_capabilities)


class ComputeService(service.Service):
    def start(self):
        self.manager = Manager()
        self.db = db_api.Database(db_api.create_engine(
            db_api.default_connection(CONF.state_path)))
        migration.prepare(self.db.engine)
        self.service_id = self.db.service_get_or_create(
            CONF.host, "oslo-compute", "compute").id
        self.tg.add_timer(CONF.report_interval, self.report_state,
                          initial_delay=CONF.report_interval)
        self.tg.add_dynamic_timer(
            self.periodic_tasks,
            initial_delay=random.uniform(0, CONF.periodic_fuzzy_delay),
            periodic_interval_max=CONF.periodic_interval)

    def report_state(self):
        try:
            self.db.service_heartbeat(self.service_id)
        except Exception:
            LOG.exception("model server went away")

    def periodic_tasks(self):
        return self.manager.run_periodic_tasks(None)


def main():
    logging.register_options(CONF)
    CONF(sys.argv[1:], project="novalite")
    logging.setup(CONF, "oslo-compute")
    launcher = service.launch(CONF, ComputeService(), restart_method="mutate")
    launcher.wait()


if __name__ == "__main__":
    main()
