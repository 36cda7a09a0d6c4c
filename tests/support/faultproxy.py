"""A fault-injecting TCP proxy the tests control, between the wallet and the
settlement core. Modes (switchable at any time, thread-safe):

- ``pass``: forward both ways;
- ``refuse``: drop each request unforwarded and close the connection (the
  core never sees it);
- ``blackhole``: read the request, forward nothing, answer nothing (the
  client times out after sending; the core never saw it);
- ``delay_response``: forward the request at once, hold the core's answer for
  ``delay`` seconds (the core applied it; the client may time out);
- ``error_fraction``: answer a fraction of requests with HTTP 503 without
  forwarding, forward the rest (optionally delayed by ``delay``).
"""

from __future__ import annotations

import random
import socket
import threading
import time


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.delay = 0.0
        self.fraction = 0.0
        self.only: bytes | None = None
        self.rng = random.Random(1234)
        self.counts = {"connections": 0, "errors_injected": 0}
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/core") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, mode: str, *, delay: float = 0.0, fraction: float = 0.0, only: bytes | None = None) -> None:
        """Switch the fault; with ``only``, it applies just to requests whose
        bytes contain it (e.g. b'"infno":"2102"'), the rest pass."""
        with self._lock:
            self.mode, self.delay, self.fraction, self.only = mode, delay, fraction, only

    def close(self) -> None:
        self._stop.set()
        try:
            self._sock.close()
        except OSError:
            pass

    def _serve(self):
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.counts["connections"] += 1
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _current(self, request: bytes) -> tuple[str, float, bool]:
        """The mode for this request (decided per request, so pooled
        keep-alive connections see a mode change too)."""
        with self._lock:
            if self.only is not None and self.only not in request:
                return "pass", 0.0, False
            inject = self.mode == "error_fraction" and self.rng.random() < self.fraction
            if inject:
                self.counts["errors_injected"] += 1
            return self.mode, self.delay, inject

    def _handle(self, client: socket.socket):
        upstream = None
        try:
            client.settimeout(120)
            while True:
                request = _read_message(client)
                if request is None:
                    return
                mode, delay, inject = self._current(request)  # decided when the request arrives
                if mode == "refuse":
                    return  # dropped unforwarded: the client sees the connection close
                if mode == "blackhole":
                    time.sleep(60)
                    return
                if inject:
                    body = b'{"detail": "injected"}'
                    client.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                                   b"content-length: %d\r\n\r\n%s" % (len(body), body))
                    continue
                if upstream is None:
                    upstream = socket.create_connection(self.target, timeout=120)
                upstream.sendall(request)
                response = _read_message(upstream)
                if response is None:
                    return
                if mode in ("delay_response", "error_fraction") and delay:
                    time.sleep(delay)
                client.sendall(response)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 message with a Content-Length body (what httpx sends and
    uvicorn answers here); None when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head + b"\r\n\r\n" + rest
