"""The token that guards the HTTP API's control endpoints (stop, the dashboard's controls).

Reading (/metrics, /status) needs no token; changing the run does. The master makes a fresh token at
start (or takes GRADUAL_API_TOKEN) and prints it; a client sends it as ``Authorization: Bearer <token>``
or ``X-Gradual-Token: <token>``. The HTTP API's ControlGuard (master/control.py) calls
``ApiToken.allows(environ)`` before a control endpoint acts.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

ENV_VAR = "GRADUAL_API_TOKEN"
MIN_LENGTH = 16


class TokenError(ValueError):
    """GRADUAL_API_TOKEN is set but too short to be a secret."""


class ApiToken:
    def __init__(self, value: str | None = None) -> None:
        if value is None:
            value = os.environ.get(ENV_VAR) or None
            if value is not None and len(value) < MIN_LENGTH:
                raise TokenError(f"{ENV_VAR} must be at least {MIN_LENGTH} characters")
        self.value = value or secrets.token_urlsafe(24)

    def allows(self, environ: dict[str, Any]) -> bool:
        """True when the request carries this token (constant-time comparison)."""
        given = ""
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        elif environ.get("HTTP_X_GRADUAL_TOKEN"):
            given = str(environ["HTTP_X_GRADUAL_TOKEN"]).strip()
        return bool(given) and hmac.compare_digest(given.encode(), self.value.encode())
