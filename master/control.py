"""Who may use the HTTP API's control endpoints (stop): a request from a loopback peer, sent by a
script (a page of another site cannot: the request needs a header that only a same-origin fetch or a
client like curl sends, and a cross-origin Origin is refused), carrying the master's API token when
the master has one (``token``: any object with ``allows(environ) -> bool``, as the trusted-cluster
work's master/api_token.ApiToken has).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Protocol

CONTROL_HEADER = "HTTP_X_GRADUAL_CONTROL"  # "X-Gradual-Control: 1"


class Token(Protocol):
    def allows(self, environ: dict[str, Any]) -> bool: ...


class ControlGuard:
    def __init__(self, token: Token | None = None) -> None:
        self.token = token

    def refuse(self, environ: dict[str, Any]) -> tuple[int, str] | None:
        """None to allow, else (status code, reason)."""
        if not _loopback(environ.get("REMOTE_ADDR", "")):
            return 403, "control requests are accepted from loopback only"
        if environ.get(CONTROL_HEADER) != "1":
            return 403, "a control request needs the header X-Gradual-Control: 1"
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin != f"http://{environ.get('HTTP_HOST', '')}":
            return 403, f"cross-origin control request from {origin}"
        if self.token is not None and not self.token.allows(environ):
            return 401, "this endpoint needs the API token the master printed at start (Authorization: Bearer ...)"
        return None


def _loopback(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))
