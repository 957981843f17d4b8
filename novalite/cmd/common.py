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

from oslo_log import log as logging
import sqlalchemy as sa

from novalite import config
from novalite.db import migration
from novalite import exception

EX_CONFIG = config.EX_CONFIG
EX_UNAVAILABLE = 69
EX_DATAERR = 65


#: Bits a command never grants on what it creates: write for the group,
#: anything for others.
PRIVATE_UMASK = 0o027


def keep_files_private():
    """What a command creates (the state directory, the SQLite database
    and its journal, the log) is never readable by others, whatever the
    umask it was started with: it holds the instances' records and what
    the operator configured."""
    os.umask(os.umask(0) | PRIVATE_UMASK)


def _fail(status, problem):
    print("%s: %s" % (os.path.basename(sys.argv[0]), problem),
          file=sys.stderr)
    return status


def explained_errors(main):
    """Turn the errors an operator can fix into one line and an exit status.

    Bad configuration, an unloadable manager, a database URL that cannot
    work, a schema that is behind, a state directory that cannot be made,
    credentials the database refuses or a database that does not exist:
    one line on stderr, no traceback, status 78 (EX_CONFIG), which systemd
    is told not to retry. A database or a message broker that does not
    answer (refused, timed out, gone): status 69 (EX_UNAVAILABLE), which
    it may retry. Data the database refuses (a value too long, bytes it
    cannot store): status 65 (EX_DATAERR); retrying cannot help and the
    database is fine.
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
        except (migration.MigrationLockTimeout,
                exception.BrokerUnavailable) as exc:
            return _fail(EX_UNAVAILABLE, exc)
        except sa.exc.DBAPIError as exc:
            return _fail(*explain_database_error(exc))
        except BrokenPipeError:
            # The reader went away (``| head``): nothing more to say, and
            # Python must not complain when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    return wrapper


#: (SQLSTATE of PostgreSQL, error number of MySQL/MariaDB) -> what it means.
_CREDENTIALS = ("28P01", "28000", 1045, 1044, 1698)
_NO_DATABASE = ("3D000", 1049)


def database_error_code(exc):
    """The server's code of a DBAPIError: PostgreSQL's SQLSTATE (a str)
    from pg8000, MySQL's error number (an int) from PyMySQL; None for
    anything else."""
    orig = getattr(exc, "orig", exc)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], dict):
        return args[0].get("C")
    if args and isinstance(args[0], int):
        return args[0]
    return None


def _server_message(orig):
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], dict) and "M" in args[0]:
        return args[0]["M"]
    if len(args) >= 2 and isinstance(args[0], int):
        return str(args[1])
    return str(orig)


def _timed_out(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, TimeoutError) or "timed out" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def explain_database_error(exc):
    """``(exit status, one line)`` for a DBAPIError that ended a command."""
    orig = exc.orig if exc.orig is not None else exc
    code = database_error_code(exc)
    message = _server_message(orig).strip().splitlines()
    message = message[0] if message else type(orig).__name__
    if code in _CREDENTIALS:
        return EX_CONFIG, ("the database refused the credentials of "
                           "[database] connection: %s" % message)
    if code in _NO_DATABASE:
        return EX_CONFIG, ("the database of [database] connection does not "
                           "exist (%s): create it, then run 'novalite-manage "
                           "db sync'" % message)
    if isinstance(exc, sa.exc.DataError) or (
            isinstance(code, str) and code.startswith("22")):
        return EX_DATAERR, "the database refused the data: %s" % message
    if _timed_out(orig):
        return EX_UNAVAILABLE, ("cannot use the database: no answer within "
                                "the timeouts of [database] (%s)" % message)
    return EX_UNAVAILABLE, "cannot use the database: %s" % message


def run_service(binary, topic_option):
    """What a service command does, in order: private files, the checked
    configuration, logging, the service on its topic under signals; the
    exit status when it stops."""
    from novalite import service

    keep_files_private()
    config.parse_args(sys.argv)
    logging.setup(config.CONF, "novalite")
    config.say_where(config.CONF)
    config.warn_about_exposed_password(config.CONF)
    server = service.Service.create(binary=binary,
                                    topic=config.CONF[topic_option])
    service.serve(server)
    return service.wait()
