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

"""Run one measurement in a fresh interpreter and read back its JSON.

Every system gets its own process: eventlet's monkey patching, imports and
allocator state must not leak from one system into the next.
"""

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

PRELUDE = '''
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")

def cpu_seconds():
    # The scheduler's own count, to the nanosecond, summed over threads:
    # getrusage samples at the timer tick on this VM (4 ms), too coarse
    # for a loop that costs 0.1 ms per wake-up.
    try:
        total = 0
        for thread in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/schedstat" % thread) as stat:
                total += int(stat.read().split()[0])
        return total / 1e9
    except OSError:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

def emit(**figures):
    print("BENCH " + json.dumps(figures))
'''


#: First in a program that runs novalite on its threading backend: the
#: backend chosen and the process prepared as ``novalite.cmd`` does it.
THREADING = '''
import os
os.environ["NOVALITE_BACKEND"] = "threading"
from novalite import concurrency
concurrency.monkey_patch()
'''


def program(*pieces):
    """Join code pieces, each dedented on its own."""
    return "\n".join(textwrap.dedent(piece) for piece in pieces)


def start(code, **params):
    """Start ``code`` with ``params`` as globals; see finish()."""
    header = "".join("%s = %r\n" % item for item in params.items())
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + header + code],
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, timeout):
    """The dict the program emitted; on failure one key, ``error``, with
    the last line of its stderr."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": "timed out after %d s" % timeout}
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    lines = stderr.strip().splitlines() or ["no output"]
    return {"error": lines[-1][:200]}


def run(code, timeout=300, **params):
    """Run ``code`` with ``params`` as globals; return its emitted dict."""
    return finish(start(code, **params), timeout)


def run_together(programs, timeout=300, **params):
    """Run every program of ``{name: code}`` at the same time."""
    started = {name: start(code, **params) for name, code in programs.items()}
    deadline = time.monotonic() + timeout
    return {name: finish(process, max(deadline - time.monotonic(), 1))
            for name, process in started.items()}


def median_of(runs, key):
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def ratio(ours, theirs):
    if ours is None or theirs in (None, 0):
        return None
    return ours / theirs


def table(headers, rows):
    """A GitHub-markdown table; floats get three significant digits."""
    def cell(value):
        if value is None:
            return "n/a"
        if isinstance(value, float):
            return "%.3g" % value
        return str(value)
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


RESULTS = os.path.join(os.path.dirname(__file__), "results")


def fmt(value):
    return "n/a" if value is None else "%.3g" % value


def verdict(value, limit):
    """'met' or 'MISSED' for a figure that must be at most ``limit``."""
    if value is None:
        return "not measured"
    return "met" if value <= limit else "MISSED"


class Report:
    """One scenario's section of bench/results/latest.md.

    Lines are printed as they come, so a long run shows its progress, and
    kept, so that ``python -m bench`` can write them all to one file.
    """

    def __init__(self, title):
        self.lines = []
        self.add("## " + title, "")

    def add(self, *lines):
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)

    def table(self, headers, rows):
        self.add(table(headers, rows), "")

    def plot(self, name, draw, size=(9, 4), caption="plot"):
        """Draw with ``draw(figure)`` and save bench/results/<name>.png."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            from matplotlib import pyplot
        except ImportError:
            self.add("(no plot: matplotlib is not installed)", "")
            return
        os.makedirs(RESULTS, exist_ok=True)
        figure = pyplot.figure(figsize=size)
        draw(figure)
        figure.tight_layout()
        figure.savefig(os.path.join(RESULTS, name + ".png"), dpi=100)
        pyplot.close(figure)
        self.add("![%s](%s.png)" % (caption, name), "")

    def text(self):
        return "\n".join(self.lines) + "\n"
