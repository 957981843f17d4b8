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

"""The Guru Meditation Report (oslo.reports), with the periodic tasks.

SIGUSR2 writes it to stderr: threads, green threads, configuration, and a
table of every periodic task with its schedule and record.
"""

import datetime

from novalite import version

# oslo.reports is imported on the first SIGUSR2 only: most daemons never
# get one, and the import costs start-up time and memory.
_managers = []

_COLUMNS = [
    ("Task", "full_name"), ("Schedule", "schedule"), ("Runs", "runs"),
    ("Failures", "failures"), ("Timeouts", "timeouts"),
    ("Last start (UTC)", "last_start"), ("Last duration s", "last_duration"),
    ("Next due (UTC)", "next_due"), ("Last error", "last_error"),
]


def _when(epoch):
    if epoch is None:
        return "-"
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def task_rows(manager):
    """The manager's task statistics, formatted for people."""
    rows = []
    for row in manager.periodic_task_stats():
        settings = manager.periodic_task_settings(row["name"])
        next_due = (_when(row["next_due"]) if row["next_due"] is not None
                    else "in %s tick(s)" % row["ticks_until_next_run"]
                    if row["ticks_until_next_run"] is not None else "-")
        rows.append({
            "full_name": row["full_name"],
            "schedule": settings.describe(),
            "runs": row["runs"],
            "failures": row["failures"],
            "timeouts": row["timeouts"],
            "last_start": _when(row["last_start"]),
            "last_duration": ("-" if row["last_duration"] is None
                              else "%.3f" % row["last_duration"]),
            "next_due": next_due,
            "last_error": row["last_error"] or "-",
        })
    return rows


def register(manager):
    """Add the manager's periodic-task section to every report."""
    _managers.append(manager)


def write(service_name, log_dir=None):
    """Write a report: to a file in ``log_dir``, or to stderr."""
    from oslo_reports import guru_meditation_report as gmr
    from oslo_reports.models import with_default_views
    from oslo_reports.views.text import generic as text_views

    def section(manager):
        return lambda: with_default_views.ModelWithDefaultViews(
            {"tasks": task_rows(manager)},
            text_view=text_views.TableView(
                [title for title, _ in _COLUMNS],
                [key for _, key in _COLUMNS], "tasks"))

    class Report(gmr.TextGuruMeditation):
        persistent_sections = [("Periodic Tasks", section(manager))
                               for manager in _managers]

    Report.handle_signal(version.VersionInfo, service_name, log_dir, None)
