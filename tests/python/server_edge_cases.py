#!/usr/bin/env python3
"""Edge cases against `h2kit serve`, driven by Python's `h2` over a raw socket.

Usage: server_edge_cases.py HOST:PORT            (the server runs with 65,535-byte windows)
       server_edge_cases.py HOST:PORT shutdown   (graceful-shutdown scenario, see below)
Exits non-zero with a message on the first failure.
"""
import socket
import sys
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    from hyperframe.frame import PingFrame, RstStreamFrame, WindowUpdateFrame
except ImportError:
    print("python package 'h2' is not installed (pip install h2)", file=sys.stderr)
    sys.exit(2)

HOST, PORT = sys.argv[1].rsplit(":", 1)
PORT = int(PORT)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Client:
    def __init__(self):
        self.sock = socket.create_connection((HOST, PORT), timeout=10)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        self.flush()
        self.events = []

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def read(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return []
        if not data:
            fail("server closed the connection")
        evs = self.conn.receive_data(data)
        self.flush()
        self.events.extend(evs)
        for e in evs:
            if isinstance(e, h2.events.ConnectionTerminated):
                fail(f"unexpected GOAWAY: {e}")
            if isinstance(e, h2.events.StreamReset):
                fail(f"unexpected RST_STREAM: {e}")
        return evs

    def request(self, path, method="GET", end=True, headers=()):
        sid = self.conn.get_next_available_stream_id()
        hs = [(":method", method), (":scheme", "http"), (":authority", f"{HOST}:{PORT}"), (":path", path)]
        self.conn.send_headers(sid, hs + list(headers), end_stream=end)
        self.flush()
        return sid

    def until_ended(self, sid, ack=True, timeout=10.0):
        """Reads until stream `sid` ends; returns (headers, body, trailers)."""
        headers, body, trailers = None, b"", None
        deadline = time.time() + timeout
        done = False
        seen = 0
        while not done:
            if time.time() > deadline:
                fail(f"stream {sid} did not end")
            self.read(0.5)
            for e in self.events[seen:]:
                if getattr(e, "stream_id", None) != sid:
                    continue
                if isinstance(e, h2.events.ResponseReceived):
                    headers = dict(e.headers)
                elif isinstance(e, h2.events.DataReceived):
                    body += e.data
                    if ack:
                        self.conn.acknowledge_received_data(e.flow_controlled_length, sid)
                elif isinstance(e, h2.events.TrailersReceived):
                    trailers = dict(e.headers)
                elif isinstance(e, h2.events.StreamEnded):
                    done = True
            seen = len(self.events)
            self.flush()
        return headers, body, trailers


def trailers_both_ways():
    c = Client()
    h, body, t = c.until_ended(c.request("/trailers"))
    if h[":status"] != "200" or t is None or t.get("grpc-status") != "0":
        fail(f"/trailers: {h} {body} {t}")
    # Request trailers are echoed by /echo.
    sid = c.request("/echo", method="POST", end=False)
    c.conn.send_data(sid, b"with trailers")
    c.conn.send_headers(sid, [("x-checksum", "42")], end_stream=True)
    c.flush()
    h, body, t = c.until_ended(sid)
    if body != b"with trailers" or t is None or t.get("x-checksum") != "42":
        fail(f"echo with trailers: {body} {t}")
    print("ok: trailers in both directions")


def flow_control_stall_and_resume():
    """Upload 300 KB to /echo without acknowledging the echoed data: the server may not send
    more than our 65,535-byte window, so its handler stops reading, so our upload stalls at
    the server's windows. Then we acknowledge and everything completes."""
    c = Client()
    payload = bytes(range(256)) * 1200  # 307,200 bytes
    sid = c.request("/echo", method="POST", end=False)
    sent = 0
    received = 0
    stalled_since = None
    acked = False
    deadline = time.time() + 20
    while True:
        if time.time() > deadline:
            fail(f"echo stuck: sent {sent}, received {received}")
        window = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
        if sent < len(payload) and window > 0:
            n = min(window, len(payload) - sent)
            c.conn.send_data(sid, payload[sent:sent + n], end_stream=(sent + n == len(payload)))
            sent += n
            c.flush()
            stalled_since = None
            continue
        for e in c.read(0.2):
            if isinstance(e, h2.events.DataReceived):
                received += len(e.data)
                if acked:
                    c.conn.acknowledge_received_data(e.flow_controlled_length, sid)
                else:
                    pending = getattr(c, "pending", 0) + e.flow_controlled_length
                    c.pending = pending
            if isinstance(e, h2.events.StreamEnded):
                if received != len(payload):
                    fail(f"echo returned {received} of {len(payload)} bytes")
                if not acked:
                    fail("echo finished without ever stalling")
                print(f"ok: flow control stalled at sent={stall_sent} received={stall_received} and resumed")
                return
        c.flush()
        if sent < len(payload) and not acked:
            if stalled_since is None:
                stalled_since = time.time()
            elif time.time() - stalled_since > 1.0:
                # Stalled for a second with both windows exhausted: the server buffered no
                # more than its windows allow. Now let the data flow.
                stall_sent, stall_received = sent, received
                if received > 65535:
                    fail(f"server sent {received} bytes beyond our 65,535-byte window")
                if sent > 65535 + 65535 + 65535:
                    fail(f"server accepted {sent} bytes: more than its windows plus our unread data")
                acked = True
                c.conn.acknowledge_received_data(c.pending, sid)
                c.flush()


def rst_and_window_update_on_closed_streams_are_tolerated():
    """Go-style: after every response, RST_STREAM(CANCEL) and WINDOW_UPDATE on the closed
    stream, then a PING. The server must not answer with errors or GOAWAY."""
    c = Client()
    for i in range(100):
        sid = c.request("/")
        h, body, _ = c.until_ended(sid)
        if h[":status"] != "200":
            fail(f"request {i}: {h}")
        raw = RstStreamFrame(sid)
        raw.error_code = 8
        wu = WindowUpdateFrame(sid)
        wu.window_increment = 1000
        ping = PingFrame(0)
        ping.opaque_data = i.to_bytes(8, "big")
        c.sock.sendall(raw.serialize() + wu.serialize() + ping.serialize())
    # The connection is still healthy.
    h, body, _ = c.until_ended(c.request("/"))
    if body != b"hello from h2kit\n":
        fail(f"final request: {body}")
    acks = [e for e in c.events if isinstance(e, h2.events.PingAckReceived)]
    if len(acks) < 99:
        fail(f"only {len(acks)} PING ACKs")
    print("ok: 100 RST_STREAM + WINDOW_UPDATE on closed streams and 100 PINGs tolerated")


def http11_request_line_answered():
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    if not data.startswith(b"HTTP/1.1 505") or b"HTTP/2 only" not in data:
        fail(f"HTTP/1.1 answer: {data!r}")
    print("ok: HTTP/1.1 request line answered in HTTP/1.1, then closed")


def graceful_shutdown():
    """Opens 10 slow requests and prints 'ready' (the test then sends SIGTERM to the server).
    Checks: GOAWAY(2^31-1) and a PING first, then - once our PING ACK arrives - the final
    GOAWAY naming the last stream; every in-flight request completes with 200; a stream
    opened after the final GOAWAY is above its last_stream_id, gets no answer, and so is known
    not to have been processed (safe to retry).

    Raw frames (hyperframe + hpack) rather than h2's state machine: h2 treats the first GOAWAY
    as the end of the connection and rejects the PING of a two-phase shutdown."""
    import hpack
    from hyperframe.frame import (DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                                  RstStreamFrame, SettingsFrame)

    s = socket.create_connection((HOST, PORT), timeout=10)
    enc, dec = hpack.Encoder(), hpack.Decoder()

    def headers(sid, path):
        f = HeadersFrame(sid)
        f.data = enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", HOST), (":path", path)])
        f.flags.add("END_HEADERS")
        f.flags.add("END_STREAM")
        return f.serialize()

    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0).serialize())
    sids = list(range(1, 21, 2))
    s.sendall(b"".join(headers(i, "/delay/1500") for i in sids))
    print("ready", flush=True)
    buf = b""
    goaways, ended, statuses, late, late_frames = [], set(), {}, None, []
    deadline = time.time() + 15
    while len(ended) < len(sids) and time.time() < deadline:
        s.settimeout(0.5)
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            continue
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            f, length = Frame.parse_frame_header(memoryview(buf[:9]))
            if len(buf) < 9 + length:
                break
            f.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            if f.stream_id and f.stream_id == late:
                late_frames.append(f)
            if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
                s.sendall(SettingsFrame(0, flags=["ACK"]).serialize())
            elif isinstance(f, PingFrame) and "ACK" not in f.flags:
                ack = PingFrame(0, flags=["ACK"])
                ack.opaque_data = f.opaque_data
                s.sendall(ack.serialize())
            elif isinstance(f, GoAwayFrame):
                goaways.append(f.last_stream_id)
                if len(goaways) == 2:
                    late = sids[-1] + 2
                    s.sendall(headers(late, "/"))
            elif isinstance(f, HeadersFrame):
                statuses[f.stream_id] = dict(dec.decode(f.data)).get(":status")
                if "END_STREAM" in f.flags:
                    ended.add(f.stream_id)
            elif isinstance(f, DataFrame) and "END_STREAM" in f.flags:
                ended.add(f.stream_id)
            elif isinstance(f, RstStreamFrame):
                fail(f"stream {f.stream_id} reset during shutdown")
    if ended != set(sids) or any(statuses.get(i) != "200" for i in sids):
        fail(f"in-flight requests lost: ended {sorted(ended)}, statuses {statuses}")
    if len(goaways) != 2 or goaways[0] != 2**31 - 1 or goaways[1] != sids[-1]:
        fail(f"GOAWAY sequence {goaways}, expected [2147483647, {sids[-1]}]")
    if late is None or late_frames:
        fail(f"late stream {late} was answered: {late_frames}")
    print(f"ok: {len(ended)} in-flight requests completed; GOAWAYs {goaways}; "
          f"stream {late} > {goaways[-1]} got no answer and is retryable")


if len(sys.argv) > 2 and sys.argv[2] == "shutdown":
    graceful_shutdown()
    sys.exit(0)
trailers_both_ways()
flow_control_stall_and_resume()
rst_and_window_update_on_closed_streams_are_tolerated()
http11_request_line_answered()
print("all edge cases passed")
