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


"""The concurrency seam: the one place the service meets a concurrency
library.

The service, the manager, the periodic runner and the looping calls never
sleep, spawn, wait or arm a deadline themselves; they ask this module,
which hands them the backend ``NOVALITE_BACKEND`` chose
(``novalite.backend``): greenthreads under eventlet (``green``, the
default) or native threads (``native``). Both give the same names with the
same meaning; where a thread cannot do what a greenthread does, ``native``
says how it keeps the promise instead. OS threads that both use (the
heartbeat's timer, keyed locks) are in ``os_threads``. Unit tests hand the
clock users a fake clock with the same methods, so they can drive hours of
schedule in microseconds.
"""

import importlib

from novalite import backend
from novalite.concurrency import os_threads

#: ``eventlet`` or ``threading``.
BACKEND = backend.chosen()
_backend = importlib.import_module(
    "novalite.concurrency." + ("green" if BACKEND == backend.EVENTLET
                               else "native"))

#: The real clock: ``monotonic()``, ``time()``, ``wait(event, timeout)``,
#: ``call_within(seconds, expired, function, *args)``.
CLOCK = _backend.Clock()
Killed = _backend.Killed
RPC_EXECUTOR = _backend.RPC_EXECUTOR
DEADLINES_INTERRUPT = _backend.DEADLINES_INTERRUPT
LogRelay = _backend.LogRelay
new_event = _backend.new_event
spawn = _backend.spawn
wait_at_most = _backend.wait_at_most
wait_readable = _backend.wait_readable
monkey_patch = _backend.monkey_patch
cooperative_yield = _backend.cooperative_yield

NATIVE_CLOCK = os_threads.NATIVE_CLOCK
NATIVE_JOIN_SECONDS = os_threads.NATIVE_JOIN_SECONDS
NativeClock = os_threads.NativeClock
NativeTimer = os_threads.NativeTimer
KeyedLocks = os_threads.KeyedLocks
new_native_event = os_threads.new_native_event
start_native_thread = os_threads.start_native_thread
