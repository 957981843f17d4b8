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

"""The command-line shape of novalite-manage."""

from oslo_config import cfg


def register_cli_opts(conf, add_parsers):
    """Register the ``<category> <action>`` sub-commands.

    :param add_parsers: called with argparse's subparsers to add each
        category's actions.
    """
    conf.register_cli_opt(cfg.SubCommandOpt(
        "category", title="Command categories",
        help="Run 'novalite-manage <category> --help' for its actions.",
        handler=add_parsers))
