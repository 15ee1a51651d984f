"""msgpack encode/decode of the `[version, type, payload]` envelope, and DropLog for bad frames.

decode() trusts nothing: every failure, whatever its cause, comes out as a one-line ProtocolError.
"""

from __future__ import annotations

import logging
from typing import Any

import msgpack

from .constants import (
    MAX_ARRAY_LEN,
    MAX_BIN_LEN,
    MAX_CONTAINER_DENSITY,
    MAX_CONTROL_FRAME,
    MAX_MAP_LEN,
    MAX_MESSAGE_SIZE,
    MAX_STATS_FRAME,
    MAX_STR_LEN,
    PROTOCOL_VERSION,
)
from .messages import MESSAGE_TYPES, Message, ProtocolError, _short

__all__ = ["MESSAGE_TYPES", "WORKER_FRAME_LIMITS", "DropLog", "ProtocolError", "decode", "encode"]

log = logging.getLogger("gradual.proto")

# What the master accepts from workers, per type (a type missing here is not one a worker sends).
WORKER_FRAME_LIMITS: dict[str, int] = {
    "hello": MAX_CONTROL_FRAME, "ready": MAX_CONTROL_FRAME, "bundle_error": MAX_CONTROL_FRAME,
    "heartbeat": MAX_CONTROL_FRAME, "stats": MAX_STATS_FRAME, "error": MAX_CONTROL_FRAME,
    "notice": MAX_CONTROL_FRAME, "bye": MAX_CONTROL_FRAME, "stopped": MAX_CONTROL_FRAME,
}
# Bytes that open a msgpack container (fixmap, fixarray, array16/32, map16/32), for the density check.
_NOT_CONTAINERS = bytes(b for b in range(256) if not (0x80 <= b <= 0x9F or 0xDC <= b <= 0xDF))


def encode(msg: Message) -> bytes:
    """One frame for msg; ProtocolError if it cannot be packed or exceeds MAX_MESSAGE_SIZE."""
    if not isinstance(msg, Message) or MESSAGE_TYPES.get(msg.TYPE) is not type(msg):
        raise ProtocolError(f"cannot encode {type(msg).__name__}: not a registered message type")
    try:
        frame = msgpack.packb([PROTOCOL_VERSION, msg.TYPE, msg.to_payload()], use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        # Fields are checked at construction; what is left is ints beyond 64 bits, lone surrogates,
        # and stats batch / options contents that msgpack cannot carry.
        raise ProtocolError(f"cannot encode {msg.TYPE}: {exc}") from exc
    if len(frame) > MAX_MESSAGE_SIZE:
        raise ProtocolError(
            f"{msg.TYPE} frame of {len(frame)} bytes exceeds the {MAX_MESSAGE_SIZE} byte limit"
        )
    return frame


def _refuse_ext(code: int, data: bytes) -> Any:
    # Extension types could smuggle in non-primitive objects; the protocol has no use for them.
    raise ProtocolError(f"msgpack extension type {code} is not allowed")


def _peek_type(frame: bytes) -> object:
    """The envelope's type field, read from the first bytes only (None when they are not an envelope)."""
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=512, max_str_len=255, max_bin_len=0,
                                max_array_len=3, max_map_len=0, max_ext_len=0)
    unpacker.feed(bytes(memoryview(frame)[:512]))
    try:
        if unpacker.read_array_header() != 3:
            return None
        unpacker.skip()
        return unpacker.unpack()
    except Exception:  # junk: the full decode says why
        return None


def _check_shape(frame: bytes, size: int, limits: dict[str, int]) -> None:
    """Per-type size limits and the container density check, both before unpacking the frame."""
    type_name = _peek_type(frame)
    limit = limits.get(type_name, MAX_CONTROL_FRAME) if isinstance(type_name, str) else MAX_CONTROL_FRAME
    if size > limit:
        shown = _short(type_name) if isinstance(type_name, str) else "untyped"
        raise ProtocolError(f"{shown} frame of {size} bytes exceeds the {limit} byte limit for it")
    if size > MAX_CONTROL_FRAME:
        containers = len(bytes(frame).translate(None, _NOT_CONTAINERS))  # what is left: container bytes
        if containers > size * MAX_CONTAINER_DENSITY:
            raise ProtocolError(f"implausible frame: {containers} containers in {size} bytes")


def decode(frame: bytes, limits: dict[str, int] | None = None) -> Message:
    """The message in frame; ProtocolError (and nothing else) if the frame is not a valid one.

    ``limits`` (the master passes WORKER_FRAME_LIMITS) caps each type's frame size, and refuses frames
    of other types and implausibly container-dense ones, before anything is unpacked."""
    try:
        # Any buffer will do (bytes, zmq.Frame from a zero-copy recv); str and other objects will not.
        size = memoryview(frame).nbytes
    except TypeError:
        raise ProtocolError(f"frame must be bytes, got {type(frame).__name__}") from None
    if size > MAX_MESSAGE_SIZE:
        raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_MESSAGE_SIZE} byte limit")
    if size == 0:
        raise ProtocolError("empty frame")
    if limits is not None:
        _check_shape(frame, size, limits)
    try:
        envelope = msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            use_list=True,
            ext_hook=_refuse_ext,
            max_str_len=MAX_STR_LEN,
            max_bin_len=MAX_BIN_LEN,
            max_array_len=MAX_ARRAY_LEN,
            max_map_len=MAX_MAP_LEN,
            max_ext_len=0,
        )
    except ProtocolError:
        raise
    except Exception as exc:
        # msgpack raises a zoo of ValueError subclasses, and C-level errors besides; all mean "junk".
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProtocolError(f"not a msgpack frame: {reason}") from exc
    if not isinstance(envelope, list) or len(envelope) != 3:
        raise ProtocolError("envelope must be a 3-element array [version, type, payload]")
    version, type_name, payload = envelope
    if isinstance(version, bool) or version != PROTOCOL_VERSION or not isinstance(version, int):
        raise ProtocolError(f"unsupported protocol version {_short(version)}")
    if not isinstance(type_name, str):
        raise ProtocolError(f"message type must be str, got {type(type_name).__name__}")
    cls = MESSAGE_TYPES.get(type_name)
    if cls is None:
        raise ProtocolError(f"unknown message type {_short(type_name)}")
    if not isinstance(payload, dict):
        raise ProtocolError(f"{type_name}: payload must be a map, got {type(payload).__name__}")
    return cls.from_payload(payload)


class DropLog:
    """Counts dropped frames and logs each distinct (peer, reason) once, so junk cannot flood the log."""

    def __init__(self, logger: logging.Logger | None = None, max_distinct: int = 1000) -> None:
        self.count = 0
        self._log = logger or log
        self._max_distinct = max_distinct
        self._seen: set[tuple[str, str]] = set()
        self._suppressed = False

    def drop(self, peer: str, exc: ProtocolError) -> None:
        self.count += 1
        key = (peer, str(exc))
        if key in self._seen:
            return
        if len(self._seen) >= self._max_distinct:
            # Bounded memory too: a peer inventing a new reason per frame gets one last warning.
            if not self._suppressed:
                self._suppressed = True
                self._log.warning(
                    "dropped frame from %s: %s (further new drop reasons are counted, not logged)", *key
                )
            return
        self._seen.add(key)
        self._log.warning("dropped frame from %s: %s", *key)
