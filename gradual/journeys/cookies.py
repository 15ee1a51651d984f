"""A per-user cookie jar for HTTP requests (RFC 6265, the parts a load test meets).

Cookies are kept per host (a Domain attribute widens them to its subdomains), matched by path prefix,
dropped when Max-Age <= 0 or Expires is past; the Secure flag keeps a cookie off plain http.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(slots=True)
class Cookie:
    name: str
    value: str
    domain: str  # the host it came from, or the Domain attribute (lower case, no leading dot)
    host_only: bool
    path: str
    secure: bool
    expires: float | None  # epoch seconds; None: until the user ends


def _default_path(request_path: str) -> str:
    path = request_path.split("?", 1)[0]
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rfind("/")]


def parse_set_cookie(header: str, host: str, request_path: str, now: float | None = None) -> Cookie | None:
    parts = header.split(";")
    name, sep, value = parts[0].partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    domain, host_only, path, secure, expires = host.lower(), True, _default_path(request_path), False, None
    now = time.time() if now is None else now
    for attr in parts[1:]:
        key, _, val = attr.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key == "domain" and val:
            val = val.lstrip(".").lower()
            if host.lower() != val and not host.lower().endswith("." + val):
                return None  # a cookie for another site: refused, as browsers do
            domain, host_only = val, False
        elif key == "path" and val.startswith("/"):
            path = val
        elif key == "secure":
            secure = True
        elif key == "max-age":
            try:
                expires = now + int(val)
            except ValueError:
                pass
        elif key == "expires" and expires is None:
            try:
                expires = parsedate_to_datetime(val).timestamp()
            except (TypeError, ValueError):
                pass
    return Cookie(name, value, domain, host_only, path, secure, expires)


class CookieJar:
    __slots__ = ("_cookies",)

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}

    def __len__(self) -> int:
        return len(self._cookies)

    def update(self, set_cookies: list[str], host: str, request_path: str) -> None:
        now = time.time()
        for header in set_cookies:
            cookie = parse_set_cookie(header, host, request_path, now)
            if cookie is None:
                continue
            key = (cookie.domain, cookie.path, cookie.name)
            if cookie.expires is not None and cookie.expires <= now:
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    def header(self, host: str, path: str, secure: bool) -> str | None:
        """The Cookie header value for a request, or None when no cookie applies."""
        if not self._cookies:
            return None
        host = host.lower()
        path = path.split("?", 1)[0] or "/"
        now = time.time()
        found: list[Cookie] = []
        for key, c in list(self._cookies.items()):
            if c.expires is not None and c.expires <= now:
                del self._cookies[key]
                continue
            if c.host_only and host != c.domain:
                continue
            if not c.host_only and host != c.domain and not host.endswith("." + c.domain):
                continue
            if not (path == c.path or path.startswith(c.path.rstrip("/") + "/")) or (c.secure and not secure):
                continue
            found.append(c)
        if not found:
            return None
        found.sort(key=lambda c: -len(c.path))  # longer paths first (RFC 6265 5.4)
        return "; ".join(f"{c.name}={c.value}" for c in found)

    def get(self, name: str) -> str | None:
        for c in self._cookies.values():
            if c.name == name:
                return c.value
        return None

    def clear(self) -> None:
        self._cookies.clear()
