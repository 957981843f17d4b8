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

"""Parse and check the whole configuration before anything runs.

oslo.config parses lazily and ignores what it does not know; an operator
learns of a typo hours later, if ever. Here every value of every file is
checked at start-up (and again on SIGHUP, before anything is applied):
a bad value, an unknown option or section, a task section for a task the
manager lacks, ``spacing`` together with ``ticks_between_runs``. The
first problem becomes one ConfigError line naming the file, section and
option; the command turns it into exit status 78 (EX_CONFIG).

Hostile values are refused the same way: a number that is not finite or
out of its documented range, a host name that is not one, a config path
that is not a readable regular file of sensible size, a config directory
that cannot be listed.
"""

import argparse
import contextlib
import glob
import math
import os
import socket
import stat
import sys

from oslo_config import cfg
from oslo_config import types
from oslo_log import log as logging
import sqlalchemy as sa

from novalite import conf as novalite_conf
from novalite.conf import periodic_task as task_conf
from novalite.db import api as db_api
from novalite import exception
from novalite import version

EX_CONFIG = 78
CONF = novalite_conf.CONF
LOG = logging.getLogger(__name__)

#: A config file larger than this is refused before it is read.
MAX_FILE_SIZE = 1024 * 1024
#: Values longer than this are shortened in error lines.
_SHOWN_LENGTH = 60


class ConfigError(Exception):
    """A configuration problem, said in one line."""

    def __init__(self, where, problem):
        self.where = where
        self.problem = problem
        super().__init__("%s: %s" % (where, problem) if where else problem)


def register_options(conf):
    """Register novalite's and oslo.log's options on ``conf``, once."""
    if conf is not CONF:
        novalite_conf.register_all(conf)
    if "debug" not in conf:
        logging.register_options(conf)
    quiet_libraries()


#: Loggers kept at WARNING unless the operator asks: alembic says a line
#: per plugin and per step at every first start; ``novalite-manage db
#: sync`` lets its steps through (``db_sync_logging``).
QUIET_LOGGERS = ("alembic",)


def quiet_libraries():
    levels = logging.get_default_log_levels()
    wanted = ["%s=WARN" % name for name in QUIET_LOGGERS
              if not any(level.startswith(name + "=") for level in levels)]
    if wanted:
        logging.set_defaults(default_log_levels=levels + wanted)


def db_sync_logging():
    """Let alembic say each step of a ``db sync`` the operator asked for,
    and only the steps (not its "Context impl ..." and "Will assume
    non-transactional DDL", which on SQLite is not even so)."""
    import logging as std_logging

    steps = std_logging.getLogger("alembic.runtime.migration")
    steps.setLevel(std_logging.INFO)
    steps.addFilter(lambda record: record.getMessage().startswith(
        "Running "))

@contextlib.contextmanager
def _no_abbreviations():
    """Make argparse take no prefix of an option for the option while
    oslo.config parses: ``--config-fil`` is a usage error, not
    ``--config-file``, so a typo never silently means something else.
    oslo.config builds its parsers itself (no ``allow_abbrev``), so
    argparse's prefix lookup is turned off for the call."""
    original = argparse.ArgumentParser._get_option_tuples
    argparse.ArgumentParser._get_option_tuples = lambda self, option: []
    try:
        yield
    finally:
        argparse.ArgumentParser._get_option_tuples = original


def parse_args(argv, conf=CONF, default_config_files=None):
    """Register, parse and check every option; raise ConfigError.

    The files are checked before oslo.config reads them: it would stop
    at a bad value of a command-line option with a usage message, and at
    an unreadable file with a traceback.

    :param argv: the whole command line, program name first.
    """
    register_options(conf)
    prog = os.path.basename(argv[0])
    default_config_dirs = []
    if default_config_files is None:
        default_config_files = cfg.find_config_files(project="novalite",
                                                     prog=prog)
        default_config_dirs = cfg.find_config_dirs(project="novalite",
                                                   prog=prog)
    if not {"-h", "--help", "--version"} & set(argv[1:]):
        check_files(_files_named_by(argv[1:], default_config_files,
                                    default_config_dirs), conf)
    try:
        with _no_abbreviations():
            conf(argv[1:], project="novalite", prog=prog,
                 version=version.version_info.version_string(),
                 default_config_files=default_config_files,
                 default_config_dirs=default_config_dirs)
    except cfg.ConfigFilesNotFoundError as exc:
        raise ConfigError(", ".join(exc.config_files),
                          "config file not found")
    except cfg.ConfigDirNotFoundError as exc:
        raise ConfigError(exc.config_dir, "config directory not found")
    except cfg.Error as exc:
        raise ConfigError("", str(exc).replace("\n", " "))
    check_values(conf)
    return conf


def _files_named_by(args, default_config_files, default_config_dirs=()):
    """The files oslo.config will read for ``args``, in its order: the
    same list ``config_files()`` gives once it has read them."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--config-file", action="append")
    parser.add_argument("--config-dir", action="append")
    known, _ = parser.parse_known_args(args)
    files = list(known.config_file or default_config_files or [])
    for directory in known.config_dir or default_config_dirs or []:
        files.extend(config_dir_files(directory))
    return files


def config_dir_files(directory):
    """The ``*.conf`` files of ``directory``, as oslo.config reads them.

    oslo.config skips a directory it cannot list as if it were empty;
    here it is refused.
    """
    try:
        mode = os.stat(directory).st_mode
    except FileNotFoundError:
        raise ConfigError(directory, "config directory not found")
    except OSError as exc:
        raise ConfigError(directory, "config directory cannot be read (%s)"
                          % _strerror(exc))
    if not stat.S_ISDIR(mode):
        raise ConfigError(directory, "is not a directory")
    try:
        os.listdir(directory)
    except OSError as exc:
        raise ConfigError(directory, "config directory cannot be read (%s)"
                          % _strerror(exc))
    return sorted(glob.glob(os.path.join(directory, "*.conf")))


def _strerror(exc):
    return (exc.strerror or str(exc)).lower()


def say_where(conf):
    """One line at start-up: the configuration files read and where the
    state lives, so that a daemon started with no --config-file (as root:
    /var/lib/novalite) does not choose its places silently."""
    state = os.path.abspath(os.path.expanduser(conf.state_path))
    files = config_files(conf)
    if files:
        LOG.info("Configuration read from %s; state in %s",
                 ", ".join(files), state)
    else:
        LOG.warning("No configuration file read (none given with "
                    "--config-file, none found in the default places): "
                    "every option has its default; state in %s", state)


def config_files(conf):
    """The files oslo.config read, in the order it read them (none if it
    has not parsed a command line): those named on the command line, or
    else the default files it found."""
    files = list(getattr(conf, "config_file", None)
                 or getattr(conf, "default_config_files", None) or [])
    for directory in (getattr(conf, "config_dir", None)
                      or getattr(conf, "default_config_dirs", None) or []):
        files.extend(config_dir_files(directory))
    return files


_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _check_file(path):
    """Refuse, before opening it, what cannot be a config file: a path
    that does not resolve (a symlink loop), a directory, a FIFO (reading
    would hang), a device (``/dev/zero`` never ends) or a huge file."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(path, "config file not found")
    except OSError as exc:
        raise ConfigError(path, "config file cannot be read (%s)"
                          % _strerror(exc))
    if stat.S_ISDIR(status.st_mode):
        raise ConfigError(path, "is a directory, not a config file")
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _FILE_KINDS
                     if test(status.st_mode)), "not a file")
        raise ConfigError(path, "is %s, not a regular config file" % kind)
    if status.st_size > MAX_FILE_SIZE:
        raise ConfigError(path, "is %d bytes; a config file has at most "
                                "%d (1 MiB)" % (status.st_size,
                                                MAX_FILE_SIZE))


def read_files(files):
    """Parse each file into ``{section: {key: [values]}}``.

    :returns: a list of (path, sections), in reading order.
    """
    parsed = []
    for path in files:
        _check_file(path)
        sections = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except FileNotFoundError:
            raise ConfigError(path, "config file not found")
        except PermissionError:
            raise ConfigError(path, "config file cannot be read "
                                    "(permission denied)")
        except IsADirectoryError:
            raise ConfigError(path, "is a directory, not a config file")
        except UnicodeDecodeError as exc:
            raise ConfigError(path, "is not UTF-8 text: %s" % exc.reason)
        except cfg.ParseError as exc:
            raise ConfigError(path, "cannot parse line %s: %s"
                              % (exc.lineno, exc.msg))
        except OSError as exc:
            raise ConfigError(path, "config file cannot be read (%s)"
                              % _strerror(exc))
        parsed.append((path, sections))
    return parsed


def _known_options(conf):
    """``{section: {name or deprecated name: opt}}`` of registered opts."""
    # NOTE(novalite): oslo.config has no public way to list registered
    # Opt objects; this is the one place that reads its internals.
    known = {}
    groups = [("DEFAULT", conf._opts)] + [
        (name, group._opts) for name, group in conf._groups.items()]
    for group_name, opts in groups:
        names = {}
        for info in opts.values():
            opt = info["opt"]
            names[opt.name] = names[opt.dest] = opt
            for deprecated in opt.deprecated_opts:
                if deprecated.group in (None, group_name) and deprecated.name:
                    names[deprecated.name] = opt
        known[group_name] = names
    return known


def check_value(where, opt, value, substitutes=True):
    """Raise ConfigError unless ``value`` suits ``opt``.

    :param substitutes: oslo.config will replace ``$option`` in the value
        (not in task sections, which novalite reads itself); then the value
        is checked once resolved, by check_values().
    """
    if substitutes and "$" in value:
        return
    try:
        typed = opt.type(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(where, "invalid value %s: %s"
                          % (shown(value), _out_of_range(opt, value) or exc))
    if isinstance(typed, float) and not math.isfinite(typed):
        raise ConfigError(where, "invalid value %s: not a finite number"
                          % shown(value))


def shown(value):
    """``repr(value)``, shortened if long: for one readable error line."""
    if isinstance(value, str) and len(value) > _SHOWN_LENGTH:
        return "%r... (%d characters)" % (value[:_SHOWN_LENGTH], len(value))
    return repr(value)


def _number_text(number):
    if isinstance(number, float) and number.is_integer() \
            and abs(number) < 1e15:
        return "%d" % number
    if isinstance(number, int) and abs(number) >= 1e15:
        return "%.3g" % number
    return str(number)


def _out_of_range(opt, value):
    """'not between MIN and MAX' if ``value`` is a number out of the range
    of ``opt``; None for any other problem."""
    kind = opt.type
    if not isinstance(kind, types.Number) or kind.choices is not None:
        return None
    try:
        number = kind.num_type(str(value).strip())
    except (ValueError, TypeError, OverflowError):
        return None
    low = "" if kind.min is None else _number_text(kind.min)
    high = "" if kind.max is None else _number_text(kind.max)
    if low and high:
        return "%s is not between %s and %s" % (_number_text(number), low,
                                                 high)
    if low:
        return "%s is less than %s" % (_number_text(number), low)
    return "%s is more than %s" % (_number_text(number), high)


def check_files(files, conf):
    """Check every section and value of ``files`` against ``conf``.

    Task sections are only checked for their own options here; whether
    the task exists is for ``novalite.periodic.sections``, once the
    manager is known.
    """
    known = _known_options(conf)
    for path, sections in read_files(files):
        for section, values in sections.items():
            substitutes = not section.startswith(task_conf.SECTION_PREFIX)
            if not substitutes:
                options = task_conf.TASK_OPTS_BY_NAME
            elif section in known:
                options = known[section]
            else:
                raise ConfigError("%s: [%s]" % (path, section),
                                  "unknown section")
            for key, raw_values in values.items():
                where = "%s: [%s] %s" % (path, section, key)
                opt = options.get(key)
                if opt is None:
                    raise ConfigError(where, "unknown option")
                for value in raw_values:
                    check_value(where, opt, value, substitutes)


def check_values(conf):
    """Read every registered value, as the service would, and check
    what the types cannot: how options relate to each other."""
    for group_name, opts in _known_options(conf).items():
        group = conf if group_name == "DEFAULT" else conf[group_name]
        for opt in set(opts.values()):
            try:
                value = getattr(group, opt.dest)
            except (cfg.Error, ValueError) as exc:
                raise ConfigError("[%s] %s" % (group_name, opt.dest),
                                  str(exc).replace("\n", " "))
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError("[%s] %s" % (group_name, opt.dest),
                                  "%r is not a finite number" % value)
    if conf.host is None:
        raise ConfigError("[DEFAULT] host", "unset, and this machine's "
                          "hostname %s is not a valid host name: set host"
                          % shown(socket.gethostname()))
    try:
        db_api.check_url(db_api.connection_url(conf))
    except exception.DatabaseError as exc:
        raise ConfigError("[database] connection", exc.kwargs["reason"])
    _check_logging(conf)
    if conf.report_interval >= conf.service_down_time:
        raise ConfigError(
            "[DEFAULT] report_interval",
            "%g is not less than service_down_time (%g): the service "
            "would always look down" % (conf.report_interval,
                                        conf.service_down_time))


def warn_about_exposed_password(conf=CONF):
    """Log one WARNING if a config file that holds the database password
    (a ``[database] connection`` URL with one) can be read by every user
    of this machine (mode o+r). Call it once, after logging is set up; it
    never fails."""
    exposed = []
    try:
        files = config_files(conf)
    except ConfigError:
        return []
    for path in files:
        try:
            mode = os.stat(path).st_mode
            if not mode & stat.S_IROTH:
                continue
            [(_path, sections)] = read_files([path])
        except (ConfigError, OSError):
            continue
        urls = sections.get("database", {}).get("connection", [])
        if any(_has_password(url) for url in urls):
            exposed.append("%s (mode %04o)" % (path, stat.S_IMODE(mode)))
    if exposed:
        LOG.warning("%s: readable by every user of this machine, and "
                    "holds the database password ([database] connection); "
                    "make it unreadable to others (chmod o-r)",
                    ", ".join(exposed))
    return exposed


def _has_password(url):
    try:
        return bool(sa.engine.make_url(url.strip()).password)
    except Exception:  # not a URL: check_values refused it already
        return False


def _check_logging(conf):
    """What oslo.log would only find out with a traceback."""
    if conf.use_journal:
        try:
            from systemd import journal  # noqa: F401
        except ImportError:
            raise ConfigError("[DEFAULT] use_journal", "needs the Python "
                              "systemd bindings (python3-systemd), which "
                              "are not installed")
    log_path = conf.log_file
    if conf.log_dir:
        log_path = os.path.join(conf.log_dir, log_path or
                                os.path.basename(sys.argv[0]) + ".log")
    if log_path:
        option = "[DEFAULT] log_file" if conf.log_file else "[DEFAULT] log_dir"
        directory = os.path.dirname(os.path.abspath(log_path))
        if not os.path.isdir(directory):
            raise ConfigError(option, "directory %s does not exist"
                              % directory)
        if os.path.isdir(log_path):
            raise ConfigError(option, "%s is a directory" % log_path)
        if not os.access(log_path if os.path.exists(log_path)
                         else directory, os.W_OK):
            raise ConfigError(option, "%s is not writable" % log_path)
