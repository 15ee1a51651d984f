"""A response as checks and extractions read it: status, headers, and the body decoded on first use.

The HTTP runner builds one only for requests that have ``expect``, ``extract`` or callbacks, so a plain
request never pays for decoding (gzip, deflate, charset) or JSON parsing.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.I)
_UNSET = object()


class Answer:
    __slots__ = ("status", "_headers", "raw", "_text", "_json", "_response")

    def __init__(self, status: int, headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]],
                 raw: bytes) -> None:
        self.status = status
        # (name, value) pairs as received, names in their original case: str, or bytes off the wire
        # (decoded only when a check reads them)
        self._headers = headers
        self._response: Any = None
        self.raw = raw
        self._text: str | None = None
        self._json: Any = _UNSET

    @classmethod
    def from_wire(cls, status: int, headers: Sequence[tuple[bytes, bytes]], raw: bytes | None) -> Answer:
        return cls(status, headers, raw or b"")

    @classmethod
    def from_response(cls, response: Any) -> Answer:
        """An answer over an httpclient.Response: its head is parsed only if a check reads a header."""
        answer = cls(response.status_code, (), response.content or b"")
        answer._response = response
        return answer

    @property
    def headers(self) -> Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]]:
        if self._response is not None:
            return self._response.headers
        return self._headers

    def _may_have(self, name: bytes) -> bool:
        """False when the header surely is not there (a substring test of the raw head, no parsing)."""
        return self._response is None or self._response.may_have(name)

    def header(self, name: str) -> str | None:
        values = self.header_values(name, first=True)
        return values[0] if values else None

    def header_values(self, name: str, first: bool = False) -> list[str]:
        wanted = name.lower()
        wanted_bytes = wanted.encode("latin-1")
        out = []
        for key, value in self.headers:
            if isinstance(key, bytes):
                if key.lower() == wanted_bytes:
                    out.append(value.decode("latin-1"))  # type: ignore[union-attr]
            elif key.lower() == wanted:
                out.append(value)  # type: ignore[arg-type]
            if first and out:
                break
        return out

    @property
    def body(self) -> bytes:
        """The body with its Content-Encoding (gzip, deflate) undone."""
        if not self._may_have(b"content-encoding"):
            return self.raw
        encoding = (self.header("content-encoding") or "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(self.raw, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(self.raw)
            except zlib.error:  # raw deflate without the zlib wrapper, as some servers send it
                return zlib.decompress(self.raw, -zlib.MAX_WBITS)
        return self.raw

    @property
    def text(self) -> str:
        if self._text is None:
            m = _CHARSET.search(self.header("content-type") or "")
            charset = m.group(1) if m else "utf-8"
            try:
                self._text = self.body.decode(charset, errors="replace")
            except LookupError:  # an unknown charset name
                self._text = self.body.decode("utf-8", errors="replace")
        return self._text

    def json(self) -> Any:
        """The parsed JSON body; raises ValueError when it is not JSON."""
        if self._json is _UNSET:
            plain = True
            if self._may_have(b"charset"):
                m = _CHARSET.search(self.header("content-type") or "")
                plain = m is None or m.group(1).lower() in ("utf-8", "utf8")
            # UTF-8 bytes parse as they are (json.loads reads bytes); another charset decodes first.
            self._json = json.loads(self.body if plain else self.text)
        return self._json
