"""The benchmarks' client of a live host's control socket: one JSON object
per line each way (docs/HOT-RELOAD.md). Written apart from livebot's own
client so that a benchmark measures the host, not the CLI's start-up."""

import json
import socket
import time


class Client:
    # Connects, retrying every `poll` seconds for `deadline` seconds while
    # the host is still starting.
    def __init__(self, path, deadline=10.0, poll=0.001):
        end = time.monotonic() + deadline
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > end:
                    raise
                time.sleep(poll)
        self.buf = b""

    def ask(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("host closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.s.close()
