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

"""Options of the service: heartbeat, periodic timer, shutdown."""

from oslo_config import cfg

from novalite.conf import values

service_opts = [
    cfg.FloatOpt("report_interval",
                 default=10.0,
                 min=0.1,
                 max=values.ONE_YEAR,
                 help="""
Seconds between two heartbeats of the service into the database, from 0.1
to 31536000 (one year).

Each heartbeat increments the ``report_count`` of the service's row; the
service counts as down when its last heartbeat is older than
``service_down_time``.

Related options:

* ``service_down_time``: must be larger than this.
"""),
    cfg.FloatOpt("service_down_time",
                 default=60.0,
                 min=1.0,
                 max=values.ONE_YEAR,
                 help="""
Seconds since the last heartbeat after which a service is shown as down,
from 1 to 31536000 (one year).

Related options:

* ``report_interval``: must be smaller than this.
"""),
    cfg.BoolOpt("heartbeat_in_native_thread",
                default=True,
                help="""
Send the heartbeat from an OS thread of its own.

A periodic task stuck in a call that never yields to eventlet (a C
library, a blocking driver) stops every greenthread; from its own thread
the heartbeat goes on, so the service does not look down while the task
finishes. If the event loop stays stuck longer than ``service_down_time``
the heartbeat stops too, so that a service that cannot work shows down.
False sends it from a greenthread, as nova does.
"""),
    cfg.BoolOpt("periodic_enable",
                default=True,
                help="""
Run the periodic tasks of the service's manager.

False starts the service with its heartbeat only.
"""),
    cfg.FloatOpt("periodic_interval",
                 default=60.0,
                 min=0.01,
                 max=values.ONE_YEAR,
                 help="""
Seconds between two ticks of the periodic timer, from 0.01 to 31536000 (one
year).

A task with ``ticks_between_runs = N`` runs every (N+1) ticks. A task with a
``spacing`` runs every ``spacing`` seconds, whatever this interval.
"""),
    cfg.FloatOpt("periodic_fuzzy_delay",
                 default=60.0,
                 min=0.0,
                 max=values.ONE_DAY,
                 help="""
Window, in seconds, over which the first ticks of many hosts are spread,
from 0 to 86400 (one day).

Each host starts at its own fixed place in the window (from a hash of its
name), so hosts restarted together do not all hit the database at the same
moment, and a host's schedule is the same after every restart. 0 starts
the timer at once.
"""),
    cfg.FloatOpt("periodic_stall_threshold",
                 default=300.0,
                 min=0.1,
                 max=values.ONE_YEAR,
                 help="""
Seconds a pass of the periodic timer may take before the service logs
``periodic loop stalled for N s``, naming the task that runs, and again
each time as long again has passed; from 0.1 to 31536000 (one year).

Related options:

* a task's own ``timeout`` interrupts it; this only reports.
"""),
    cfg.FloatOpt("graceful_shutdown_timeout",
                 default=60.0,
                 min=0.0,
                 max=values.ONE_YEAR,
                 help="""
Seconds a running periodic task and the RPC calls in flight may take,
together, to finish when the service stops, from 0 to 31536000 (one year).

After this they are abandoned and the service exits (its connections to
the broker get 5 s more to close). 0 waits forever.
"""),
    cfg.StrOpt("compute_manager",
               default="novalite.compute.manager.ComputeManager",
               help="""
Full class name of the manager that novalite-compute runs.
"""),
    cfg.StrOpt("scheduler_manager",
               default="novalite.scheduler.manager.SchedulerManager",
               help="""
Full class name of the manager that novalite-scheduler runs.
"""),
]


def register_opts(conf):
    conf.register_opts(service_opts)


def list_opts():
    return {"DEFAULT": service_opts}
