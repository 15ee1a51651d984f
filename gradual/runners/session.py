"""``ctx.session``: a ``requests.Session`` whose cookies are the user's journey cookie jar.

A journey may mix YAML steps and Python request functions (``request_file: [shop.yaml, steps.py]``).
The session cookie a YAML login received must reach the server when a Python step calls
``ctx.session.get(...)``, and a cookie a Python step received must reach the next YAML step: both use
the one jar (``journeys.cookies.CookieJar``). requests' own jar (``ctx.session.cookies``) keeps working
as in any requests.Session; a cookie both jars hold is sent once, requests' value first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from ..journeys.cookies import CookieJar


class JourneySession(requests.Session):
    """Every request sends the jar's cookies for its URL; every response (each redirect hop too, as
    requests sends each hop through ``send``) stores its Set-Cookie headers in the jar."""

    def __init__(self, jar: CookieJar) -> None:
        super().__init__()
        self.jar = jar

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        host, path, secure = parts.hostname or "", parts.path or "/", parts.scheme == "https"
        header = self.jar.header(host, path, secure)
        if header is not None:
            given = request.headers.get("Cookie")
            if given:
                names = {pair.split("=", 1)[0].strip() for pair in given.split(";")}
                extra = [pair for pair in header.split("; ") if pair.split("=", 1)[0] not in names]
                header = "; ".join([given, *extra])
            request.headers["Cookie"] = header
        response = super().send(request, **kwargs)
        raw_headers = getattr(response.raw, "headers", None)
        set_cookies = raw_headers.getlist("Set-Cookie") if hasattr(raw_headers, "getlist") else []
        if set_cookies:
            self.jar.update(list(set_cookies), host, path)
        return response
