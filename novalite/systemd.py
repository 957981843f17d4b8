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

"""Tell systemd how the service is doing (sd_notify), if it listens.

With ``Type=notify`` systemd sets ``$NOTIFY_SOCKET``; without it every call
here does nothing, so the same code runs in the foreground.
"""

import os
import socket
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def _socket_address():
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return None
    if address.startswith("@"):
        return "\0" + address[1:]  # abstract namespace
    return address


def notify(*states):
    """Send ``states`` (like ``"READY=1"``) to systemd; True if sent."""
    address = _socket_address()
    if address is None:
        return False
    message = "\n".join(states).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message)
        return True
    except OSError as exc:
        LOG.warning("Could not notify systemd at %s: %s",
                    os.environ.get("NOTIFY_SOCKET"), exc)
        return False


def ready(status=None):
    states = ["READY=1"]
    if status:
        states.append("STATUS=" + status)
    return notify(*states)


def reloading():
    # MONOTONIC_USEC lets Type=notify-reload match this to its own signal.
    return notify("RELOADING=1",
                  "MONOTONIC_USEC=%d" % (time.monotonic_ns() // 1000))


def stopping():
    return notify("STOPPING=1")


def watchdog():
    return notify("WATCHDOG=1")


def watchdog_interval():
    """Seconds within which systemd wants WATCHDOG=1, or None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6
    except ValueError:
        LOG.warning("Ignoring WATCHDOG_USEC=%r: not a number", usec)
        return None
