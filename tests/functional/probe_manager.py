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

"""A manager for functional tests: quick tasks that say when they run."""

import os
import socket
import time

from oslo_log import log as logging

from novalite.concurrency import os_threads
from novalite import manager
from novalite import rpc

LOG = logging.getLogger(__name__)


class ProbeManager(manager.SchedulerDependentManager):
    """Tasks with short spacings, and one that works while a file exists."""

    @manager.periodic_task(spacing=0.2)
    def fast(self, context):
        LOG.info("probe fast ran")

    @manager.periodic_task(spacing=0.5)
    def slow(self, context):
        LOG.info("probe slow ran")

    @manager.periodic_task(ticks_between_runs=1)
    def counted(self, context):
        LOG.info("probe counted ran")

    def _take_marker(self, name):
        """The text of ``$state_path/<name>``, removing it; None if absent.

        Tests drop these files to make a task misbehave once.
        """
        marker = os.path.join(os.path.expanduser(self.conf.state_path), name)
        if not os.path.exists(marker):
            return None
        with open(marker) as text:
            content = text.read().strip()
        os.unlink(marker)
        return content

    @manager.periodic_task(spacing=0.1)
    def _busy(self, context):
        """Works for 1 s whenever ``$state_path/busy`` exists."""
        if self._take_marker("busy") is not None:
            LOG.info("probe busy started")
            time.sleep(1.0)
            LOG.info("probe busy finished")

    @manager.periodic_task(spacing=0.1)
    def _blocks_hub(self, context):
        """Blocks every greenthread, as a C call that never yields would,
        when ``$state_path/block_hub`` exists: for as many seconds as the
        file says, 3 if it is empty. (On native threads it blocks only the
        periodic runner's thread.)"""
        seconds = self._take_marker("block_hub")
        if seconds is not None:
            duration = float(seconds or 3)
            LOG.info("probe hub block started")
            os_threads.original("time").sleep(duration)
            LOG.info("probe hub block finished")

    @manager.periodic_task(spacing=0.1)
    def _hangs_on_socket(self, context):
        """Waits forever on a socket when ``$state_path/hang`` exists."""
        if self._take_marker("hang") is not None:
            LOG.info("probe hang started")
            quiet, _ = socket.socketpair()
            quiet.recv(1)
            LOG.info("probe hang ended")

    def reset(self):
        LOG.info("probe reset")

    @rpc.expose
    def slow_echo(self, context, value, seconds):
        """Answers ``value`` after ``seconds``: a call in flight."""
        LOG.info("probe slow_echo started")
        time.sleep(seconds)
        LOG.info("probe slow_echo finished")
        return value
