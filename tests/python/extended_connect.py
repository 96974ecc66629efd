"""Extended CONNECT (RFC 8441) from Python's h2, an independent client, to `h2kit serve`.

Usage: extended_connect.py PORT
Prints JSON:
- "advertised": whether the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1;
- "ws": a WebSocket on /ws (stream 1): the status, then the text frame echoed, whether the
  server's close frame came, and whether the server then ended the stream (END_STREAM);
  or the reset's code (h2 sends the request even to a server that did not advertise it);
- "elsewhere": the status of an extended CONNECT to /status/200 (only /ws takes one);
- "no_version": the status and sec-websocket-version of one without sec-websocket-version;
- "protocol_on_get": the reset's code for a GET that carries :protocol.
WebSocket frames are encoded here by hand (RFC 6455 §5.2), masked as a client's must be.
"""
import json
import os
import socket
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

streams = {}  # id -> {"status", "headers", "data", "ended", "reset"}


def pump():
    data = sock.recv(65536)
    if not data:
        raise SystemExit("connection closed")
    events = conn.receive_data(data)
    for e in events:
        sid = getattr(e, "stream_id", None)
        s = streams.get(sid)
        if s is None:
            continue
        if isinstance(e, h2.events.ResponseReceived):
            h = dict(e.headers)
            s["status"] = int(h[b":status"])
            s["headers"] = {k.decode(): v.decode() for k, v in h.items()}
        elif isinstance(e, h2.events.DataReceived):
            s["data"] += e.data
            conn.acknowledge_received_data(e.flow_controlled_length, sid)
        elif isinstance(e, h2.events.StreamEnded):
            s["ended"] = True
        elif isinstance(e, h2.events.StreamReset):
            s["reset"] = int(e.error_code)
    out = conn.data_to_send()
    if out:
        sock.sendall(out)
    return events


def wait(sid, done):
    while not (done(streams[sid]) or streams[sid]["reset"] is not None):
        pump()
    return streams[sid]


def request(sid, fields, end_stream=False):
    streams[sid] = {"status": None, "headers": {}, "data": b"", "ended": False, "reset": None}
    conn.send_headers(sid, fields, end_stream=end_stream)
    sock.sendall(conn.data_to_send())


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def read_frame(buf):
    """One unmasked server frame from the start of buf: (opcode, payload, rest) or None."""
    if len(buf) < 2 or buf[1] & 0x80:
        return None
    n = buf[1] & 0x7F
    start = 2
    if n == 126:
        n = struct.unpack("!H", buf[2:4])[0]
        start = 4
    if len(buf) < start + n:
        return None
    return buf[0] & 0x0F, buf[start:start + n], buf[start + n:]


def connect(sid, path, version=True):
    fields = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "127.0.0.1:%d" % port),
    ]
    if version:
        fields.append(("sec-websocket-version", "13"))
    request(sid, fields)


# The server's SETTINGS come first (RFC 9113 §3.4).
while not any(isinstance(e, h2.events.RemoteSettingsChanged) for e in pump()):
    pass
result = {"advertised": conn.remote_settings.enable_connect_protocol == 1}

connect(1, "/ws")
s = wait(1, lambda s: s["status"] is not None)
ws = {"status": s["status"], "reset": s["reset"]}
if s["status"] == 200:
    conn.send_data(1, ws_frame(0x1, b"hello over h2"))
    sock.sendall(conn.data_to_send())
    s = wait(1, lambda s: read_frame(s["data"]) is not None)
    op, payload, s["data"] = read_frame(s["data"])
    ws["echo"] = payload.decode() if op == 0x1 else "opcode %d" % op
    conn.send_data(1, ws_frame(0x8, struct.pack("!H", 1000)))
    sock.sendall(conn.data_to_send())
    s = wait(1, lambda s: read_frame(s["data"]) is not None)
    op, payload, s["data"] = read_frame(s["data"])
    ws["close"] = op == 0x8
    # Our side ends too; the server's END_STREAM follows its close.
    conn.end_stream(1)
    sock.sendall(conn.data_to_send())
    s = wait(1, lambda s: s["ended"])
    ws["ended"] = s["ended"]
result["ws"] = ws

if result["advertised"]:
    connect(3, "/status/200")
    result["elsewhere"] = wait(3, lambda s: s["ended"])["status"]
    connect(5, "/ws", version=False)
    s = wait(5, lambda s: s["ended"])
    result["no_version"] = [s["status"], s["headers"].get("sec-websocket-version")]
    # h2 checks what it sends; this request is wrong on purpose.
    conn.config.validate_outbound_headers = False
    request(7, [
        (":method", "GET"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "127.0.0.1:%d" % port),
    ], end_stream=True)
    result["protocol_on_get"] = wait(7, lambda s: s["ended"])["reset"]

print(json.dumps(result))
