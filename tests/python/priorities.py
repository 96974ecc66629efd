"""RFC 9218 priorities on the wire, from Python's h2 against a server.

Usage: priorities.py PORT FIRST SECOND [PATH]
The client opens its stream windows wide (SETTINGS_INITIAL_WINDOW_SIZE 2^30) and leaves the
connection window at 65,535, so that only the connection window limits the server.
Stream 1 asks for PATH (default /bytes/1000000, a 1 MB response of h2kit serve) with the
`priority` header FIRST and takes the whole connection window. Then stream 3 asks for it
too, its priority set by SECOND: "header:VALUE" (a `priority` header), "update:VALUE" (no
header, then a PRIORITY_UPDATE frame, type 0x10, for it), or "none".
Once stream 3's response head arrived, the client opens the connection window 16 KiB at a
time, after each increment waiting for that much DATA, until stream 3 has ended. It prints
JSON: the DATA bytes each stream received after stream 3 was requested, whether each ended,
and the order of the DATA frames (stream ids).
"""
import json
import socket
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings

port, first, second = int(sys.argv[1]), sys.argv[2], sys.argv[3]
path = sys.argv[4] if len(sys.argv) > 4 else "/bytes/1000000"
how, _, value = second.partition(":")
SIZE = 1_000_000
STEP = 16_384

sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.local_settings = h2.settings.Settings(
    client=True,
    initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 30},
)
conn.initiate_connection()
sock.sendall(conn.data_to_send())

received = {1: 0, 3: 0}
ended = {1: False, 3: False}
responded = set()
frames = []


def pump():
    data = sock.recv(1 << 20)
    if not data:
        raise SystemExit("connection closed")
    for e in conn.receive_data(data):
        if isinstance(e, h2.events.DataReceived):
            received[e.stream_id] += len(e.data)
            frames.append(e.stream_id)
            # No credit given back: the stream windows (2^30) outlast the responses, and the
            # connection window is opened by hand below.
        elif isinstance(e, h2.events.ResponseReceived):
            responded.add(e.stream_id)
        elif isinstance(e, h2.events.StreamEnded):
            ended[e.stream_id] = True
        elif isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
            raise SystemExit("unexpected %r" % e)
    out = conn.data_to_send()
    if out:
        sock.sendall(out)


def get(sid, path, priority=None):
    fields = [(":method", "GET"), (":scheme", "http"),
              (":authority", "127.0.0.1:%d" % port), (":path", path)]
    if priority is not None:
        fields.append(("priority", priority))
    conn.send_headers(sid, fields, end_stream=True)
    sock.sendall(conn.data_to_send())


get(1, path, first)
while received[1] < 65_535:
    pump()
before = dict(received)

get(3, path, value if how == "header" else None)
if how == "update":
    payload = struct.pack("!I", 3) + value.encode()
    sock.sendall(struct.pack("!I", len(payload))[1:] + bytes([0x10, 0]) + struct.pack("!I", 0)
                 + payload)

# Its response head says its first DATA is waiting for the window.
while 3 not in responded:
    pump()
rounds = 0
while not ended[3] and rounds < 2 * SIZE // STEP + 10:
    rounds += 1
    got = received[1] + received[3]
    conn.increment_flow_control_window(STEP)
    sock.sendall(conn.data_to_send())
    while received[1] + received[3] < got + STEP and not ended[3]:
        pump()
during = {s: received[s] - before[s] for s in received}
print(json.dumps({
    "during": {str(k): v for k, v in during.items()},
    "ended_3": ended[3],
    "ended_1": ended[1],
    "frames": frames[:400],
}))
