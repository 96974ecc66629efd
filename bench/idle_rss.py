#!/usr/bin/env python3
"""RSS of a server holding N idle HTTP/2 connections.

Usage: bench/idle_rss.py HOST:PORT SERVER_PID [N=10000]
Opens N connections, completes each HTTP/2 handshake (preface, SETTINGS, SETTINGS ACK), waits
for the server to settle, and prints the server's RSS before and after, in MiB.
"""
import resource
import socket
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
pid = int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))


def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
SETTINGS_ACK = bytes([0, 0, 0, 4, 1, 0, 0, 0, 0])

before = rss_mib()
socks = []
for i in range(n):
    s = socket.create_connection((host, int(port)))
    s.sendall(PREFACE + SETTINGS + SETTINGS_ACK)
    socks.append(s)
    if i % 500 == 499:
        # Read what the server sent so its output is drained.
        for t in socks[-500:]:
            t.setblocking(False)
            try:
                while t.recv(65536):
                    pass
            except BlockingIOError:
                pass
time.sleep(2)
for t in socks:
    t.setblocking(False)
    try:
        while t.recv(65536):
            pass
    except (BlockingIOError, ConnectionError):
        pass
time.sleep(1)
after = rss_mib()
print(f"{n} idle connections: server RSS {before:.1f} MiB before, {after:.1f} MiB after, "
      f"{(after - before) * 1024 / n:.1f} KiB per connection")
