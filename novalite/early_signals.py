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

"""Hold SIGHUP and SIGUSR2 from the first statement of a command.

Their default action ends the process, and a daemon takes a few hundred
milliseconds to import, parse its configuration and reach the launcher
that serves them: an operator's ``systemctl reload`` or a monitoring
script's SIGUSR2 in that window killed it. Imported before anything else
by ``novalite.cmd``; the launcher takes the held signals over and serves
them once the service runs. Plain Python: no eventlet here.
"""

import signal

HELD = (signal.SIGHUP, signal.SIGUSR2)

_received = []


def _hold(signum, frame):
    if signum not in _received:
        _received.append(signum)


def hold():
    """Remember HUP and USR2 instead of dying of them."""
    for signum in HELD:
        signal.signal(signum, _hold)


def release():
    """Give HUP and USR2 back their default action (for commands that do
    not serve them, like novalite-manage: a hang-up should end it)."""
    for signum in HELD:
        signal.signal(signum, signal.SIG_DFL)
    _received.clear()


def take():
    """The signals received while held, once each, in order; forgets them."""
    received = list(_received)
    _received.clear()
    return received
