#!/usr/bin/env python3
"""An independent HTTP/2 client (Python h2) for `h2kit check client`: GET URL over h2c with
prior knowledge, read the response to its end, exit 0. When h2 rejects what the server sent,
it sends what h2 queued (its GOAWAY or RST_STREAM) and exits 1.

Usage: h2_get.py http://HOST:PORT/PATH
"""
import socket
import sys
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions

url = urlsplit(sys.argv[1])
sock = socket.create_connection((url.hostname, url.port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
stream = conn.get_next_available_stream_id()
conn.send_headers(stream, [(":method", "GET"), (":scheme", "http"),
                           (":authority", url.netloc), (":path", url.path or "/")],
                  end_stream=True)
sock.sendall(conn.data_to_send())
status = 0
done = False
while not done:
    data = sock.recv(65536)
    if not data:
        sys.exit(1)
    try:
        events = conn.receive_data(data)
    except h2.exceptions.ProtocolError:
        sock.sendall(conn.data_to_send())
        sock.close()
        sys.exit(1)
    for e in events:
        if isinstance(e, h2.events.DataReceived):
            conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.StreamEnded) and e.stream_id == stream:
            done = True
        elif isinstance(e, h2.events.StreamReset) and e.stream_id == stream:
            status = 1
            done = True
        elif isinstance(e, h2.events.ConnectionTerminated):
            status = 1
            done = True
    sock.sendall(conn.data_to_send())
conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()
sys.exit(status)
