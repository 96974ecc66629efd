#!/usr/bin/env python3
"""An independent churn client (Python h2): keeps exactly as many streams open as the
server's SETTINGS_MAX_CONCURRENT_STREAMS allows and opens the next one the moment a response
ends (END_STREAM), never waiting for anything else.

A server that frees a finished stream's slot late (say, only once an asynchronous write has
completed) answers such a client with REFUSED_STREAM or PROTOCOL_ERROR at its limit.

Usage: churn_client.py PORT TOTAL
Prints one JSON line: {"completed", "max_open", "limit", "rst": {code: n}, "goaway": code|null}
"""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events

port, total = int(sys.argv[1]), int(sys.argv[2])
sock = socket.create_connection(("127.0.0.1", port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

limit = None
opened = completed = max_open = 0
open_streams = set()
rst = {}
goaway = None
headers = [(":method", "GET"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
           (":path", "/")]


def open_one():
    global opened, max_open
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers, end_stream=True)
    open_streams.add(sid)
    opened += 1
    max_open = max(max_open, len(open_streams))


while completed < total and goaway is None:
    data = sock.recv(65536)
    if not data:
        break
    for e in conn.receive_data(data):
        if isinstance(e, h2.events.RemoteSettingsChanged) and limit is None:
            limit = conn.remote_settings.max_concurrent_streams
        elif isinstance(e, h2.events.DataReceived):
            conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.StreamEnded):
            open_streams.discard(e.stream_id)
            completed += 1
        elif isinstance(e, h2.events.StreamReset):
            open_streams.discard(e.stream_id)
            rst[str(int(e.error_code))] = rst.get(str(int(e.error_code)), 0) + 1
        elif isinstance(e, h2.events.ConnectionTerminated):
            goaway = int(e.error_code)
    # Refill to exactly the limit the moment slots free up.
    if limit is not None:
        while len(open_streams) < limit and opened < total:
            open_one()
    sock.sendall(conn.data_to_send())

print(json.dumps({"completed": completed, "max_open": max_open, "limit": limit, "rst": rst,
                  "goaway": goaway}), flush=True)
