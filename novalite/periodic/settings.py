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

"""How one periodic task is scheduled, and every rule about it.

Each rule is checked here and nowhere else: the decorator, the ini
sections and ``configure`` all build a TaskSettings and call ``check``.
"""

import dataclasses
import math
import numbers
import re

from novalite.conf import periodic_task as task_conf
from novalite import exception

#: Seconds ``Manager.periodic_tasks()`` reports as idle time when no
#: spacing task is waiting, as oslo.service's DEFAULT_INTERVAL: a caller
#: that sleeps for what it returns keeps ticking instead of sleeping forever.
DEFAULT_IDLE_SECONDS = 60.0

_SECTION_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def config_name(task_name):
    """The name of a task in its ``[periodic_task:<name>]`` section."""
    return task_name.lstrip("_")


def section_name(task_name):
    """The ini section of a task.

    :raises InvalidPeriodicTask: if the name cannot be an ini section
        (a lambda's ``<lambda>``, say): such a task runs, but can only be
        tuned in code.
    """
    name = config_name(task_name)
    if not _SECTION_NAME_RE.match(name):
        raise exception.InvalidPeriodicTask(
            name=repr(task_name), reason="this name cannot be an ini section "
            "(letters, digits, '_', '.' and '-', not only underscores): give "
            "the task one with @periodic_task(name=...) to configure it")
    return task_conf.SECTION_PREFIX + name


def _check_bool(name, option, value):
    if not isinstance(value, bool):
        raise exception.InvalidPeriodicTask(
            name=name, reason="%s must be true or false, not %r"
            % (option, value))


def _check_number(name, option, value, minimum=None):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value)):
        raise exception.InvalidPeriodicTask(
            name=name, reason="%s must be a finite number of seconds, not %r"
            % (option, value))
    if minimum is not None and value < minimum:
        raise exception.InvalidPeriodicTask(
            name=name, reason="%s must be at least %s, not %r"
            % (option, minimum, value))


@dataclasses.dataclass(frozen=True)
class TaskSettings:
    """How one task is scheduled; the decorator's defaults or the ini's.

    ``spacing`` and ``ticks_between_runs`` exclude each other: with
    neither the task runs every tick; ``spacing=0`` also means every tick
    and a negative spacing disables the task.
    """

    spacing: float = None
    ticks_between_runs: int = None
    run_immediately: bool = False
    enabled: bool = True
    timeout: float = 0
    external_process_ok: bool = False
    #: True if the task runs on ticks (no spacing, or spacing 0).
    is_tick_task: bool = dataclasses.field(init=False, compare=False,
                                           repr=False)
    #: Ticks skipped between runs, for a tick task.
    ticks: int = dataclasses.field(init=False, compare=False, repr=False)

    def check(self, name):
        """Raise InvalidPeriodicTask unless every field is sound."""
        if self.spacing is not None and self.ticks_between_runs is not None:
            raise exception.InvalidPeriodicTask(
                name=name, reason="ticks_between_runs and spacing exclude "
                "each other; give one of them")
        if self.spacing is not None:
            _check_number(name, "spacing", self.spacing)
        if self.ticks_between_runs is not None:
            value = self.ticks_between_runs
            if (isinstance(value, bool) or not isinstance(value, int)
                    or value < 0):
                raise exception.InvalidPeriodicTask(
                    name=name, reason="ticks_between_runs must be a whole "
                    "number of ticks, 0 or more, not %r" % (value,))
        _check_number(name, "timeout", self.timeout, minimum=0)
        for option in ("run_immediately", "enabled", "external_process_ok"):
            _check_bool(name, option, getattr(self, option))
        return self

    def replace(self, name, **changes):
        """A checked copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes).check(name)

    def overridden_by(self, name, values):
        """A checked copy with an ini section's ``values`` applied.

        The section wins: its ``spacing`` replaces a declared
        ``ticks_between_runs`` and the other way round; giving both is
        left for ``check`` to refuse.
        """
        changes = dict(values)
        if "spacing" not in changes and "ticks_between_runs" in changes:
            changes["spacing"] = None
        elif "ticks_between_runs" not in changes and "spacing" in changes:
            changes["ticks_between_runs"] = None
        return self.replace(name, **changes)

    def __post_init__(self):
        # Read on every run: plain attributes, not properties.
        object.__setattr__(self, "is_tick_task",
                           self.spacing is None or self.spacing == 0)
        object.__setattr__(self, "ticks", self.ticks_between_runs or 0)

    @property
    def disabled_by_spacing(self):
        return self.spacing is not None and self.spacing < 0
