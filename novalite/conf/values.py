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

"""Value types and limits shared by the option modules.

Every number an option takes has a range said in its help; a host name is
what nova and DNS allow. Declarations only: this module, like the rest of
``novalite.conf``, imports no other novalite code.
"""

import re
import socket
import string

from oslo_config import types

#: The largest interval, spacing or timeout, in seconds: a year.
ONE_YEAR = 365 * 24 * 3600
#: The largest ``periodic_fuzzy_delay``, in seconds: a day.
ONE_DAY = 24 * 3600
#: The largest ``ticks_between_runs``.
MAX_TICKS = 1000000

#: The length of the ``host`` columns of the database (String(255)).
MAX_HOST_LENGTH = 255
MAX_LABEL_LENGTH = 63
_HOST_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.")


def check_host_name(name):
    """Return ``name`` if it is a host name; raise ValueError saying why not.

    Letters, digits, '-', '_' and '.', dot-separated labels of 1 to 63
    characters, at most 255 in all: what nova and DNS allow, what the
    ``services.host`` column holds, and nothing a log line or a terminal
    would take for something else (unlike oslo.config's HostDomain, which
    lets a newline through at the end of a label and takes IPv6
    addresses).
    """
    if not isinstance(name, str):
        raise ValueError("a host name is text, not %s" % type(name).__name__)
    if not name:
        raise ValueError("a host name cannot be empty")
    if len(name) > MAX_HOST_LENGTH:
        raise ValueError("a host name has at most %d characters, not %d"
                         % (MAX_HOST_LENGTH, len(name)))
    bad = sorted(set(name) - _HOST_CHARACTERS)
    if bad:
        raise ValueError(
            "a host name has only letters, digits, '-', '_' and '.', not %s"
            % ", ".join(repr(char) for char in bad[:5]))
    for label in name.split("."):
        if not label:
            raise ValueError("a host name has no empty label (no leading, "
                             "trailing or double '.')")
        if len(label) > MAX_LABEL_LENGTH:
            raise ValueError("a label of a host name has at most %d "
                             "characters, not %d"
                             % (MAX_LABEL_LENGTH, len(label)))
    return name


class HostName(types.String):
    """The type of an option that names a host (see check_host_name)."""

    def __init__(self, type_name="host name value"):
        super().__init__(type_name=type_name)

    def __call__(self, value):
        return check_host_name(super().__call__(value))

    def __repr__(self):
        return "HostName"


def this_host():
    """This machine's hostname, or None if it is no valid host name (then
    the start-up check asks for ``host``, instead of oslo.config refusing
    the default at import with a traceback)."""
    name = socket.gethostname()
    try:
        return check_host_name(name)
    except ValueError:
        return None


class _Matching(types.String):
    """A string option whose value must match ``PATTERN``; otherwise
    ``PROBLEM % value`` says what it should be."""

    PATTERN = None
    PROBLEM = None
    TYPE_NAME = None

    def __init__(self, type_name=None):
        super().__init__(type_name=type_name or self.TYPE_NAME)

    def __call__(self, value):
        value = super().__call__(value)
        if not self.PATTERN.match(value):
            raise ValueError(self.PROBLEM % (value,))
        return value

    def __repr__(self):
        return type(self).__name__


class VersionCap(_Matching):
    """``auto`` or a version MAJOR.MINOR, as ``[upgrade_levels]`` takes."""

    PATTERN = re.compile(r"(auto|\d{1,4}\.\d{1,4})\Z")
    PROBLEM = "expected 'auto' or a version such as 1.0, not %r"
    TYPE_NAME = "version cap value"


class TopicName(_Matching):
    """A message bus topic: 1 to 200 letters, digits, '-' or '_' (it names
    queues and exchanges, and is joined to host names with '.')."""

    PATTERN = re.compile(r"[A-Za-z0-9_-]{1,200}\Z")
    PROBLEM = "a topic has 1 to 200 letters, digits, '-' or '_', not %r"
    TYPE_NAME = "topic value"
