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

"""Options for the periodic tasks of every manager."""

from oslo_config import cfg

periodic_opts = [
    cfg.BoolOpt("run_external_periodic_tasks",
                default=True,
                mutable=True,
                help="""
Run the periodic tasks that may instead run in an external process.

Tasks declared with ``external_process_ok=True`` run in this service only
when this is true. Set it to false when a separate process runs them for
the whole deployment, so that they do not run twice.
"""),
]


def register_opts(conf):
    conf.register_opts(periodic_opts)


def list_opts():
    return {"DEFAULT": periodic_opts}
