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

"""The options of a ``[periodic_task:<name>]`` section.

Every periodic task of the running manager can be tuned in a section named
after it without leading underscores, e.g.
``[periodic_task:sync_power_states]``.
These options are not registered globally: ``novalite.periodic.sections``
reads them for each task the manager has, and the decorator's values are
their defaults.
"""

from oslo_config import cfg

from novalite.conf import values

SECTION_PREFIX = "periodic_task:"

task_opts = [
    cfg.FloatOpt("spacing",
                 min=-values.ONE_YEAR,
                 max=values.ONE_YEAR,
                 help="""
Seconds between two runs of the task, from -31536000 to 31536000 (one
year). 0 runs it every tick; a negative value disables it. Excludes
``ticks_between_runs``.
"""),
    cfg.IntOpt("ticks_between_runs",
               min=0,
               max=values.MAX_TICKS,
               help="""
Ticks skipped between two runs, from 0 to 1000000: the task runs every
(N+1)th tick of ``periodic_interval``. Excludes ``spacing``.
"""),
    cfg.BoolOpt("run_immediately",
                help="""
Run the task at the first pass instead of after one spacing or countdown.
"""),
    cfg.BoolOpt("enabled",
                help="""
False keeps the task from running.
"""),
    cfg.FloatOpt("timeout",
                 min=0.0,
                 max=values.ONE_YEAR,
                 help="""
Seconds after which a run is interrupted and counted as failed, from 0 to
31536000 (one year); 0: never.
"""),
]

#: The options of a task section by name, for the code that reads them.
TASK_OPTS_BY_NAME = {opt.name: opt for opt in task_opts}
