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

"""The message bus (issue 12): novalite's RPC beside bare oslo.messaging.

One run on the local RabbitMQ, in an exchange and topics of its own (a
fresh suffix each run), whose queues and exchanges are deleted at the end:

  casts, calls  a bare oslo.messaging RPC server (a counting endpoint, the
                eventlet executor, in a monkey-patched process) and a
                novalite-compute daemon, each driven by a client in its own
                monkey-patched interpreter, rounds interleaved: casts per
                second until the server has handled the last one, and the
                round trip of a call (median, p99)
  fan-out       50 simulated hosts publish their capabilities every second
                through SchedulerAPI to two novalite-scheduler daemons:
                publications lost, age at the scheduler
  timer         the periodic timer of a novalite-compute ticking every
                DRIFT_TICK s, idle, while its RPC server gets PACED_RATE
                casts/s (the target) and while it gets casts flat out (the
                event loop's floor), beside a bare eventlet timer in the
                bare server under the same loads
  broker        connections and queues per service (rabbitmqctl)

The daemons run their command's own main() after hooks that only count
and note times (_HOOKED_DAEMON). Skipped, with the reason, when the broker
does not answer.

Usage: python -m bench rpc   (environment: BENCH_RPC_ROUNDS (5),
BENCH_RPC_CASTS (5000), BENCH_RPC_CALLS (500), BENCH_RPC_HOSTS (50),
BENCH_RPC_FANOUT_SECONDS (20), BENCH_RPC_DRIFT_SECONDS (20),
BENCH_RPC_PACED_RATE (100), BENCH_RPC_URL (one RabbitMQ, rabbit://guest:guest@127.0.0.1:5672/))
"""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import amqp

from bench import daemon
from bench import harness
from bench import timers

URL = os.environ.get("BENCH_RPC_URL", "rabbit://guest:guest@127.0.0.1:5672/")
_PARSED = urllib.parse.urlsplit(URL)
#: The same broker for the amqp library: the probe and the clean-up.
BROKER = {"host": "%s:%s" % (_PARSED.hostname, _PARSED.port or 5672),
          "userid": urllib.parse.unquote(_PARSED.username or "guest"),
          "password": urllib.parse.unquote(_PARSED.password or "guest"),
          "virtual_host": urllib.parse.unquote(_PARSED.path[1:]) or "/"}
ROUNDS = int(os.environ.get("BENCH_RPC_ROUNDS", "5"))
CASTS = int(os.environ.get("BENCH_RPC_CASTS", "5000"))
CALLS = int(os.environ.get("BENCH_RPC_CALLS", "500"))
STOP_CASTS = 1000
WARMUP = 100
HOSTS = int(os.environ.get("BENCH_RPC_HOSTS", "50"))
SCHEDULERS = 2
TICK = 1.0
FANOUT_SECONDS = float(os.environ.get("BENCH_RPC_FANOUT_SECONDS", "20"))
DRIFT_TICK = 0.25
DRIFT_SECONDS = float(os.environ.get("BENCH_RPC_DRIFT_SECONDS", "20"))
#: Casts a second of the paced load: a fixed number, not a fraction of
#: what the server can take, so that the target holds a compute to the
#: same load on any machine. A compute in a fleet gets a few casts a
#: second; 100 is well above that and below a tenth of what either
#: server handles flat out here (about 1,100 a second).
PACED_RATE = float(os.environ.get("BENCH_RPC_PACED_RATE", "100"))
CAST_BATCH = 500
READY_SECONDS = 60
#: The longest a bare server lives, whatever happens to this process.
SERVER_MAX_SECONDS = 1800
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CAST_TARGET = 0.8
CALL_TARGET = 1.25
#: How much later than idle a paced server's timer may tick (p99), in ms.
SLOWER_MS = 5.0
#: At saturation: the most novalite's p99 lateness may be, over the bare
#: eventlet timer's in its own saturated server.
FLOOR_TARGET = 2.0
#: The windows of the timer table, for each timer: key, label. "other" is
#: the other server's flat-out window, while this timer's server idles.
DRIFT_WINDOWS = (("idle", "idle"), ("paced", "its RPC server paced"),
                 ("flat out", "its RPC server flat out"),
                 ("other", "the other server flat out"))

# ----------------------------------------------------------------------------
# The programs. Every one runs in its own interpreter, monkey-patched as
# novalite's daemons are (eventlet, green DNS off).

_BARE_SERVER = '''
import json, os, signal, socket, sys, time
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
import eventlet
eventlet.monkey_patch()
import warnings
warnings.simplefilter("ignore")
from oslo_config import cfg
import oslo_messaging

oslo_messaging.set_transport_defaults(EXCHANGE)
conf = cfg.CONF  # oslo.messaging registers its tracing options there only
conf([])
transport = oslo_messaging.get_rpc_transport(conf, url=URL)
BOOTED = time.time()


class Endpoint:
    """Trivial: a cast that counts, a call that answers."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self):
        self.handled = 0

    def work(self, ctxt, arg):
        self.handled += 1

    def ping(self, ctxt, arg):
        return {"host": HOST, "arg": arg, "handled": self.handled}

    def uptime(self, ctxt):
        return {"host": HOST, "booted_at": "1970-01-01T00:00:00Z",
                "uptime_s": time.time() - BOOTED}


server = oslo_messaging.get_rpc_server(
    transport, oslo_messaging.Target(topic=TOPIC, server=HOST),
    [Endpoint()], executor="eventlet")
server.start()
ticks = []


def timer():
    """A drift-free greenthread timer on a grid of TICK s, which skips the
    slots already past, as novalite's: the reference for the lateness an
    eventlet RPC server causes."""
    start = time.monotonic()
    slot = 0
    while True:
        eventlet.sleep(max(start + slot * TICK - time.monotonic(), 0))
        ticks.append(time.monotonic())
        slot = max(slot + 1, int((time.monotonic() - start) // TICK) + 1)


timer_thread = eventlet.spawn(timer)
stopping = []
signal.signal(signal.SIGTERM, lambda *args: stopping.append(1))
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
notify.close()
deadline = time.monotonic() + MAX_SECONDS
while not stopping and time.monotonic() < deadline:
    eventlet.sleep(0.2)
timer_thread.kill()
server.stop()
server.wait()
transport.cleanup()
with open(RESULTS, "w") as handle:
    json.dump({"ticks": ticks}, handle)
'''

# novalite's own main() of the command, after hooks that only record or
# count: the time of every periodic tick (Manager.periodic_tasks is what
# the service's timer calls at a tick); every capabilities publication a
# scheduler's HostManager takes from the bus; and, for the casts, how many
# BaseRPCAPI.ping (other than the client's "sync" ones) and
# ComputeManager.stop_instance the server has handled, which the "sync"
# ping answers as "handled", as the bare endpoint does. Written to RESULTS
# when main() returns.
_HOOKED_DAEMON = '''
import functools, json, sys, threading, time
sys.argv = [BINARY, "--config-file", INI]
import novalite.cmd  # holds early signals, monkey-patches: as the command
from novalite import baserpc, manager
from novalite.compute import manager as compute_manager
from novalite.scheduler import host_manager

ticks = []
received = []
handled = [0]
counting = threading.Lock()  # casts are handled by threads on threading


def count_one():
    with counting:
        handled[0] += 1
_periodic_tasks = manager.Manager.periodic_tasks
_update = host_manager.HostManager.update_service_capabilities
_ping = baserpc.BaseRPCAPI.ping
_stop_instance = compute_manager.ComputeManager.stop_instance


def periodic_tasks(self, context, raise_on_error=False):
    ticks.append(time.monotonic())
    return _periodic_tasks(self, context, raise_on_error)


def update_service_capabilities(self, service_name, host, capabilities,
                                timestamp=None, source="the bus"):
    if timestamp is None and "bench_seq" in capabilities:
        received.append((host, capabilities["bench_seq"],
                         time.time() - capabilities["bench_sent"]))
    return _update(self, service_name, host, capabilities, timestamp, source)


@functools.wraps(_ping)
def ping(self, context, arg):
    if arg == "sync":
        return dict(_ping(self, context, arg), handled=handled[0])
    count_one()
    return _ping(self, context, arg)


@functools.wraps(_stop_instance)
def stop_instance(self, context, uuid):
    try:
        return _stop_instance(self, context, uuid)
    finally:
        count_one()


manager.Manager.periodic_tasks = periodic_tasks
host_manager.HostManager.update_service_capabilities = (
    update_service_capabilities)
baserpc.BaseRPCAPI.ping = ping
compute_manager.ComputeManager.stop_instance = stop_instance
from novalite.cmd import %s as command
status = command.main()
with open(RESULTS, "w") as handle:
    json.dump({"ticks": ticks, "received": received}, handle)
sys.exit(status)
'''

_BARE_CLIENT = '''
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
import eventlet
eventlet.monkey_patch()
from oslo_config import cfg
import oslo_messaging

oslo_messaging.set_transport_defaults(EXCHANGE)
conf = cfg.CONF  # oslo.messaging registers its tracing options there only
conf([])
transport = oslo_messaging.get_rpc_transport(conf, url=URL)
client = oslo_messaging.get_rpc_client(
    transport, oslo_messaging.Target(topic=TOPIC, server=HOST,
                                     version="1.0"))
ctxt = {}


def cast(index):
    client.cast(ctxt, "work", arg=index)


def sync():
    """The casts the server has handled so far."""
    return client.call(ctxt, "ping", arg="sync")["handled"]


def call():
    return client.call(ctxt, "uptime")
'''

_NOVALITE_CLIENT = '''
from novalite import monkey_patch  # noqa: as novalite's commands
from novalite import baserpc, config, context, rpc
from novalite.compute import rpcapi

config.parse_args(["novalite-bench-client", "--config-file", INI],
                  default_config_files=[])
conf = config.CONF
transport = rpc.get_transport(conf)
compute = rpcapi.ComputeAPI(conf, None, transport)
base = baserpc.BaseAPI(conf, "compute_topic", transport)
ctxt = context.get_admin_context()


def cast(index):
    # VersionedClient.cast, as ComputeAPI's casts; BaseRPCAPI.ping serves it
    base.cast(ctxt, "ping", "1.0", server=HOST, arg=index)


def sync():
    """The casts the server has handled so far (counted by a hook)."""
    return base.ping(ctxt, HOST, arg="sync")["handled"]


def call():
    return compute.get_host_uptime(ctxt, HOST)


def stop_instance(index):
    compute.stop_instance(ctxt, HOST, "00000000-0000-0000-0000-%012d" % index)
'''

# How many casts the server has handled is asked with calls ("sync"), in a
# loop: the executor does not keep the order of the messages (a call can
# be answered while up to 63 casts before it wait in its queue).
_WAIT = '''
def quiet():
    """The count once it stops moving: nothing of ours is left."""
    last = sync()
    while True:
        time.sleep(0.05)
        now = sync()
        if now == last:
            return now
        last = now


def wait_handled(count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = sync()
        if now >= count:
            return now
    raise RuntimeError("the server handled %d casts of %d" % (now, count))
'''

_MEASURE = _WAIT + '''
for index in range(WARMUP):
    call()
    cast(index)
before = quiet()
started = time.perf_counter()
for index in range(CASTS):
    cast(index)
sent_seconds = time.perf_counter() - started
after = wait_handled(before + CASTS)
cast_seconds = time.perf_counter() - started
rtts = []
for _ in range(CALLS):
    started = time.perf_counter()
    call()
    rtts.append(time.perf_counter() - started)
rtts.sort()
figures = {}
if MODE == "novalite" and STOP_CASTS:
    stop_before = quiet()
    started = time.perf_counter()
    for index in range(STOP_CASTS):
        stop_instance(index)
    wait_handled(stop_before + STOP_CASTS)
    figures["stop_instance_per_s"] = STOP_CASTS / (
        time.perf_counter() - started)
reply_queue = transport._driver._reply_q
transport.cleanup()
emit(casts_per_s=CASTS / cast_seconds, sent_per_s=CASTS / sent_seconds,
     handled=after - before,
     rtt_median_ms=statistics.median(rtts) * 1e3,
     rtt_p99_ms=rtts[int(len(rtts) * 0.99) - 1] * 1e3,
     reply_queue=reply_queue, **figures)
'''

# Casts for SECONDS, in one of two ways. Paced (RATE casts/s): each cast at
# its slot on a grid of 1/RATE s, the client sleeping until the slot (a
# send that starts more than a slot late counts as late), then calls until
# the server has handled them all. Flat out (RATE 0): CAST_BATCH at a time,
# each batch followed by calls until the server has handled it: the server
# is never idle and its queue never grows without bound.
_BUSY = _WAIT + '''
casts = 0
late = []
cast(0)  # what a first cast costs the client is not the pace
total = quiet()
started_at = time.monotonic()
if RATE:
    for index in range(int(SECONDS * RATE)):
        slot = started_at + index / RATE
        wait = slot - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        late.append(time.monotonic() - slot)
        cast(index)
    casts = len(late)
    total = wait_handled(total + casts)
else:
    while time.monotonic() - started_at < SECONDS:
        for index in range(CAST_BATCH):
            cast(index)
        casts += CAST_BATCH
        total = wait_handled(total + CAST_BATCH)
ended_at = time.monotonic()
late.sort()
reply_queue = transport._driver._reply_q
transport.cleanup()
emit(casts=casts, started_at=started_at, ended_at=ended_at,
     late_sends=sum(1 for value in late if value > 1 / RATE) if RATE else 0,
     p99_send_late_ms=late[int(len(late) * 0.99) - 1] * 1e3 if late
     else None, reply_queue=reply_queue)
'''

# HOSTS simulated computes, each publishing through a SchedulerAPI of its
# own (a database record, then the fanout cast) every TICK s at its own
# phase, as a compute's timer does; one process and one transport for all.
_PUBLISHER = '''
from novalite import monkey_patch  # noqa
from novalite import config, context, rpc, service
from novalite.db import api as db_api
from novalite.db import migration
from novalite.scheduler import rpcapi
from novalite.virt import driver as virt_driver

config.parse_args(["novalite-bench-publisher", "--config-file", INI],
                  default_config_files=[])
conf = config.CONF
db = db_api.Database.from_conf(conf)
migration.prepare(db.engine)
transport = rpc.get_transport(conf)
stats = virt_driver.load_compute_driver(conf.compute_driver,
                                        conf).get_host_stats(refresh=True)
apis = {host: rpcapi.SchedulerAPI(conf, db, transport) for host in HOSTS}
ctxt = context.get_admin_context()
schedule = sorted((service.host_phase(host, "novalite-compute") * TICK, host)
                  for host in HOSTS)
late = []
published = 0
start = time.monotonic() + 0.5
for round_ in range(ROUNDS):
    for offset, host in schedule:
        slot = start + round_ * TICK + offset
        wait = slot - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        capabilities = dict(stats, hypervisor_hostname=host,
                            bench_seq=round_, bench_sent=time.time())
        apis[host].update_service_capabilities(ctxt, SERVICE, host,
                                               capabilities)
        late.append(time.monotonic() - slot)
        published += 1
failing = sorted(host for host, api in apis.items()
                 if api._not_sent is not None)
transport.cleanup()
late.sort()
emit(published=published, failing=failing,
     p99_publish_late_ms=late[int(len(late) * 0.99) - 1] * 1e3)
'''


# ----------------------------------------------------------------------------
# Processes

def _die_with_parent():
    """In the child: SIGTERM when the benchmark dies, whatever kills it."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Daemon(daemon.Running):
    """A service of this run in its own interpreter: READY=1 on a notify
    socket, its output to a log file; stop() is daemon.Running's (SIGTERM,
    killed after 30 s)."""

    def __init__(self, name, workdir, argv=None, code=None, ini=None,
                 env=None, **params):
        self.name = name
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.ini = os.path.join(workdir, "service.conf")
        if ini is not None:
            with open(self.ini, "w") as handle:
                handle.write(ini)
        self.results = os.path.join(workdir, "results.json")
        self.log_path = os.path.join(workdir, "output.log")
        self.socket_path = os.path.join(workdir, "notify.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.listener.bind(self.socket_path)
        self.listener.settimeout(0.2)
        if code is not None:
            params.update(INI=self.ini, RESULTS=self.results)
            header = "".join("%s = %r\n" % item for item in params.items())
            argv = [sys.executable, "-c", header + code]
        else:
            argv = list(argv) + ["--config-file", self.ini]
        env = dict(os.environ, NOTIFY_SOCKET=self.socket_path,
                   PYTHONPATH=REPO, PYTHONWARNINGS="ignore", **(env or {}))
        with open(self.log_path, "w") as log:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                argv, env=env, cwd=REPO, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def wait_ready(self, timeout=READY_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s exited with status %s before READY=1:"
                                   " %s" % (self.name,
                                            self.process.returncode,
                                            self.last_line()))
            try:
                if b"READY=1" in self.listener.recv(4096):
                    return time.monotonic() - self.started
            except socket.timeout:
                pass
        raise RuntimeError("%s not ready after %d s" % (self.name, timeout))

    def last_line(self):
        with open(self.log_path, errors="replace") as log:
            lines = log.read().strip().splitlines() or ["no output"]
        return lines[-1][:200]

    def log_count(self, text):
        with open(self.log_path, errors="replace") as log:
            return log.read().count(text)

    def read_results(self):
        with open(self.results) as handle:
            return json.load(handle)

    def stop(self):
        if self.process.poll() is None:
            return super().stop()
        self.listener.close()
        return 0.0


def _novalite_ini(names, workdir, host, **options):
    """A novalite configuration file on this run's broker, exchange and
    topics, with its own SQLite database under ``workdir``."""
    values = {"transport_url": URL, "control_exchange": names["exchange"],
              "compute_topic": names["compute"],
              "scheduler_topic": names["scheduler"],
              "state_path": os.path.join(workdir, "state"),
              "periodic_fuzzy_delay": 0, "graceful_shutdown_timeout": 5,
              "rpc_probe_timeout": 5}
    if host:
        values["host"] = host
    values.update(options)
    return "[DEFAULT]\n" + "".join("%s = %s\n" % item
                                   for item in values.items())


def _client(mode, code, names, timeout, ini=None, **params):
    """Run one client program; its figures."""
    common = {"EXCHANGE": names["exchange"], "URL": URL, "MODE": mode}
    if mode == "bare":
        common.update(TOPIC=names["bare"], HOST=names["bare_host"])
        prelude = _BARE_CLIENT
    else:
        common.update(INI=ini, HOST=names[
            "threading_host" if mode == THREADING else "compute_host"])
        prelude = _NOVALITE_CLIENT
    result = harness.run("import statistics\n" + prelude + code,
                         timeout=timeout, **common, **params)
    if result.get("reply_queue"):
        names["reply_queues"].add(result["reply_queue"])
    return result


# ----------------------------------------------------------------------------
# The broker

def _broker_problem():
    """None if the broker answers, else why not."""
    connection = amqp.Connection(connect_timeout=3, **BROKER)
    try:
        connection.connect()
    except Exception as exc:  # refused, timed out, refused credentials
        return "%s: %s" % (type(exc).__name__, exc or "no answer")
    finally:
        with contextlib.suppress(Exception):
            connection.collect()
    return None


def _rabbitmqctl(*args):
    """The rows of a rabbitmqctl listing, or None without rabbitmqctl."""
    if shutil.which("rabbitmqctl") is None:
        return None
    try:
        output = subprocess.run(
            ["rabbitmqctl", "-q", "--formatter", "json"] + list(args),
            capture_output=True, text=True, timeout=60, check=True).stdout
        return json.loads(output or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _connection_pid(properties):
    """The OS pid in oslo.messaging's connection_name, name:pid:uuid."""
    if isinstance(properties, list):  # [[key, type, value], ...]
        properties = {item[0]: item[-1] for item in properties}
    name = (properties or {}).get("connection_name") or ""
    parts = name.split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def broker_snapshot(services, names):
    """Per service: its connections and the queues its channels consume
    from; rows for the table. ``services`` maps a label to an OS pid."""
    connections = _rabbitmqctl("list_connections", "pid", "client_properties")
    if connections is None:
        return None
    channels = _rabbitmqctl("list_channels", "pid", "connection")
    consumers = _rabbitmqctl("list_consumers", "queue_name", "channel_pid")
    queues = {row["name"]: row for row in _rabbitmqctl(
        "list_queues", "name", "consumers", "messages") or []}
    owner = {}
    for row in connections:
        pid = _connection_pid(row.get("client_properties"))
        if pid is not None:
            owner[row["pid"]] = pid
    channel_owner = {row["pid"]: owner.get(row["connection"])
                     for row in channels or []}
    rows = []
    for label, pid in services.items():
        count = sum(1 for os_pid in owner.values() if os_pid == pid)
        consumed = sorted({row["queue_name"] for row in consumers or []
                           if channel_owner.get(row["channel_pid"]) == pid})
        names["queues"].update(consumed)
        shown = ", ".join("%s (%s consumers)" % (
            _generic(queue, names), queues.get(queue, {}).get("consumers",
                                                              "?"))
            for queue in consumed)
        rows.append([label, count, len(consumed), shown or "none"])
    names["queues"].update(name for name in queues if names["run"] in name)
    return rows


def _generic(queue, names):
    """A queue's name with this run's topics and hosts named by role."""
    for key in ("compute_host", "bare_host", "scheduler_host0",
                "scheduler_host1", "drift_host"):
        queue = queue.replace(names[key], "<host>")
    for key in ("compute", "scheduler", "bare"):
        queue = queue.replace(names[key], "<topic>")
    if "_fanout_" in queue:
        queue = queue.split("_fanout_")[0] + "_fanout_<uuid>"
    return queue


def clean_broker(names):
    """Delete every queue and exchange of this run; what is left of them
    (None: rabbitmqctl cannot tell)."""
    listed = _rabbitmqctl("list_queues", "name") or []
    queues = set(names["queues"]) | names["reply_queues"] | {
        row["name"] for row in listed if names["run"] in row["name"]}
    for topic in ("compute", "scheduler", "bare"):
        queues.add(names[topic])
    queues.update("%s.%s" % (names["compute"], names[host]) for host in
                  ("compute_host", "drift_host", "threading_host"))
    queues.add("%s.%s" % (names["bare"], names["bare_host"]))
    queues.update("%s.%s" % (names["scheduler"], names[host])
                  for host in ("scheduler_host0", "scheduler_host1"))
    exchanges = {names["exchange"]} | {"%s_fanout" % names[topic] for topic
                                       in ("compute", "scheduler", "bare")}
    exchanges.update(row["name"] for row in _rabbitmqctl(
        "list_exchanges", "name") or [] if names["run"] in row["name"])
    connection = amqp.Connection(connect_timeout=5, **BROKER)
    connection.connect()
    try:
        for kind, items in (("queue", queues), ("exchange", exchanges)):
            for item in sorted(items):
                channel = connection.channel()
                try:
                    if kind == "queue":
                        channel.queue_delete(item)
                    else:
                        channel.exchange_delete(item)
                except amqp.exceptions.NotFound:
                    continue  # the channel is closed by the broker
                channel.close()
    finally:
        connection.close()
    left_queues = _rabbitmqctl("list_queues", "name")
    left_exchanges = _rabbitmqctl("list_exchanges", "name")
    if left_queues is None or left_exchanges is None:
        return None
    return sorted(row["name"] for row in left_queues + left_exchanges
                  if names["run"] in row["name"]
                  or row["name"] in names["reply_queues"])


# ----------------------------------------------------------------------------
# The measures

def measure_rpc(names, novalite_ini):
    """ROUNDS interleaved rounds of the bare client and novalite's."""
    runs = {mode: [] for mode in MODES}
    order = list(MODES)
    for round_ in range(ROUNDS):
        for mode in order if round_ % 2 == 0 else order[::-1]:
            runs[mode].append(_client(
                mode, _MEASURE, names, 300, ini=novalite_ini, WARMUP=WARMUP,
                CASTS=CASTS, CALLS=CALLS,
                STOP_CASTS=STOP_CASTS if round_ == 0 else 0))
    return runs


def window_figures(ticks, window, interval):
    """The ticks of a timer in ``window`` (start, end): lateness from each
    tick's slot on the timer's grid (its first tick ever plus k intervals),
    the slots skipped, and bench/timers.py's drift figures over the
    window: tick k against the window's first tick plus k intervals (so a
    skipped slot counts as an interval of drift), and whether that line
    rises (timers.drifts). None with fewer than three ticks."""
    origin = ticks[0] if ticks else 0.0
    stamps = [t for t in ticks if window[0] <= t <= window[1]]
    if len(stamps) < 3:
        return None
    slots = [int((t - origin) / interval + 1e-6) for t in stamps]
    late = sorted((t - origin - slot * interval) * 1e3
                  for t, slot in zip(stamps, slots, strict=True))
    timeline = [(t - (stamps[0] + k * interval)) * 1e3
                for k, t in enumerate(stamps)]
    return {"ticks": len(stamps), "p99_late_ms": late[int(len(late) * 0.99)
                                                      - 1],
            "max_late_ms": late[-1],
            "skipped": slots[-1] - slots[0] + 1 - len(set(slots)),
            "final_drift_ms": timeline[-1],
            "drifts": timers.drifts(timeline)}


def fanout_rows(published, received_by, rounds):
    """Per scheduler: received, lost, duplicates, ages."""
    expected = {(host, round_) for host in published
                for round_ in range(rounds)}
    rows = []
    for name, received in received_by.items():
        keys = [(host, seq) for host, seq, _ in received]
        ages = sorted(age for _, _, age in received)
        got = set(keys) & expected
        rows.append([name, len(expected), len(keys), len(expected - got),
                     len(keys) - len(set(keys)),
                     statistics.median(ages) * 1e3 if ages else None,
                     ages[int(len(ages) * 0.99) - 1] * 1e3 if ages else None,
                     ages[-1] * 1e3 if ages else None])
    return rows


# ----------------------------------------------------------------------------

#: The clients of the cast and call rounds: the bare server's, novalite's
#: on eventlet and novalite's on native threads.
THREADING = "novalite threading"
MODES = ("bare", "novalite", THREADING)


def _names():
    run = uuid.uuid4().hex[:10]
    return {"run": run, "exchange": "bench-rpc-%s" % run,
            "compute": "bench_compute_%s" % run,
            "scheduler": "bench_scheduler_%s" % run,
            "bare": "bench_bare_%s" % run,
            "compute_host": "bench-compute-%s" % run,
            "threading_host": "bench-threading-%s" % run,
            "drift_host": "bench-drift-%s" % run,
            "bare_host": "bench-bare-%s" % run,
            "scheduler_host0": "bench-scheduler0-%s" % run,
            "scheduler_host1": "bench-scheduler1-%s" % run,
            "queues": set(), "reply_queues": set()}


def main():
    report = harness.Report("Message bus: novalite's RPC beside bare "
                            "oslo.messaging (issue 12)")
    problem = _broker_problem()
    if problem is not None:
        report.add("Skipped: the RabbitMQ broker at %s does not answer (%s)."
                   % (BROKER["host"], problem), "")
        return report
    names = _names()
    report.add("RabbitMQ at %s, exchange `%s` and topics of this run only, "
               "deleted at the end. Every process has its own interpreter, "
               "monkey-patched by eventlet; servers dispatch with the "
               "eventlet executor." % (BROKER["host"], names["exchange"]),
               "")
    daemons = []
    with tempfile.TemporaryDirectory(prefix="bench-rpc-") as top:
        try:
            _run(report, names, top, daemons)
        except RuntimeError as exc:  # a service that did not start
            report.add("- rpc: stopped: %s" % exc, "")
        finally:
            for process in daemons:
                with contextlib.suppress(OSError):
                    process.stop()
            _report_clean_up(report, clean_broker(names))
    return report


def _report_clean_up(report, left):
    if left is None:
        report.add("- broker clean-up: done; what is left could not be "
                   "listed (no rabbitmqctl)")
    else:
        report.add("- broker clean-up: %d queues and exchanges of this run "
                   "left%s" % (len(left), (": " + ", ".join(left))
                               if left else ""))
    report.add("")


def _run(report, names, top, daemons):
    def start(name, **kwargs):
        process = Daemon(name, os.path.join(top, name), **kwargs)
        daemons.append(process)
        return process

    client_ini = os.path.join(top, "client.conf")
    with open(client_ini, "w") as handle:
        handle.write(_novalite_ini(names, os.path.join(top, "client"), None))

    # 1 and 2: casts and calls
    bare = start("bare", code=_BARE_SERVER, EXCHANGE=names["exchange"],
                 URL=URL, TOPIC=names["bare"], HOST=names["bare_host"],
                 MAX_SECONDS=SERVER_MAX_SECONDS, TICK=DRIFT_TICK)
    compute_dir = os.path.join(top, "compute")
    compute = start("compute", code=_HOOKED_DAEMON % "compute",
                    BINARY="novalite-compute",
                    ini=_novalite_ini(names, compute_dir,
                                      names["compute_host"]))
    threads = start("compute on threads", code=_HOOKED_DAEMON % "compute",
                    BINARY="novalite-compute",
                    env={"NOVALITE_BACKEND": "threading"},
                    ini=_novalite_ini(names, os.path.join(top, "threads"),
                                      names["threading_host"]))
    bare.wait_ready()
    compute.wait_ready()
    threads.wait_ready()
    runs = measure_rpc(names, client_ini)
    threads.stop()
    _report_rpc(report, runs, compute)

    # 4: the periodic timer, idle, then each server in turn paced, then
    # each in turn flat out
    drift_dir = os.path.join(top, "drift")
    drift = start("drift", code=_HOOKED_DAEMON % "compute",
                  BINARY="novalite-compute",
                  ini=_novalite_ini(names, drift_dir, names["drift_host"],
                                    periodic_interval=DRIFT_TICK))
    drift.wait_ready()
    time.sleep(2 * DRIFT_TICK)
    idle = (time.monotonic(), time.monotonic() + DRIFT_SECONDS)
    time.sleep(DRIFT_SECONDS)
    drift_names = dict(names, compute_host=names["drift_host"])
    busy = {}
    for load, rate in (("paced", PACED_RATE), ("flat out", 0)):
        for mode, which in (("novalite", drift_names), ("bare", names)):
            busy[(load, mode)] = _client(
                mode, _BUSY, which, DRIFT_SECONDS + 120, ini=client_ini,
                SECONDS=DRIFT_SECONDS, CAST_BATCH=CAST_BATCH, RATE=rate)
    names["reply_queues"] |= drift_names["reply_queues"]

    # 3: capabilities fanned out to two schedulers
    schedulers = []
    for index in range(SCHEDULERS):
        host = names["scheduler_host%d" % index]
        directory = os.path.join(top, "scheduler%d" % index)
        schedulers.append(start(
            "scheduler%d" % index, code=_HOOKED_DAEMON % "scheduler",
            BINARY="novalite-scheduler",
            ini=_novalite_ini(names, directory, host)))
    for scheduler in schedulers:
        scheduler.wait_ready()
    rounds = int(FANOUT_SECONDS / TICK)
    hosts = ["bench-host%03d-%s" % (index, names["run"])
             for index in range(HOSTS)]
    publisher_ini = os.path.join(top, "publisher.conf")
    with open(publisher_ini, "w") as handle:
        handle.write(_novalite_ini(names, os.path.join(top, "publisher"),
                                   None))
    published = harness.run(
        _PUBLISHER, timeout=FANOUT_SECONDS + 120, INI=publisher_ini,
        HOSTS=hosts, TICK=TICK, ROUNDS=rounds, SERVICE=names["compute"])
    time.sleep(2 * TICK)  # the last publications are on their way

    # 5: the broker, every service still up
    snapshot = broker_snapshot(
        {"bare oslo.messaging server": bare.process.pid,
         "novalite-compute": compute.process.pid,
         "novalite-compute (timer run)": drift.process.pid,
         "novalite-scheduler 0": schedulers[0].process.pid,
         "novalite-scheduler 1": schedulers[1].process.pid}, names)

    for process in [drift, bare] + schedulers:
        process.stop()
    received = {}
    for index, scheduler in enumerate(schedulers):
        try:
            received["novalite-scheduler %d" % index] = (
                scheduler.read_results()["received"])
        except (OSError, ValueError) as exc:
            report.add("- novalite-scheduler %d left no results: %s (%s)"
                       % (index, exc, scheduler.last_line()))
    _report_fanout(report, published, received, hosts, rounds)
    ticks = {}
    for label, process in (("novalite", drift), ("bare", bare)):
        try:
            ticks[label] = process.read_results()["ticks"]
        except (OSError, ValueError) as exc:
            report.add("- the %s timer left no results: %s (%s)"
                       % (label, exc, process.last_line()))
            ticks[label] = []
    _report_drift(report, ticks, idle, busy)
    _report_broker(report, snapshot)


def _range(results, key):
    values = [r[key] for r in results if key in r]
    return "%.0f-%.0f" % (min(values), max(values)) if values else None


def _report_rpc(report, runs, compute):
    errors = [(mode, r["error"]) for mode, results in runs.items()
              for r in results if "error" in r]
    for mode, error in errors:
        report.add("- %s client failed: %s" % (mode, error))
    figures = {mode: {key: harness.median_of(results, key) for key in
                      ("casts_per_s", "sent_per_s", "rtt_median_ms",
                       "rtt_p99_ms")}
               for mode, results in runs.items()}
    spread = {mode: _range(results, "casts_per_s")
              for mode, results in runs.items()}
    handled = {mode: "/".join(str(r["handled"]) for r in results
                              if "handled" in r)
               for mode, results in runs.items()}
    stop_rate = harness.median_of(runs["novalite"], "stop_instance_per_s")
    report.add("### Casts and calls: median of %d interleaved rounds" % ROUNDS,
               "")
    report.add("Casts: %d sent as fast as the client can, timed until the "
               "server has handled the last; calls ask it how many it has "
               "handled (a counting endpoint in the bare server, a counting "
               "hook on BaseRPCAPI.ping in novalite-compute), in a loop: the "
               "eventlet executor does not keep the order of the messages, "
               "and the answer to a call queued behind the casts came back "
               "while up to 63 of them were still waiting. Handled per round:"
               " bare %s, novalite %s. Calls: %d in a row, each timed. "
               "novalite-compute is the command's own main() after hooks "
               "that only count and note times (_HOOKED_DAEMON in "
               "bench/rpc.py)."
               % (CASTS, handled["bare"] or "n/a",
                  handled["novalite"] or "n/a", CALLS), "")
    bare, ours = figures["bare"], figures["novalite"]
    report.table(
        ["system", "cast", "casts/s handled", "range", "casts/s sent",
         "call", "call median ms", "call p99 ms"],
        [["bare oslo.messaging", "RPCClient.cast of a counting endpoint",
          bare["casts_per_s"], spread["bare"], bare["sent_per_s"],
          "RPCClient.call of an uptime endpoint", bare["rtt_median_ms"],
          bare["rtt_p99_ms"]],
         ["novalite", "VersionedClient.cast (BaseAPI) of BaseRPCAPI.ping "
          "in novalite-compute", ours["casts_per_s"], spread["novalite"],
          ours["sent_per_s"], "ComputeAPI.get_host_uptime",
          ours["rtt_median_ms"], ours["rtt_p99_ms"]],
         ["novalite, threading", "the same, in novalite-compute on "
          "native threads", figures[THREADING]["casts_per_s"],
          spread[THREADING], figures[THREADING]["sent_per_s"],
          "ComputeAPI.get_host_uptime", figures[THREADING]["rtt_median_ms"],
          figures[THREADING]["rtt_p99_ms"]],
         ["novalite", "ComputeAPI.stop_instance, unknown instance (first "
          "round, %d casts)" % STOP_CASTS, stop_rate, None, None, "", None,
          None]])
    report.add("Casts/s handled: until the server has handled the last one "
               "(the figure compared); range: the slowest and the fastest "
               "round; casts/s sent: the client's own pace, the time to "
               "hand the casts to the broker (each waits for the broker's "
               "publisher confirm).", "")
    logged = compute.log_count("Exception during message handling")
    report.add("The stop_instance casts each cost the compute a database "
               "lookup and an InstanceNotFound that oslo.messaging logs with "
               "its traceback (%d such lines in the compute's log for %d "
               "casts); the ratio below is on the ping casts, whose server "
               "side is as trivial as the bare endpoint's."
               % (logged, STOP_CASTS), "")
    cast_ratio = harness.ratio(ours["casts_per_s"], bare["casts_per_s"])
    report.add("- rpc cast throughput: novalite/bare = %s; target at least "
               "%g: %s" % (harness.fmt(cast_ratio), CAST_TARGET,
                           "not measured" if cast_ratio is None else
                           "met" if cast_ratio >= CAST_TARGET else "MISSED"))
    call_ratio = harness.ratio(ours["rtt_median_ms"], bare["rtt_median_ms"])
    report.add("- rpc call round trip (median): novalite/bare = %s (p99: %s);"
               " target at most %g: %s" % (
                   harness.fmt(call_ratio),
                   harness.fmt(harness.ratio(ours["rtt_p99_ms"],
                                             bare["rtt_p99_ms"])),
                   CALL_TARGET, harness.verdict(call_ratio, CALL_TARGET)))
    threads = figures[THREADING]
    report.add("- rpc on native threads (NOVALITE_BACKEND=threading, "
               "oslo.messaging's threading executor): casts/s handled %s "
               "(novalite on eventlet %s, bare %s), call median %s ms (%s, "
               "%s); no target (side by side)" % (
                   harness.fmt(threads["casts_per_s"]),
                   harness.fmt(ours["casts_per_s"]),
                   harness.fmt(bare["casts_per_s"]),
                   harness.fmt(threads["rtt_median_ms"]),
                   harness.fmt(ours["rtt_median_ms"]),
                   harness.fmt(bare["rtt_median_ms"])))
    report.add("")


def _report_fanout(report, published, received, hosts, rounds):
    report.add("### Capabilities fan-out: %d hosts every %g s to %d "
               "schedulers, %d rounds" % (HOSTS, TICK, SCHEDULERS, rounds),
               "")
    if "error" in published:
        report.add("- rpc fan-out: the publisher failed: %s"
                   % published["error"], "")
        return
    report.add("One process publishes for %d simulated hosts, each through "
               "its own SchedulerAPI (the database record, then the fanout "
               "cast) at the host's phase of the tick, on one transport. "
               "The schedulers are novalite-scheduler's own main(); a hook "
               "on HostManager.update_service_capabilities notes what "
               "arrives from the bus. Age: the scheduler's clock at receipt "
               "minus the publisher's at the call (one machine, one clock). "
               "The publisher was at most %s ms late on its slots (p99); "
               "hosts whose last fanout failed: %s."
               % (HOSTS, harness.fmt(published.get("p99_publish_late_ms")),
                  ", ".join(published.get("failing") or []) or "none"), "")
    rows = fanout_rows(hosts, received, rounds)
    report.table(["scheduler", "published", "received", "lost",
                  "duplicates", "median age ms", "p99 age ms",
                  "max age ms"], rows)
    lost = sum(row[3] for row in rows) if rows else None
    report.add("- rpc fan-out: %s publications lost of %d x %d; target none "
               "lost: %s" % (
                   "n/a" if lost is None else lost, rows[0][1] if rows
                   else 0, len(rows), "not measured" if lost is None or
                   len(rows) < SCHEDULERS else "met" if lost == 0
                   else "MISSED"))
    worst = max((row[6] for row in rows if row[6] is not None), default=None)
    report.add("- rpc fan-out: p99 age at the schedulers %s ms; target under "
               "two ticks (%g ms): %s" % (
                   harness.fmt(worst), 2 * TICK * 1e3,
                   "not measured" if worst is None else "met"
                   if worst < 2 * TICK * 1e3 else "MISSED"))
    report.add("")


def _report_drift(report, ticks, idle, busy):
    report.add("### Periodic timer under casts: novalite-compute beside a "
               "bare eventlet timer", "")
    failed = [key for key, result in busy.items() if "error" in result]
    for load, mode in failed:
        report.add("- rpc timer: the %s casting client (%s) failed: %s"
                   % (mode, load, busy[(load, mode)]["error"]))
    if failed:
        report.add("")
        return
    windows = {key: (result["started_at"], result["ended_at"])
               for key, result in busy.items()}
    rates = {key: result["casts"] / (result["ended_at"]
                                     - result["started_at"])
             for key, result in busy.items()}
    report.add(
        "novalite-compute's own main() with periodic_interval = %g s (every "
        "task at its default); a hook on Manager.periodic_tasks notes the "
        "time of every tick. Beside it, the bare oslo.messaging server of "
        "the casts above runs a drift-free greenthread timer on the same "
        "grid, which skips past slots as novalite's does. Idle: %g s with "
        "nothing sent. Paced, the load the target is about: each server in "
        "turn gets %g s of ping casts at %g a second, each sent at its slot "
        "(the client sleeps until it), while the other is idle; sends more "
        "than a slot late: novalite %d, bare %d (p99 %s and %s ms after the "
        "slot); that is %.0f %% and %.0f %% of what each server handles flat "
        "out, where a compute in a fleet gets a few casts a second. Flat "
        "out, the floor: each server in turn gets %g s of casts in batches "
        "of %d, each batch followed by a call, as fast as it takes them "
        "(novalite-compute %.0f casts/s, the bare server %.0f). That keeps "
        "the server's one event loop on its CPU all the time, where no "
        "greenthread timer keeps its slots; it is compared with the bare "
        "timer's, not held to the target. Lateness is from each tick's slot "
        "on the timer's grid, so it stays under one interval: a tick later "
        "than that takes the next slot and the one it missed counts as "
        "skipped. Final drift and drifts are bench/timers.py's (tick k "
        "against the window's first tick plus k intervals, so a skipped "
        "tick counts as an interval)." % (
            DRIFT_TICK, idle[1] - idle[0], DRIFT_SECONDS, PACED_RATE,
            busy[("paced", "novalite")]["late_sends"],
            busy[("paced", "bare")]["late_sends"],
            harness.fmt(busy[("paced", "novalite")]["p99_send_late_ms"]),
            harness.fmt(busy[("paced", "bare")]["p99_send_late_ms"]),
            100 * PACED_RATE / rates[("flat out", "novalite")],
            100 * PACED_RATE / rates[("flat out", "bare")], DRIFT_SECONDS,
            CAST_BATCH, rates[("flat out", "novalite")],
            rates[("flat out", "bare")]), "")
    other = {"novalite": "bare", "bare": "novalite"}
    rows = []
    figures = {}
    for mode, timer in (("novalite", "novalite-compute"),
                        ("bare", "bare eventlet timer")):
        for key, label in DRIFT_WINDOWS:
            if key == "idle":
                window, rate = idle, 0
            elif key == "other":
                window, rate = windows[("flat out", other[mode])], 0
            else:
                window, rate = windows[(key, mode)], round(rates[(key, mode)])
            result = window_figures(ticks[mode], window, DRIFT_TICK)
            figures[(mode, key)] = result
            if result is None:
                rows.append([timer, label, rate] + [None] * 6)
                continue
            rows.append([timer, label, rate, result["ticks"],
                         result["p99_late_ms"], result["max_late_ms"],
                         result["skipped"], result["final_drift_ms"],
                         "yes" if result["drifts"] else "no"])
    report.table(["timer", "window", "casts/s to its server", "ticks",
                  "p99 late ms", "max late ms", "ticks skipped",
                  "final drift ms", "drifts"], rows)

    def p99(mode, key):
        figure = figures[(mode, key)]
        return None if figure is None else figure["p99_late_ms"]

    def skipped(mode, key):
        figure = figures[(mode, key)]
        return "n/a" if figure is None else figure["skipped"]

    ours_idle, ours_paced = p99("novalite", "idle"), p99("novalite", "paced")
    if ours_idle is None or ours_paced is None:
        kept = "not measured"
    else:
        kept = ("met" if skipped("novalite", "paced") == 0 and ours_paced
                <= ours_idle + SLOWER_MS else "MISSED")
    report.add(
        "- rpc timer under paced casts (%g a second, each at its slot): "
        "novalite-compute's p99 lateness %s ms paced, %s ms idle, %s ticks "
        "skipped (the bare eventlet timer at the same pace: %s ms, %s ms "
        "idle, %s skipped); target the RPC server does not slow the timer "
        "at that load (no tick skipped, p99 within %g ms of idle): %s" % (
            PACED_RATE, harness.fmt(ours_paced), harness.fmt(ours_idle),
            skipped("novalite", "paced"), harness.fmt(p99("bare", "paced")),
            harness.fmt(p99("bare", "idle")), skipped("bare", "paced"),
            SLOWER_MS, kept))
    floor = harness.ratio(p99("novalite", "flat out"),
                          p99("bare", "flat out"))
    report.add(
        "- rpc timer at saturation (casts flat out, %.0f and %.0f a second: "
        "the event loop's floor, not a target in itself): "
        "novalite-compute's p99 lateness %s ms, %s ticks skipped; the bare "
        "eventlet timer in its own saturated server %s ms, %s skipped; "
        "novalite/bare = %s; target at saturation no worse than %gx the "
        "bare eventlet timer's p99: %s" % (
            rates[("flat out", "novalite")], rates[("flat out", "bare")],
            harness.fmt(p99("novalite", "flat out")),
            skipped("novalite", "flat out"),
            harness.fmt(p99("bare", "flat out")),
            skipped("bare", "flat out"), harness.fmt(floor), FLOOR_TARGET,
            harness.verdict(floor, FLOOR_TARGET)))
    report.add("")


def _report_broker(report, snapshot):
    report.add("### Broker: connections and queues per service", "")
    if snapshot is None:
        report.add("Not measured: rabbitmqctl is not available here.", "")
        return
    report.add("From `rabbitmqctl list_connections`, `list_channels` and "
               "`list_consumers`, every service up; a connection is "
               "attributed by the pid in oslo.messaging's connection_name.",
               "")
    report.table(["service", "connections", "queues consumed",
                  "queues (consumers)"], snapshot)
