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

"""python -m bench: every scenario, novalite beside its peers, one run.

  python -m bench              the scenarios below (about 20 minutes);
                               writes bench/results/latest.md and the plots
  python -m bench NAME ...     only those, printed (latest.md is kept)
  python -m bench soak         the ten-minute soak (not in the default run)
  python -m bench fleet        the fleet, about 20 minutes (not in the
                               default run); writes bench/results/fleet.md
"""

import datetime
import importlib
import os
import platform
import sys
from importlib import metadata

from bench import harness

SCENARIOS = ("timers", "profile_tick", "dispatch", "daemon", "fanin",
             "overhead", "herd", "rpc", "boots")
OPTIONAL = ("soak", "fleet")
#: Optional scenarios whose report is kept in bench/results/<name>.md.
KEPT = ("fleet",)
PACKAGES = ("eventlet", "oslo.service", "futurist", "APScheduler",
            "SQLAlchemy", "pg8000", "oslo.messaging")


def _versions():
    found = []
    for name in PACKAGES:
        try:
            found.append("%s %s" % (name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append("%s (not installed)" % name)
    return ", ".join(found)


def _header(reports):
    """Where and when, then every target's verdict, then the sections."""
    verdicts = [line for report in reports for line in report.lines
                if line.startswith("- ") and "target" in line]
    return [
        "# novalite benchmarks: latest full run", "",
        "Written by `python -m bench` (also `tox -e bench`) on %s: %s, %d "
        "CPUs, Python %s; %s. Each system runs in its own interpreter, "
        "in the same run on the same machine; ratios are novalite's "
        "figure over the peer's (below 1 is better for novalite). How to "
        "read the figures, and why a missed target is missed: "
        "[bench/README.md](../README.md)."
        % (datetime.datetime.now(datetime.timezone.utc)
           .strftime("%Y-%m-%d %H:%M UTC"), platform.node(),
           os.cpu_count(), platform.python_version(), _versions()),
        "", "## Targets", ""] + verdicts + [""]


def main(argv):
    unknown = [name for name in argv if name not in SCENARIOS + OPTIONAL]
    if unknown:
        sys.exit("unknown scenario %s; choose from %s"
                 % (", ".join(unknown), ", ".join(SCENARIOS + OPTIONAL)))
    reports = [importlib.import_module("bench." + name).main()
               for name in argv or SCENARIOS]
    if argv:
        for name, report in zip(argv, reports, strict=True):
            if name in KEPT:
                _write(name, report.text())
        return
    _write("latest", "\n".join(_header(reports)) + "\n" + "".join(
        report.text() for report in reports))


def _write(name, text):
    os.makedirs(harness.RESULTS, exist_ok=True)
    path = os.path.join(harness.RESULTS, name + ".md")
    with open(path, "w") as handle:
        handle.write(text)
    print("written: %s" % os.path.relpath(path))


if __name__ == "__main__":
    main(sys.argv[1:])
