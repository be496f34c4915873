"""Tiny misbehaving servers on 127.0.0.1 for the failure modes no sandbox should have.

Each answers every connection the same way: speaks TLS to plain HTTP, hangs, answers a 502 or
200 web page, rate-limits far into the future, or pages in a circle. Bounded: a hanging
connection is held at most ``hold`` seconds, and everything stops on ``close()``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import socketserver
import ssl
import tempfile
import threading
from pathlib import Path

Kind = str  # "tls", "hang", "502", "html200", "ratelimited", "stuck", "plain"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _response(status: str, content_type: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


def _notification(port: int) -> bytes:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    account = {"id": "1", "username": "ann", "acct": "ann", "display_name": "Ann"}
    item = {
        "id": "5",
        "type": "mention",
        "created_at": now,
        "account": account,
        "status": {
            "id": "105",
            "created_at": now,
            "url": f"http://127.0.0.1:{port}/@ann/105",
            "account": account,
            "content": "<p>@northwind hello</p>",
        },
    }
    return json.dumps([item]).encode()


class LoopbackServer:
    """One misbehaving server: ``url`` to point a channel at, ``close()`` to stop."""

    def __init__(self, kind: Kind, *, hold: float = 20.0) -> None:
        self.kind = kind
        self.hold = hold
        self._stop = threading.Event()
        self._tls: ssl.SSLContext | None = None
        if kind == "tls":
            folder = Path(tempfile.mkdtemp(prefix="socialops-tls-"))
            cert, key = _self_signed(folder)
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(cert, key)
        handle = self._handle

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                handle(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(self.hold)
        try:
            if self._tls is not None:
                with self._tls.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                return
            if self.kind == "hang":
                conn.recv(4096)
                self._stop.wait(self.hold)
                return
            request = conn.recv(65536)
            conn.sendall(self._answer(request))
        except (OSError, ssl.SSLError):
            return  # a client that gave up, or spoke plain HTTP to TLS: that is the point

    def _answer(self, request: bytes) -> bytes:
        if self.kind == "502":
            return _response("502 Bad Gateway", "text/html", b"<html><h1>502 Bad Gateway</h1>")
        if self.kind == "html200":
            page = b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>"
            return _response("200 OK", "text/html; charset=utf-8", page)
        if self.kind == "ratelimited":
            reset = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
            headers = (
                "x-ratelimit-limit: 300\r\nx-ratelimit-remaining: 0\r\n"
                f"x-ratelimit-reset: {reset.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\r\n"
            )
            body = b'{"error":"Too many requests"}'
            return _response("429 Too Many Requests", "application/json", body, headers)
        if self.kind == "stuck":
            base = f"http://127.0.0.1:{self.port}/api/v1/notifications"
            link = f'link: <{base}?max_id=5>; rel="next", <{base}?min_id=5>; rel="prev"\r\n'
            return _response("200 OK", "application/json", _notification(self.port), link)
        return _response("200 OK", "application/json", b"[]")

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
