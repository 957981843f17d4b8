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

PRELUDE = '''
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def emit(**figures):
    print("BENCH " + json.dumps(figures))
'''


def program(*pieces):
    """Join code pieces, each dedented on its own."""
    return "\n".join(textwrap.dedent(piece) for piece in pieces)


def run(code, timeout=300, **params):
    """Run ``code`` with ``params`` as globals; return its emitted dict.

    On failure the dict has one key, ``error``, with stderr's last line.
    """
    header = "".join("%s = %r\n" % item for item in params.items())
    source = PRELUDE + header + code
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    try:
        done = subprocess.run([sys.executable, "-c", source], env=env,
                              capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after %d s" % timeout}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    lines = done.stderr.strip().splitlines() or ["no output"]
    return {"error": lines[-1][:200]}


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


def save_plot(name, draw, size=(9, 4)):
    """Draw on a new matplotlib Axes with ``draw(axes)`` and save it as
    bench/results/<name>.png; say so, or say why not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        print("- no plot: matplotlib is not installed")
        return
    os.makedirs(RESULTS, exist_ok=True)
    figure, axes = pyplot.subplots(figsize=size)
    draw(axes)
    figure.tight_layout()
    figure.savefig(os.path.join(RESULTS, name + ".png"), dpi=100)
    pyplot.close(figure)
    print("- plot: bench/results/%s.png" % name)
