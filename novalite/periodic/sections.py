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

"""``[periodic_task:<name>]`` ini sections: from the files to the settings.

The options of a section are declared in ``novalite.conf.periodic_task``;
here each section is matched with a task of the running manager and laid
over the task's declared settings. The ini wins over the decorator.
"""

import copy

from novalite import config
from novalite.conf import periodic_task as task_conf
from novalite import exception
from novalite.periodic import settings as task_settings


def read(files):
    """``{config name: (where, {option: value})}`` from every task section.

    Later files win, as in oslo.config; values are typed and checked.
    """
    found = {}
    for path, sections in config.read_files(files):
        for section, values in sections.items():
            if not section.startswith(task_conf.SECTION_PREFIX):
                continue
            name = section[len(task_conf.SECTION_PREFIX):]
            where, settings = found.setdefault(
                name, ("%s: [%s]" % (path, section), {}))
            for key, raw_values in values.items():
                option_where = "%s: [%s] %s" % (path, section, key)
                opt = task_conf.TASK_OPTS_BY_NAME.get(key)
                if opt is None:
                    raise config.ConfigError(option_where, "unknown option")
                config.check_value(option_where, opt, raw_values[-1],
                                   substitutes=False)
                settings[key] = opt.type(raw_values[-1])
    return found


def effective_settings(tasks, files, elsewhere=frozenset()):
    """The effective TaskSettings of each task of ``tasks`` (a TaskSet).

    :param elsewhere: config names of the tasks of the fleet's other
        services: their sections are left to them, so that one file can
        configure every service, as one nova.conf does.
    :returns: ``{task name: TaskSettings}`` for every task, changed or not.
    :raises ConfigError: for a section naming no task, or settings the
        task's rules refuse, naming the file and section.
    """
    sections = read(files)
    declared = tasks.declared()
    by_config_name = {task_settings.config_name(name): name
                      for name in declared}
    for name, (where, _values) in sections.items():
        if name not in by_config_name and name not in elsewhere:
            raise config.ConfigError(
                where, "%s has no periodic task %r (it has: %s)"
                % (tasks.owner, name, ", ".join(sorted(by_config_name))))
    effective = {}
    for config_name, task_name in by_config_name.items():
        where, values = sections.get(config_name, (None, {}))
        try:
            effective[task_name] = declared[task_name].overridden_by(
                task_name, values)
        except exception.InvalidPeriodicTask as exc:
            raise config.ConfigError(where, exc.kwargs["reason"])
    return effective


def opts_for(manager_class):
    """One option group per task of ``manager_class``, defaults from its
    decorator, for the sample configuration."""
    groups = {}
    for name, function in manager_class._periodic_tasks:
        settings = function._periodic_settings
        defaults = {
            "spacing": None if settings.is_tick_task else settings.spacing,
            "ticks_between_runs": (settings.ticks if settings.is_tick_task
                                   else None),
            "run_immediately": settings.run_immediately,
            "enabled": settings.enabled,
            "timeout": settings.timeout,
        }
        opts = []
        for opt in task_conf.task_opts:
            with_default = copy.copy(opt)
            with_default.default = defaults[opt.name]
            opts.append(with_default)
        groups[task_settings.section_name(name)] = opts
    return groups


def fleet_task_names(conf, manager_options):
    """The config names of the periodic tasks of the managers that
    ``manager_options`` (``compute_manager``...) name; a manager that
    cannot be loaded has none (its service will say why)."""
    from oslo_utils import importutils

    names = set()
    for option in manager_options:
        try:
            manager_class = importutils.import_class(conf[option])
        except (ImportError, ValueError):
            continue
        names.update(task_settings.config_name(name)
                     for name, _ in manager_class._periodic_tasks)
    return frozenset(names)


def list_opts():
    """The task sections of the default compute and scheduler managers, for
    ``oslo-config-generator --namespace novalite.periodic_tasks``."""
    from novalite.compute import manager as compute_manager
    from novalite.scheduler import manager as scheduler_manager

    groups = opts_for(compute_manager.ComputeManager)
    groups.update(opts_for(scheduler_manager.SchedulerManager))
    return list(groups.items())
