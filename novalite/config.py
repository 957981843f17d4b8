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
"""

import argparse
import glob
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from novalite import conf as novalite_conf
from novalite.conf import periodic_task as task_conf
from novalite.db import api as db_api
from novalite import exception
from novalite import version

EX_CONFIG = 78
CONF = novalite_conf.CONF

_TASK_OPTS = {opt.name: opt for opt in task_conf.task_opts}


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


def parse_args(argv, conf=CONF, default_config_files=None):
    """Register, parse and check every option; raise ConfigError.

    The files are checked before oslo.config reads them: it would stop
    at a bad value of a command-line option with a usage message, and at
    an unreadable file with a traceback.

    :param argv: the whole command line, program name first.
    """
    register_options(conf)
    prog = os.path.basename(argv[0])
    if default_config_files is None:
        default_config_files = cfg.find_config_files(project="novalite",
                                                     prog=prog)
    if not {"-h", "--help", "--version"} & set(argv[1:]):
        check_files(_files_named_by(argv[1:], default_config_files), conf)
    try:
        conf(argv[1:], project="novalite", prog=prog,
             version=version.version_info.version_string(),
             default_config_files=default_config_files)
    except cfg.ConfigFilesNotFoundError as exc:
        raise ConfigError(", ".join(exc.config_files),
                          "config file not found")
    except cfg.ConfigDirNotFoundError as exc:
        raise ConfigError(exc.config_dir, "config directory not found")
    except cfg.Error as exc:
        raise ConfigError("", str(exc).replace("\n", " "))
    check_values(conf)
    return conf


def _files_named_by(args, default_config_files):
    """The files oslo.config will read for ``args``, in its order."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config-file", action="append")
    parser.add_argument("--config-dir", action="append")
    known, _ = parser.parse_known_args(args)
    files = list(known.config_file or default_config_files or [])
    for directory in known.config_dir or []:
        if not os.path.isdir(directory):
            raise ConfigError(directory, "config directory not found")
        files.extend(sorted(glob.glob(os.path.join(directory, "*.conf"))))
    return files


def config_files(conf):
    """The files oslo.config read, in the order it read them (none if it
    has not parsed a command line): those named on the command line, or
    else the default files it found."""
    files = list(getattr(conf, "config_file", None)
                 or getattr(conf, "default_config_files", None) or [])
    for directory in (getattr(conf, "config_dir", None)
                      or getattr(conf, "default_config_dirs", None) or []):
        files.extend(sorted(glob.glob(os.path.join(directory, "*.conf"))))
    return files


def read_files(files):
    """Parse each file into ``{section: {key: [values]}}``.

    :returns: a list of (path, sections), in reading order.
    """
    parsed = []
    for path in files:
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
        opt.type(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(where, "invalid value %r: %s" % (value, exc))


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
                options = _TASK_OPTS
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
                getattr(group, opt.dest)
            except (cfg.Error, ValueError) as exc:
                raise ConfigError("[%s] %s" % (group_name, opt.dest),
                                  str(exc).replace("\n", " "))
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
