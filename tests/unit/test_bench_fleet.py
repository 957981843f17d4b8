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

"""bench/fleet.py counts the messages a fleet sends from the AMQP frames
going by: frames made here byte by byte, as AMQP 0-9-1 lays them out."""

import struct

from bench import fleet

FRAME_END = b"\xce"


def _frame(kind, payload, channel=1):
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + (
        FRAME_END)


def _short(text):
    data = text.encode()
    return bytes([len(data)]) + data


def _publish(exchange, routing_key="rk"):
    return _frame(1, struct.pack(">HHH", 60, 40, 0) + _short(exchange)
                  + _short(routing_key) + b"\x00")


def _deliver(exchange, consumer_tag="ctag-1", routing_key="rk"):
    return _frame(1, struct.pack(">HH", 60, 60) + _short(consumer_tag)
                  + struct.pack(">QB", 7, 0) + _short(exchange)
                  + _short(routing_key))


def _header_and_body(body=b"{}"):
    header = _frame(2, struct.pack(">HHQH", 60, 0, len(body), 0))
    return header + _frame(3, body)


def _read(*chunks):
    seen = []
    frames = fleet.AmqpFrames(lambda method, exchange: seen.append(
        ("publish" if method == 40 else "deliver", exchange)))
    for chunk in chunks:
        frames.feed(chunk)
    return seen


def test_publishes_and_deliveries_are_counted_with_their_exchange():
    stream = (b"AMQP\x00\x00\x09\x01"
              + _frame(1, struct.pack(">HH", 10, 11) + b"\x00" * 20)
              + _publish("scheduler_fanout") + _header_and_body()
              + _frame(8, b"")  # a heartbeat
              + _deliver("nova") + _header_and_body(b"x" * 300))
    assert _read(stream) == [("publish", "scheduler_fanout"),
                             ("deliver", "nova")]


def test_a_frame_split_anywhere_is_read_once_whole():
    stream = _publish("a") + _header_and_body(b"y" * 100) + _deliver("b")
    for cut in range(1, len(stream)):
        assert _read(stream[:cut], stream[cut:]) == [("publish", "a"),
                                                     ("deliver", "b")]
    assert _read(*[stream[i:i + 1] for i in range(len(stream))]) == [
        ("publish", "a"), ("deliver", "b")]


def test_other_methods_of_basic_are_not_messages():
    ack = _frame(1, struct.pack(">HHQB", 60, 80, 7, 0))
    consume = _frame(1, struct.pack(">HHH", 60, 20, 0) + _short("q")
                     + _short("") + b"\x00\x00\x00\x00\x00")
    assert _read(ack + consume) == []


def test_a_connection_whose_frames_cannot_be_read_is_still_forwarded():
    """A frame the reader cannot make sense of (here a publish that ends
    before its exchange's name) must not cut the daemon off the broker:
    the bytes go through, uncounted, and the run says so."""
    import socket

    proxy = fleet.MeteringProxy(("127.0.0.1", 9))
    receiving, sink = socket.socketpair()
    try:
        broken = _frame(1, struct.pack(">HH", 60, 40))
        proxy._forward(broken, sink)
        proxy._forward(_publish("later"), sink)
        received = receiving.recv(4096)
        assert received == broken + _publish("later")
        assert proxy.unreadable == 1
        assert proxy.total("publish", 0, 2**40) == 0
    finally:
        proxy.close()
        receiving.close()
        sink.close()


def test_errors_and_tracebacks_in_a_log_are_counted(tmp_path):
    log = tmp_path / "simulator.log"
    log.write_text("2026-12-05 10:00:00 INFO novalite.service ready\n"
                   "2026-12-05 10:00:01 ERROR novalite.heartbeat gone\n"
                   "Traceback (most recent call last):\n")
    assert fleet._log_problems(str(log)) == 2
    assert fleet._log_problems(str(tmp_path / "missing.log")) == 0
