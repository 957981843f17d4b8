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

"""The one rendering of a task's schedule and of a point in time.

The start-up log, ``novalite-manage task list`` (through the schedule text
the service saves) and the Guru Meditation report all say a schedule the
same way, and all show times as UTC.
"""

import datetime


def schedule(settings, tick_seconds=None):
    """A short human summary of ``settings``.

    :param tick_seconds: the length of a tick, when known: a tick task's
        period is then also given in seconds.
    """
    if settings.disabled_by_spacing:
        return "disabled (negative spacing)"
    if not settings.enabled:
        return "disabled"
    if settings.is_tick_task:
        what = "every tick" if not settings.ticks else (
            "every %d ticks" % (settings.ticks + 1))
        if tick_seconds:
            what += " (%g s)" % ((settings.ticks + 1) * tick_seconds)
    else:
        what = "every %g s" % settings.spacing
    if settings.timeout:
        what += ", timeout %g s" % settings.timeout
    if settings.run_immediately:
        what += ", runs at the first pass"
    return what


def utc(epoch):
    """Wall-clock seconds since the epoch as a naive UTC datetime, the
    form the database columns hold; None stays None."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).replace(tzinfo=None)


def timestamp(when):
    """A naive UTC datetime as people read it; '-' for None."""
    if when is None:
        return "-"
    return when.strftime("%Y-%m-%d %H:%M:%S")


def table(headers, rows, separator="  ", underline=False):
    """``headers`` and ``rows`` (lists of str) as lines of aligned
    columns, each as wide as its widest cell, the header underlined if
    asked: for people, in novalite-manage and in the Guru Meditation
    report."""
    widths = [max([len(header)] + [len(row[i]) for row in rows])
              for i, header in enumerate(headers)]

    def line(cells):
        return separator.join(cell.ljust(width) for cell, width in
                              zip(cells, widths, strict=True)).rstrip()

    rule = separator.replace(" ", "-").replace("|", "+").join(
        "-" * width for width in widths)
    return ([line(headers)] + ([rule] if underline else [])
            + [line(row) for row in rows])
