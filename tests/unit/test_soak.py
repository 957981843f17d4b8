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
"""A million ticks on a fake clock: nothing grows."""

import gc
import logging
import sys

from novalite import manager

TICKS = 1_000_000
TASKS = 50


def make_manager(clock):
    """50 tasks: tick tasks every 1, 11, 21 ... ticks and spacing tasks of
    7, 14, 21 ... s; one of them fails every time it runs."""
    namespace = {}
    for index in range(TASKS):
        if index % 2:
            decorator = manager.periodic_task(
                ticks_between_runs=10 * (index // 2))
        else:
            decorator = manager.periodic_task(spacing=7.0 * (index // 2 + 1))

        def task(self, context, _index=index):
            if _index == 48:
                raise ValueError("always fails")

        task.__name__ = "task%02d" % index
        namespace[task.__name__] = decorator(task)
    return type("Soak", (manager.Manager,), namespace)(host="soak",
                                                       clock=clock)


def run(mgr, clock, ticks):
    # pytest keeps every log record it sees; not logging here keeps its
    # memory out of the measurement.
    logging.disable(logging.CRITICAL)
    try:
        for _ in range(ticks):
            mgr.periodic_tasks(None)
            clock.advance(1.0)
    finally:
        logging.disable(logging.NOTSET)


def test_a_million_ticks_grow_nothing(clock):
    mgr = make_manager(clock)
    run(mgr, clock, 10_000)  # warm-up: every task has run and failed
    views = mgr.periodic_task_views()
    gc.collect()
    blocks = sys.getallocatedblocks()
    run(mgr, clock, TICKS - 10_000)
    gc.collect()
    # A leak of one object per tick (a stale heap entry, say) would be a
    # million blocks.
    assert sys.getallocatedblocks() - blocks < 2_000
    assert len(mgr.periodic_task_views()) == len(views) == TASKS
    by_name = {view.name: view for view in views}
    assert by_name["task01"].runs == TICKS  # ticks_between_runs = 0
    assert by_name["task48"].failures == by_name["task48"].runs > 0
