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

    novalite-manage [--config-file FILE] db sync [--version V]
    novalite-manage [--config-file FILE] db version
"""

import sys

from novalite.cmd import common
from novalite import conf
from novalite.conf import manage as manage_conf
from novalite import config
from novalite.db import api as db_api
from novalite.db import migration

CONF = conf.CONF


class DbCommands:
    """Create and upgrade the database schema."""

    def __init__(self):
        self.engine = db_api.create_engine(db_api.connection_url(CONF))

    def sync(self, version="head"):
        """Upgrade the schema to the newest version (or to --version)."""
        migration.db_sync(self.engine, version)
        print("Database schema is at version %s"
              % migration.db_version(self.engine))

    def version(self):
        """Print the schema version of the database."""
        current = migration.db_version(self.engine)
        head = migration.head_version()
        print(current or "none")
        if current != head:
            print("this novalite needs %s: run 'novalite-manage db sync'"
                  % head, file=sys.stderr)
            return 1
        return 0


CATEGORIES = {
    "db": (DbCommands, {
        "sync": [(("--version",), {"default": "head",
                                   "help": "schema version to reach"})],
        "version": [],
    }),
}


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
                action_parser.add_argument(*flags, **options)


@common.explained_errors
def main():
    manage_conf.register_cli_opts(CONF, add_command_parsers)
    config.parse_args(sys.argv)
    category = CONF.category
    command_class, actions = CATEGORIES[category.name]
    arguments = {flags[0].lstrip("-").replace("-", "_"):
                 getattr(category, flags[0].lstrip("-").replace("-", "_"))
                 for flags, _ in actions[category.action]}
    result = getattr(command_class(), category.action)(**arguments)
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
