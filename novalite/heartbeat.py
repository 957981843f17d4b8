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

"""Liveness, as nova's servicegroup DB driver: the heartbeat that keeps a
service up (one more ``report_count`` every ``report_interval``) and
``is_up``, which reads it, side by side.

nova beat from a greenthread, so a task that blocked the event loop
stopped the heartbeat too, and a busy service showed down. By default
(``heartbeat_in_native_thread``) novalite beats from an OS thread with a
database engine of its own; a greenthread beacon notes that the event loop
still runs, and the beat pauses when it has not for ``service_down_time``,
so a service that cannot work shows down instead of up.
"""

import logging
import os
import traceback

from oslo_log import log as oslo_logging

from novalite import concurrency
from novalite import config
from novalite.db import api as db_api
from novalite.db import models
from novalite import loopingcall

LOG = oslo_logging.getLogger(__name__)

#: How many report_intervals a recently beaten row is watched at start-up:
#: a live twin beats within one, whatever its phase.
TWIN_WATCH = 1.2


def last_heartbeat(service):
    """When the service row last beat (its creation if it never did)."""
    return service.updated_at or service.created_at


def is_up(service, service_down_time, now=None):
    """Whether a ``services`` row has beaten within ``service_down_time``.

    The age is taken as an absolute value, as nova does, so that a clock
    step backwards on the database server does not show every service
    down.
    """
    return beat_is_recent(last_heartbeat(service), service_down_time, now)


def beat_is_recent(beat, service_down_time, now=None):
    """``is_up`` for a heartbeat time (None: never)."""
    if beat is None:
        return False
    now = now if now is not None else models.utcnow()
    return abs((now - beat).total_seconds()) <= service_down_time


class Heartbeat:
    """The heartbeat of ``service``, which gives it its row, database,
    clock, configuration and ``event_loop_ran()``."""

    def __init__(self, service):
        self.service = service
        self.model_disconnected = False
        self.hub_seen = None
        self.paused = False
        self.relay = None
        self.own_db = None
        self._native = None

    def refuse_a_live_twin(self):
        """Refuse to start beside another live daemon with this host name.

        A host name is an identity: two daemons with one name double the
        heartbeats, fight over the task statistics and both reconcile the
        same instances. A row that beat recently may be a twin's or the
        last beat of this daemon before a crash; watching it for a little
        longer than one ``report_interval`` tells the two apart, so that a
        restart after ``kill -9`` or a power loss is delayed by about one
        interval and never refused. A daemon that stopped cleanly left a
        note of its last beat (``note_clean_stop``): a restart that finds
        the row still at that beat starts at once.

        :raises ConfigError: if the row's heartbeat advances meanwhile.
        """
        service = self.service
        row = service.db.service_get_by_host_and_binary(service.host,
                                                        service.binary)
        stopped_at_beat = self._take_clean_stop_note()
        if row is None or not is_up(row, service.conf.service_down_time):
            return
        if stopped_at_beat == (row.id, row.report_count):
            LOG.info("%s on %s stopped cleanly at its last beat; starting "
                     "at once", service.binary, service.host)
            return
        watch = service.report_interval * TWIN_WATCH
        LOG.info("%s on %s beat %s ago; watching its row for %g s to tell "
                 "a live twin from a stale row", service.binary,
                 service.host, models.utcnow() - last_heartbeat(row), watch)
        service.clock.wait(concurrency.new_event(), watch)
        again = service.db.service_get(row.id)
        if again is not None and again.report_count != row.report_count:
            raise config.ConfigError(
                "[DEFAULT] host", "%s on %s is already running: its "
                "heartbeat advanced while this one started; give each "
                "daemon its own host name" % (service.binary, service.host))

    def start(self, interval, initial_delay):
        """Start beating; return the timers the service waits on."""
        service = self.service
        if not service.conf.heartbeat_in_native_thread:
            timer = loopingcall.LoopingCall(self.report_state)
            timer.clock = service.clock
            timer.start(interval=interval, initial_delay=initial_delay,
                        stop_on_exception=False)
            return [timer]
        self.hub_seen = service.clock.monotonic()
        beacon = loopingcall.LoopingCall(self.hub_beacon)
        beacon.clock = service.clock
        beacon.start(interval=interval, stop_on_exception=False)
        self.relay = concurrency.LogRelay(LOG)
        self.own_db = db_api.Database(db_api.create_engine(
            service.db.engine.url, own_thread=True))
        self._native = concurrency.NativeTimer(
            self.native_report_state, interval, initial_delay=initial_delay,
            name="novalite-heartbeat")
        return [beacon, self._native.start()]

    def _clean_stop_note_path(self):
        service = self.service
        return os.path.join(service.conf.state_path, "%s-%s.stopped"
                            % (service.binary, service.host))

    def note_clean_stop(self):
        """Once the beats have stopped: note the row's last beat, so that a
        restart need not watch the row for a live twin. A failure here
        costs the next start one watch, nothing else."""
        service = self.service
        try:
            row = service.db.service_get(service.service_id)
            if row is not None:
                with open(self._clean_stop_note_path(), "w") as note:
                    note.write("%d %d\n" % (row.id, row.report_count))
        except Exception as exc:
            LOG.debug("No note of the clean stop: %s", exc)

    def _take_clean_stop_note(self):
        """The ``(row id, report_count)`` noted at a clean stop, or None;
        the note is used once."""
        path = self._clean_stop_note_path()
        try:
            with open(path) as note:
                row_id, count = (int(value) for value in note.read().split())
        except (OSError, ValueError):
            return None
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        return row_id, count

    def close(self):
        """Once the timers are stopped: let the OS thread end and free
        what it held."""
        if self._native is not None:
            if not self._native.join(concurrency.NATIVE_JOIN_SECONDS):
                LOG.warning("The heartbeat thread is still inside a beat; "
                            "leaving it to end with the process")
                return
            self.relay.close()
            self.own_db.dispose()

    def report_state(self):
        """A beat from the event loop. Never raises: a database outage is
        logged once when it starts and once when it ends, and the next
        beat tries again."""
        self.beat(self.service.db, _log_now)
        self.service.event_loop_ran()

    def hub_beacon(self):
        self.hub_seen = self.service.clock.monotonic()
        self.service.event_loop_ran()

    def native_report_state(self):
        """A beat from the OS thread, which logs through the relay."""
        def say(level, message, *args, exc=False):
            self.relay.log(level, message, *args,
                           exc_text=traceback.format_exc() if exc else None)

        service = self.service
        stalled = service.clock.monotonic() - self.hub_seen
        if stalled > service.conf.service_down_time:
            if not self.paused:
                self.paused = True
                say(logging.WARNING, "Event loop stalled for %.0f s; "
                    "heartbeat paused so that %s on %s shows down",
                    stalled, service.binary, service.host)
            return
        if self.paused:
            self.paused = False
            say(logging.WARNING, "Event loop is running again; heartbeat "
                "resumed")
        self.beat(self.own_db, say)

    def beat(self, db, say):
        service = self.service
        try:
            if (service.service_id is None
                    or not db.service_heartbeat(service.service_id)):
                say(logging.WARNING, "The service row of %s on %s is gone; "
                    "recreating it", service.binary, service.host)
                service.service_id = db.service_get_or_create(
                    service.host, service.binary, service.topic).id
                db.service_heartbeat(service.service_id)
        except Exception:
            if not self.model_disconnected:
                self.model_disconnected = True
                say(logging.ERROR, "model server went away", exc=True)
        else:
            if self.model_disconnected:
                self.model_disconnected = False
                say(logging.ERROR, "Recovered model server connection!")


def _log_now(level, message, *args, exc=False):
    LOG.log(level, message, *args, exc_info=exc)
