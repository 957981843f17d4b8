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

"""What every novalite command does with an error it can explain."""

import functools
import os
import sys

import sqlalchemy as sa

from novalite import config
from novalite import exception

EX_CONFIG = config.EX_CONFIG
EX_UNAVAILABLE = 69


def _fail(status, problem):
    print("%s: %s" % (os.path.basename(sys.argv[0]), problem),
          file=sys.stderr)
    return status


def explained_errors(main):
    """Turn the errors an operator can fix into one line and an exit status.

    Bad configuration, an unloadable manager, a database URL that cannot
    work, a schema that is behind or a state directory that cannot be
    made: one line on stderr, no traceback, status 78 (EX_CONFIG), which
    systemd is told not to retry. A database that does not answer: status
    69 (EX_UNAVAILABLE), which it may retry.
    """
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except config.ConfigError as exc:
            return _fail(EX_CONFIG, "configuration error: %s" % exc)
        except (exception.InvalidManager, exception.InvalidDriver,
                exception.DatabaseError) as exc:
            return _fail(EX_CONFIG, exc)
        except sa.exc.DBAPIError as exc:
            reason = str(exc.orig if exc.orig is not None else exc)
            return _fail(EX_UNAVAILABLE, "cannot use the database: %s"
                         % reason.strip().splitlines()[0])
    return wrapper
