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

"""Options of the database that holds services, hosts and instances."""

from oslo_config import cfg

database_group = cfg.OptGroup("database", title="Database options")

database_opts = [
    cfg.StrOpt("connection",
               secret=True,
               help="""
SQLAlchemy URL of the database.

Unset: an SQLite file ``novalite.sqlite`` under ``state_path``, created and
migrated on first start. A server database must be prepared with
``novalite-manage db sync`` first; the service refuses one that is behind.

Possible values:

* ``sqlite:////var/lib/novalite/novalite.sqlite``
* ``postgresql+pg8000://user:password@host/novalite``
* ``mysql+pymysql://user:password@host/novalite``
"""),
    cfg.IntOpt("max_pool_size",
               default=5,
               min=1,
               help="""
Connections kept open to a server database.
"""),
    cfg.FloatOpt("pool_timeout",
                 default=10.0,
                 min=0.1,
                 help="""
Seconds to wait for a free connection of the pool before failing.
"""),
    cfg.FloatOpt("connect_timeout",
                 default=10.0,
                 min=0.5,
                 max=300.0,
                 help="""
Seconds to wait for a server database to accept a connection and answer its
greeting and authentication before giving up.

A server that accepts the connection and never answers (a hung server, a
half-open firewall) then fails the start-up or the command with one line and
exit status 69 (EX_UNAVAILABLE) instead of hanging. Not used by SQLite.
"""),
    cfg.FloatOpt("statement_timeout",
                 default=60.0,
                 min=1.0,
                 max=3600.0,
                 help="""
Seconds to wait for the answer to one statement before giving up.

On a server database, the longest wait for the server to answer (a
connection that times out is dropped and the statement fails; a statement
may have run on the server). On SQLite, the longest wait for a lock another
connection or process holds on the file: the wait is a series of short
tries with the event loop running between them, so the heartbeat, the
other tasks and a stop signal are served while it lasts.
"""),
]


def register_opts(conf):
    conf.register_group(database_group)
    conf.register_opts(database_opts, group=database_group)


def list_opts():
    return {database_group: database_opts}
