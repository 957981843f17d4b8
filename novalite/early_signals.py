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

"""Signals from the first statement of a command until the launcher.

A daemon takes a few hundred milliseconds (seconds on a loaded host) to
import, parse its configuration and reach the launcher that serves its
signals. In that window SIGHUP and SIGUSR2 killed it (their default
action): an operator's ``systemctl reload`` or a monitoring script's
SIGUSR2 ended the service. They are held, and the launcher serves them
once the service runs. SIGTERM and SIGINT end the command at once with
status 0, as a stop would: nothing has started yet, so nothing is lost
(without this, SIGINT printed a KeyboardInterrupt traceback and SIGTERM
ended it with -15). Imported before anything else by ``novalite.cmd``.
Plain Python: no eventlet here.
"""

import os
import posix
import signal
import sys

HELD = (signal.SIGHUP, signal.SIGUSR2)
STOPS = (signal.SIGTERM, signal.SIGINT)

_received = []


def _hold(signum, frame):
    if signum not in _received:
        _received.append(signum)


def exit_now(signum, frame=None, when="while starting"):
    """End the process at once with status 0, saying why on stderr.

    Written with ``posix.write``, which monkey patching leaves alone:
    eventlet's green ``os.write`` retries a broken pipe for ever, and a
    daemon whose log reader went away would spin instead of exiting.
    """
    name = signal.Signals(signum).name
    try:
        sys.stderr.flush()
        posix.write(2, ("%s: caught %s %s; exiting\n" % (
            os.path.basename(sys.argv[0]), name, when)).encode())
    except OSError:
        pass
    os._exit(0)


def hold():
    """Remember HUP and USR2 instead of dying of them; exit 0 at once on
    TERM and INT."""
    for signum in HELD:
        signal.signal(signum, _hold)
    for signum in STOPS:
        signal.signal(signum, exit_now)


def release():
    """Give every signal back its default action (for commands that do not
    serve them, like novalite-manage: a hang-up or Ctrl-C should end it as
    usual)."""
    for signum in HELD + (signal.SIGTERM,):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _received.clear()


def take():
    """The signals received while held, once each, in order; forgets them."""
    received = list(_received)
    _received.clear()
    return received
