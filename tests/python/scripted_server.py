#!/usr/bin/env python3
"""Scripted HTTP/2 servers (Python h2) for client tests.

Usage: scripted_server.py SCENARIO
Prints "port N" once listening, then one line per observation:
  conn N            a connection was accepted (N counts from 1)
  request C S PATH  connection C got a request on stream S
  open C K          connection C has K streams open (after each new request)
  rst C S CODE      connection C received RST_STREAM
  ping C            connection C received a PING
Scenarios:
  refuse-first   REFUSED_STREAM for the first stream of the first connection, 200 otherwise
  goaway-low     first connection: after 5 requests, GOAWAY(last_stream_id=3), answers 1 and 3 only
  max1           SETTINGS_MAX_CONCURRENT_STREAMS=1; answers each request after 20 ms
  split-end      answers with HEADERS, DATA "body", then an empty DATA with END_STREAM
  slow-tail      answers with HEADERS and DATA "first" at once, DATA "second" with END_STREAM
                 300 ms later
  reset-body     answers with HEADERS, DATA "part" and RST_STREAM(INTERNAL_ERROR), in one write
  silent         first connection: reads everything, never writes a byte; later ones answer
  calm           answers after 10 ms; more than 10 PINGs in 10 s on a connection get
                 GOAWAY(ENHANCE_YOUR_CALM) (printed as "calm C"), like gRPC servers
  refuse-third   REFUSED_STREAM for every third request (counted over all connections)
  calm-now       first connection: GOAWAY(ENHANCE_YOUR_CALM, last_stream_id=0) at the first
                 request; later ones answer
"""
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

SCENARIO = sys.argv[1]
lock = threading.Lock()
conn_count = 0


request_count = 0


def next_request():
    global request_count
    with lock:
        request_count += 1
        return request_count


def say(*parts):
    with lock:
        print(*parts, flush=True)


def serve(sock, n):
    cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=cfg)
    if SCENARIO == "max1":
        # In the very first SETTINGS, so no client can have an excuse.
        conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})
    conn.initiate_connection()
    mute = SCENARIO == "silent" and n == 1
    if mute:
        sock = Muted(sock)  # a 100%-packet-loss path, as the client sees it
    sock.sendall(conn.data_to_send())
    open_streams = set()
    pings = []
    requests = []
    delayed = []  # (time, stream)
    sock.settimeout(0.01)
    while True:
        now = time.time()
        for when, sid in list(delayed):
            if when <= now:
                delayed.remove((when, sid))
                try:
                    if SCENARIO == "slow-tail":
                        conn.send_data(sid, b"second", end_stream=True)
                    else:
                        respond(conn, sid)
                except h2.exceptions.StreamClosedError:
                    pass
                open_streams.discard(sid)
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except OSError:
                return
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            say("protocol-error", n, e)
            return
        for e in events:
            if isinstance(e, h2.events.RequestReceived):
                sid = e.stream_id
                path = dict(e.headers).get(":path")
                say("request", n, sid, path)
                open_streams.add(sid)
                say("open", n, len(open_streams))
                requests.append(sid)
                if SCENARIO == "refuse-third" and next_request() % 3 == 0:
                    conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                    open_streams.discard(sid)
                elif SCENARIO == "refuse-first" and n == 1 and sid == 1:
                    conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                    open_streams.discard(sid)
                elif SCENARIO == "goaway-low" and n == 1:
                    if len(requests) == 5:
                        conn.close_connection(error_code=0, last_stream_id=3)
                        # h2 forbids sending after close_connection; answer 1 and 3 by hand.
                        sock.sendall(conn.data_to_send())
                        raw_answer(sock, conn, [1, 3])
                        time.sleep(0.3)
                        return
                elif SCENARIO == "max1":
                    delayed.append((time.time() + 0.02, sid))
                elif SCENARIO == "calm":
                    delayed.append((time.time() + 0.01, sid))
                elif SCENARIO == "calm-now" and n == 1:
                    conn.close_connection(error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, last_stream_id=0)
                    sock.sendall(conn.data_to_send())
                    time.sleep(0.2)
                    return
                elif mute:
                    pass
                elif SCENARIO == "reset-body":
                    conn.send_headers(sid, [(":status", "200")])
                    conn.send_data(sid, b"part")
                    conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.INTERNAL_ERROR)
                    open_streams.discard(sid)
                elif SCENARIO == "slow-tail":
                    conn.send_headers(sid, [(":status", "200"), ("content-length", "11")])
                    conn.send_data(sid, b"first")
                    delayed.append((time.time() + 0.3, sid))
                elif SCENARIO == "split-end":
                    conn.send_headers(sid, [(":status", "200"), ("content-length", "4")])
                    conn.send_data(sid, b"body")
                    conn.send_data(sid, b"", end_stream=True)
                    open_streams.discard(sid)
                else:
                    respond(conn, sid)
                    open_streams.discard(sid)
            elif isinstance(e, h2.events.StreamReset):
                say("rst", n, e.stream_id, int(e.error_code))
                open_streams.discard(e.stream_id)
                delayed[:] = [(w, d) for (w, d) in delayed if d != e.stream_id]
            elif isinstance(e, h2.events.PingReceived):
                say("ping", n)
                pings.append(time.time())
                if SCENARIO == "calm" and len([t for t in pings if t > time.time() - 10]) > 10:
                    say("calm", n)
                    conn.close_connection(error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
                    sock.sendall(conn.data_to_send())
                    return
            elif isinstance(e, h2.events.DataReceived):
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)


class Muted:
    """A socket that reads but never writes."""

    def __init__(self, sock):
        self.sock = sock

    def sendall(self, data):
        pass

    def __getattr__(self, name):
        return getattr(self.sock, name)


def respond(conn, sid):
    conn.send_headers(sid, [(":status", "200")])
    conn.send_data(sid, b"ok", end_stream=True)


def raw_answer(sock, conn, sids):
    """HEADERS(:status 200) + DATA("ok", END_STREAM) for each stream, HPACK-encoded by h2's
    own encoder so the client's decoder stays in sync."""
    for sid in sids:
        block = conn.encoder.encode([(":status", "200")])
        sock.sendall(len(block).to_bytes(3, "big") + bytes([1, 4]) + sid.to_bytes(4, "big") + block)
        sock.sendall((2).to_bytes(3, "big") + bytes([0, 1]) + sid.to_bytes(4, "big") + b"ok")


def main():
    global conn_count
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    say("port", ls.getsockname()[1])
    while True:
        s, _ = ls.accept()
        with lock:
            conn_count += 1
            n = conn_count
        say("conn", n)
        threading.Thread(target=serve, args=(s, n), daemon=True).start()


main()
