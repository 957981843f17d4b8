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

"""Options of the compute manager and its periodic tasks."""

from oslo_config import cfg

from novalite.conf import values

compute_opts = [
    cfg.StrOpt("compute_driver",
               default="fake",
               help="""
The hypervisor driver: a short name (``fake``) or the dotted path of a
ComputeDriver subclass.
"""),
    cfg.StrOpt("instances_path",
               default="$state_path/instances",
               help="""
Directory holding the instances' disks; its ``_base`` subdirectory is the
image cache.
"""),
    cfg.StrOpt("running_deleted_instance_action",
               default="reap",
               choices=[("reap", "destroy the instance on the hypervisor"),
                        ("log", "log it and leave it running"),
                        ("shutdown", "power it off"),
                        ("noop", "do nothing")],
               help="""
What to do with an instance that is deleted in the database but still on
the hypervisor.

Related options:

* ``running_deleted_instance_timeout``
"""),
    cfg.FloatOpt("running_deleted_instance_timeout",
                 default=0,
                 min=0,
                 max=values.ONE_YEAR,
                 help="""
Seconds an instance must have been deleted before
``running_deleted_instance_action`` applies to it, from 0 to 31536000 (one
year).
"""),
    cfg.FloatOpt("reclaim_instance_interval",
                 default=0,
                 min=-values.ONE_YEAR,
                 max=values.ONE_YEAR,
                 help="""
Seconds a soft-deleted instance is kept before it is destroyed, from
-31536000 to 31536000 (one year). 0 or less deletes at once and disables
the reclaim task.
"""),
    cfg.FloatOpt("remove_unused_original_minimum_age_seconds",
                 default=86400,
                 min=0,
                 max=values.ONE_YEAR,
                 help="""
Seconds an unused base image must be old before the image cache manager
removes it, from 0 to 31536000 (one year).
"""),
]


def register_opts(conf):
    conf.register_opts(compute_opts)


def list_opts():
    return {"DEFAULT": compute_opts}
