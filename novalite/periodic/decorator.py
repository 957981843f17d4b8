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

"""``@periodic_task`` and the collection of a class's tasks.

The decorator records settings on the function and nothing else: no
clock and no option is read, so importing a module fixes no interval.
"""

import functools

from novalite import exception
from novalite.periodic import settings as task_settings


def periodic_task(_function=None, *, ticks_between_runs=None, spacing=None,
                  run_immediately=False, enabled=True,
                  external_process_ok=False, name=None, timeout=0):
    """Mark a manager method (or any callable) as a periodic task.

    Usable bare (``@periodic_task``) or called, with keyword arguments only.

    A spacing task's grid starts at the manager's first pass, which the
    service delays by this host's phase of ``periodic_fuzzy_delay``: the
    task first runs one spacing after that pass (at it, with
    ``run_immediately``), then every ``spacing`` seconds.

    :param ticks_between_runs: ticks skipped between two runs; the task
        first runs on tick N+1, then every N+1 ticks.
    :param spacing: seconds between runs instead; 0 runs every tick and a
        negative value disables the task. Excludes ``ticks_between_runs``.
    :param run_immediately: run at the first pass instead of after a
        full spacing or countdown.
    :param enabled: False keeps the task declared but never run.
    :param external_process_ok: the task may run in an external process
        instead; it runs here only if ``run_external_periodic_tasks``.
    :param name: the task's name; the callable's name by default. Only a
        task whose name can be an ini section can be tuned in the ini.
    :param timeout: seconds after which a run is interrupted; 0: never.
    :raises InvalidPeriodicTask: for bad or conflicting arguments.
    """
    settings = task_settings.TaskSettings(
        spacing=spacing, ticks_between_runs=ticks_between_runs,
        run_immediately=run_immediately, enabled=enabled, timeout=timeout,
        external_process_ok=external_process_ok)

    def decorator(function):
        task_name = name if name is not None else _name_of(function)
        settings.check(task_name)
        function._periodic_task = True
        function._periodic_name = task_name
        function._periodic_settings = settings
        function._ticks_between_runs = settings.ticks
        function._periodic_spacing = spacing
        function._periodic_run_immediately = run_immediately
        function._periodic_enabled = enabled
        function._periodic_external_ok = external_process_ok
        function._periodic_timeout = timeout
        return function

    if _function is not None:
        if not callable(_function):
            raise exception.InvalidPeriodicTask(
                name=repr(_function),
                reason="periodic_task takes keyword arguments only")
        return decorator(_function)
    return decorator


def _name_of(function):
    """A callable's name; a partial is named after what it wraps."""
    while not hasattr(function, "__name__") and hasattr(function, "func"):
        function = function.func
    return getattr(function, "__name__", None) or repr(function)


def is_task(value):
    return getattr(value, "_periodic_task", False)


def collect(cls, namespace):
    """Set ``cls._periodic_tasks`` and ``cls._ticks_to_skip`` from its
    parent's and the tasks defined in ``namespace`` (the class body).

    Each class gets its own copies, so defining a subclass never changes
    its parent. A task defined under the name of an inherited one replaces
    that entry in place: it keeps its position and runs once.
    """
    tasks = list(getattr(cls, "_periodic_tasks", ()))
    ticks_to_skip = dict(getattr(cls, "_ticks_to_skip", {}))
    attributes = dict(getattr(cls, "_periodic_attributes", {}))
    for attribute, value in namespace.items():
        if not is_task(value):
            continue
        name = value._periodic_name
        for index, (old_name, _function) in enumerate(tasks):
            if old_name == name or attributes.get(old_name) == attribute:
                ticks_to_skip.pop(old_name, None)
                attributes.pop(old_name, None)
                tasks[index] = (name, value)
                break
        else:
            tasks.append((name, value))
        ticks_to_skip[name] = value._ticks_between_runs
        attributes[name] = attribute
    seen = set()
    for name, _function in tasks:
        key = task_settings.config_name(name)
        if key in seen:
            raise exception.DuplicatePeriodicTask(name=name,
                                                  owner=cls.__name__)
        seen.add(key)
    cls._periodic_tasks = tasks
    cls._ticks_to_skip = ticks_to_skip
    cls._periodic_attributes = attributes


def bind(instance, name, function):
    """The callable a pass calls with the context for task ``name``.

    Looked up on the instance by the attribute the class defined it under,
    so that a plain (undecorated) override in a subclass runs with the
    task's inherited schedule. A callable that is no descriptor (a
    ``functools.partial``) is called with the instance first, as nova
    called every task.
    """
    bound = getattr(instance, type(instance)._periodic_attributes[name])
    if bound is function:
        return functools.partial(function, instance)
    return bound
