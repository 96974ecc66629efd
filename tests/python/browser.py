"""Loads a page in headless Chromium and prints what the page's script found, as JSON.

Usage: browser.py URL
Starts Debian's Chromium (/usr/bin/chromium) headless with a new profile, trusting any
certificate (the server's is self-signed), opens URL through the DevTools protocol, waits for
the page's `window.h2kitDone` promise and prints its value. Chromium's own network services
(updates, sync) are off: this machine's network is closed.
"""
import json
import subprocess
import sys
import tempfile
import time

import websocket  # websocket-client

url = sys.argv[1]
profile = tempfile.mkdtemp(prefix="h2kit-chromium-")
chromium = subprocess.Popen(
    [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--ignore-certificate-errors",
        "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank",
    ],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.PIPE,
    text=True,
)
try:
    endpoint = None
    deadline = time.time() + 30
    while endpoint is None and time.time() < deadline:
        line = chromium.stderr.readline()
        if not line:
            raise SystemExit("chromium exited before its DevTools endpoint was up")
        if line.startswith("DevTools listening on "):
            endpoint = line.split(" on ", 1)[1].strip()
    if endpoint is None:
        raise SystemExit("chromium's DevTools endpoint did not come up within 30 s")
    # Chromium's stderr is not read any more; keep it from filling its pipe.
    subprocess.Popen(["cat"], stdin=chromium.stderr, stdout=subprocess.DEVNULL)

    cdp = websocket.create_connection(endpoint, timeout=60)
    next_id = [0]

    def call(method, params=None, session=None):
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        cdp.send(json.dumps(msg))
        while True:
            reply = json.loads(cdp.recv())
            if reply.get("id") == next_id[0]:
                if "error" in reply:
                    raise SystemExit("%s: %s" % (method, reply["error"]))
                return reply["result"]

    target = call("Target.createTarget", {"url": url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    deadline = time.time() + 60
    while True:
        ready = call("Runtime.evaluate", {
            "expression": "typeof window.h2kitDone === 'object'",
            "returnByValue": True,
        }, session)["result"].get("value")
        if ready:
            break
        if time.time() > deadline:
            raise SystemExit("the page did not load within 60 s")
        time.sleep(0.1)
    result = call("Runtime.evaluate", {
        "expression": "window.h2kitDone",
        "awaitPromise": True,
        "returnByValue": True,
    }, session)
    if "exceptionDetails" in result:
        raise SystemExit("the page's script failed: %s" % json.dumps(result["exceptionDetails"]))
    print(json.dumps(result["result"]["value"]))
    sys.stdout.flush()
    # Chromium stays up until our caller has read the server's counters (a line on stdin),
    # so that closing the browser is not part of what they count.
    sys.stdin.readline()
finally:
    chromium.kill()
    chromium.wait()
