"""Who may use the HTTP API's control endpoints (stop): a request from a loopback peer, sent by a
script (a page of another site cannot: the request needs a header that only a same-origin fetch or a
client like curl sends, and a cross-origin Origin is refused).

Until the master has an API token (the trusted-cluster work), loopback is the whole rule.
"""

from __future__ import annotations

import ipaddress
from typing import Any

CONTROL_HEADER = "HTTP_X_GRADUAL_CONTROL"  # "X-Gradual-Control: 1"


class ControlGuard:
    def refuse(self, environ: dict[str, Any]) -> tuple[int, str] | None:
        """None to allow, else (status code, reason)."""
        if not _loopback(environ.get("REMOTE_ADDR", "")):
            return 403, "control requests are accepted from loopback only"
        if environ.get(CONTROL_HEADER) != "1":
            return 403, "a control request needs the header X-Gradual-Control: 1"
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin != f"http://{environ.get('HTTP_HOST', '')}":
            return 403, f"cross-origin control request from {origin}"
        return None


def _loopback(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))
