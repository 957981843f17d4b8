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


"""Which concurrency backend this process runs: read once, from the
environment, before anything is imported or monkey-patched.

``NOVALITE_BACKEND=eventlet`` (the default when unset or empty) runs
every daemon on greenthreads under eventlet's monkey patching, as nova did;
``NOVALITE_BACKEND=threading`` runs the same daemon on native threads, and
then eventlet is never imported, not even by a library that would try
(oslo.utils' ``eventletutils`` does, through oslo.messaging). An
environment variable rather than an option because the choice must be
made before the configuration files are read: they are read by code that
the choice has already shaped. nova 34 chooses the same way
(``OS_NOVA_DISABLE_EVENTLET_PATCHING``), as oslo.service's
``init_backend()`` must be called before anything else.

Plain Python: imports nothing but the standard library.
"""

import os
import sys

VARIABLE = "NOVALITE_BACKEND"
EVENTLET = "eventlet"
THREADING = "threading"
BACKENDS = (EVENTLET, THREADING)


class UnknownBackend(ValueError):
    """``NOVALITE_BACKEND`` names no backend."""

    def __init__(self, value):
        super().__init__("%s: unknown backend %r (choose %s)" % (
            VARIABLE, value, " or ".join(BACKENDS)))


def from_environment(environ=None):
    """The backend ``environ`` (``os.environ`` by default) asks for.

    :raises UnknownBackend: for a value that is not a backend's name.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(VARIABLE, "").strip()
    if not value:
        return EVENTLET
    if value not in BACKENDS:
        raise UnknownBackend(value)
    return value


_chosen = []


def chosen():
    """This process's backend: read from the environment at the first
    call, the same ever after (the environment may change; the process
    cannot).

    :raises UnknownBackend: as ``from_environment``.
    """
    if not _chosen:
        _chosen.append(from_environment())
    return _chosen[0]


def keep_eventlet_out():
    """Make ``import eventlet`` fail in this process from now on, so that
    libraries which use it when they find it (oslo.utils, oslo.messaging)
    take their native-thread paths, and nothing green ever runs beside the
    threads. Too late if eventlet is imported already: say so."""
    if sys.modules.get("eventlet") is not None:
        raise RuntimeError("eventlet was imported before novalite chose the "
                           "threading backend")
    sys.modules["eventlet"] = None
