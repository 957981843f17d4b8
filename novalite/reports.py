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

import functools
import posix
import sys

from oslo_log import log as logging

from novalite import concurrency
from novalite.periodic import render
from novalite import version

LOG = logging.getLogger(__name__)

# oslo.reports is imported on the first SIGUSR2 only: most daemons never
# get one, and the import costs start-up time and memory.
_runners = []

_COLUMNS = [
    ("Task", "full_name"), ("Schedule", "schedule"), ("Runs", "runs"),
    ("Failures", "failures"), ("Timeouts", "timeouts"),
    ("Last start (UTC)", "last_start"), ("Last duration s", "last_duration"),
    ("Next due (UTC)", "next_due"), ("Last error", "last_error"),
]


def task_rows(periodic_runner):
    """The tasks' views, formatted for people."""
    return [{
        "full_name": view.full_name,
        "schedule": view.schedule,
        "runs": view.runs,
        "failures": view.failures,
        "timeouts": view.timeouts,
        "last_start": render.timestamp(view.last_start),
        "last_duration": ("-" if view.last_duration is None
                          else "%.3f" % view.last_duration),
        "next_due": view.next_run_text,
        "last_error": view.last_error or "-",
    } for view in periodic_runner.views()]


def task_table(rows):
    """The Periodic Tasks section: one aligned line per task."""
    return "\n".join(render.table(
        [title for title, _ in _COLUMNS],
        [[str(row[key]) for _, key in _COLUMNS] for row in rows],
        separator=" | ", underline=True)) + "\n"


def register(periodic_runner):
    """Add a service's periodic-task section to every report."""
    _runners.append(periodic_runner)


def write(service_name, log_dir=None):
    """Write a report: to a file in ``log_dir``, or to stderr.

    Never blocks the service: the report is written to stderr from an OS
    thread, and while an earlier report is still stuck there (a pipe that
    nobody reads) a new one is dropped with a warning instead of queued.
    """
    from oslo_reports import guru_meditation_report as gmr
    from oslo_reports.models import with_default_views

    def section(periodic_runner):
        return lambda: with_default_views.ModelWithDefaultViews(
            {"tasks": task_rows(periodic_runner)},
            text_view=lambda model: task_table(model["tasks"]))

    class Report(gmr.TextGuruMeditation):
        persistent_sections = [("Periodic Tasks", section(periodic_runner))
                               for periodic_runner in _runners]

    if log_dir:
        Report.handle_signal(version.VersionInfo, service_name, log_dir, None)
        return
    _STDERR.write(Report(version.VersionInfo).run() + "\n")


class _StderrWriter:
    """Writes one report at a time to stderr from an OS thread."""

    def __init__(self):
        self._busy = False

    def write(self, text):
        if self._busy:
            LOG.warning("Guru Meditation Report dropped: the previous one "
                        "is still being written to stderr (is anything "
                        "reading it?); set log_dir to write reports to "
                        "files")
            return
        self._busy = True
        try:
            concurrency.start_native_thread(
                functools.partial(self._write_all, text.encode()),
                name="novalite-report")
        except Exception:
            self._busy = False
            raise

    def _write_all(self, data):
        try:
            view = memoryview(data)
            while view:
                view = view[posix.write(sys.stderr.fileno(), view):]
        except OSError:
            # stderr is closed or gone: there is nowhere to say so.
            return
        finally:
            self._busy = False


_STDERR = _StderrWriter()
