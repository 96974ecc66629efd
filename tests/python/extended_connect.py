"""An extended CONNECT (RFC 8441) from Python's h2, an independent client, to `h2kit serve`.

Usage: extended_connect.py PORT
Prints JSON: whether the server advertised SETTINGS_ENABLE_CONNECT_PROTOCOL, and the status
of a CONNECT with :protocol "websocket" to /status/200, or the reset's code (h2 sends it even
to a server that did not advertise the setting). Should h2 refuse to send it,
"refused_locally" says why.
"""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

result = {"advertised": None, "status": None, "reset": None, "refused_locally": None}


def pump():
    data = sock.recv(65536)
    if not data:
        raise SystemExit("connection closed")
    events = conn.receive_data(data)
    out = conn.data_to_send()
    if out:
        sock.sendall(out)
    return events


settled = False
while not settled:
    for e in pump():
        if isinstance(e, h2.events.RemoteSettingsChanged):
            settled = True
result["advertised"] = conn.remote_settings.enable_connect_protocol == 1

try:
    conn.send_headers(1, [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/status/200"),
        (":authority", "127.0.0.1:%d" % port),
    ])
    sock.sendall(conn.data_to_send())
    done = False
    while not done:
        for e in pump():
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == 1:
                result["status"] = int(dict(e.headers)[b":status"])
                done = True
            elif isinstance(e, h2.events.StreamReset) and e.stream_id == 1:
                result["reset"] = int(e.error_code)
                done = True
except h2.exceptions.ProtocolError as e:
    result["refused_locally"] = str(e)

print(json.dumps(result))
