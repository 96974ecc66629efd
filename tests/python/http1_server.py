"""A cleartext server that does not speak HTTP/2, for the client's "not HTTP/2" tests.

Usage: http1_server.py MODE. Prints "listening PORT", then "conn N" for each connection.
Modes:
  status   answers the first bytes with an HTTP/1.0 status line, as nginx and Apache answer
           a request they cannot parse: "HTTP/1.0 400 Bad Request"
  stdlib   Python's own http.server (BaseHTTPRequestHandler), whatever it answers
"""
import http.server
import socket
import sys
import threading

MODE = sys.argv[1]
count = 0
lock = threading.Lock()


def counted():
    global count
    with lock:
        count += 1
        print(f"conn {count}", flush=True)


if MODE == "stdlib":
    class Handler(http.server.BaseHTTPRequestHandler):
        def setup(self):
            counted()
            super().setup()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
else:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"listening {sock.getsockname()[1]}", flush=True)
    while True:
        conn, _ = sock.accept()
        counted()
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        conn.close()
