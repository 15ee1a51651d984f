"""The messages master and worker exchange, one frozen dataclass per type.

Each class mirrors one entry of docs/protocol.md. Field types are checked when a message is built,
so a message that exists is a valid one, whether the local code made it or decode() did.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import types
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

from .constants import MAX_CAPACITY, MAX_RECORDS_PER_BATCH


class ProtocolError(ValueError):
    """A frame or message that breaks the wire protocol; the message is one line."""


_M = TypeVar("_M", bound="Message")

# A checker takes (where, value) and returns the value, normalised (int -> float, str subclass -> str),
# or raises ProtocolError naming `where`.
_Checker = Callable[[str, Any], Any]


def _short(value: object, limit: int = 60) -> str:
    # Keeps error messages one line and small even when a peer sends megabytes of junk.
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
    return "nil" if value is None else type(value).__name__


def _expected(what: str, where: str, value: object) -> ProtocolError:
    return ProtocolError(f"{where}: expected {what}, got {_type_name(value)}")


def _check_any(where: str, value: Any) -> Any:
    return value


def _check_str(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("str", where, value)
    # str.__str__ turns a str-mixin enum member into its plain value, which is what goes on the wire.
    return str.__str__(value)


def _check_int(where: str, value: Any) -> int:
    # bool is an int subclass in Python but a different msgpack type; True is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _expected("int", where, value)
    return int(value)


def _check_float(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _expected("float", where, value)
    number = float(value)
    if not math.isfinite(number):
        raise ProtocolError(f"{where}: expected a finite float, got {number}")
    return number


def _check_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _expected("bool", where, value)
    return value


def _check_bytes(where: str, value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise _expected("bytes", where, value)
    return value


def _check_none(where: str, value: Any) -> None:
    if value is not None:
        raise _expected("nil", where, value)
    return None


_SCALAR_CHECKERS: dict[Any, _Checker] = {
    Any: _check_any,
    str: _check_str,
    int: _check_int,
    float: _check_float,
    bool: _check_bool,
    bytes: _check_bytes,
    type(None): _check_none,
    None: _check_none,
}


def _union_checker(options: tuple[_Checker, ...], names: str) -> _Checker:
    def check(where: str, value: Any) -> Any:
        for option in options:
            try:
                return option(where, value)
            except ProtocolError:
                continue
        raise _expected(names, where, value)

    return check


def _dict_checker(value_check: _Checker, typed: bool) -> _Checker:
    def check(where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _expected("map", where, value)
        for key in value:
            if not isinstance(key, str):
                raise ProtocolError(f"{where}: map keys must be str, got {_type_name(key)}")
        if not typed:
            # Untyped maps (stats batch, options) are validated by their owners; do not copy them.
            return value
        return {str.__str__(key): value_check(f"{where}[{_short(key)}]", item) for key, item in value.items()}

    return check


def _list_checker(item_check: _Checker, typed: bool) -> _Checker:
    def check(where: str, value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise _expected("array", where, value)
        if not typed:
            return list(value)
        return [item_check(f"{where}[{index}]", item) for index, item in enumerate(value)]

    return check


def _checker_for(hint: Any) -> _Checker:
    if hint in _SCALAR_CHECKERS:
        return _SCALAR_CHECKERS[hint]
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (Union, types.UnionType):
        names = " or ".join(
            "nil" if arg is type(None) else getattr(arg, "__name__", str(arg)) for arg in args
        )
        return _union_checker(tuple(_checker_for(arg) for arg in args), names)
    if hint is dict or origin is dict:
        if args and args[0] is not str:
            raise TypeError(f"message maps must have str keys, not {hint}")
        return _dict_checker(_checker_for(args[1]) if args else _check_any, typed=bool(args))
    if hint is list or origin is list:
        return _list_checker(_checker_for(args[0]) if args else _check_any, typed=bool(args))
    raise TypeError(f"{hint!r} is not a msgpack primitive type usable in a message")


@dataclass(frozen=True)
class _Spec:
    checkers: tuple[tuple[str, _Checker], ...]
    required: tuple[str, ...]


_SPECS: dict[type, _Spec] = {}


def _spec(cls: type[Message]) -> _Spec:
    spec = _SPECS.get(cls)
    if spec is None:
        hints = get_type_hints(cls)
        cls_fields = fields(cls)  # type: ignore[arg-type]
        spec = _Spec(
            checkers=tuple((f.name, _checker_for(hints[f.name])) for f in cls_fields),
            required=tuple(
                f.name for f in cls_fields if f.default is MISSING and f.default_factory is MISSING
            ),
        )
        _SPECS[cls] = spec
    return spec


class Message:
    """Base of every message. Subclasses are frozen, slotted dataclasses with a TYPE name."""

    __slots__ = ()
    TYPE: ClassVar[str]

    def __post_init__(self) -> None:
        for name, check in _spec(type(self)).checkers:
            value = getattr(self, name)
            checked = check(f"{self.TYPE}.{name}", value)
            if checked is not value:
                # Frozen dataclass: normalising a field in place is only possible through object.
                object.__setattr__(self, name, checked)
        self._validate()

    def _validate(self) -> None:
        """Rules on values beyond their types; subclasses override."""

    def to_payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_payload(cls: type[_M], payload: Mapping[str, Any]) -> _M:
        """Build from a decoded payload map; unknown keys are ignored for forward compatibility."""
        spec = _spec(cls)
        for name in spec.required:
            if name not in payload:
                raise ProtocolError(f"{cls.TYPE}: missing field {name!r}")
        return cls(**{name: payload[name] for name, _ in spec.checkers if name in payload})


MESSAGE_TYPES: dict[str, type[Message]] = {}


def _register(cls: type[_M]) -> type[_M]:
    if cls.TYPE in MESSAGE_TYPES:
        raise RuntimeError(f"message type {cls.TYPE!r} is defined twice")
    _spec(cls)  # an unsupported field type fails at import, not on the first frame
    MESSAGE_TYPES[cls.TYPE] = cls
    return cls


def _at_least(where: str, value: float, low: float) -> None:
    if value < low:
        raise ProtocolError(f"{where}: must be >= {low}, got {value}")


def _positive(where: str, value: float) -> None:
    if value <= 0:
        raise ProtocolError(f"{where}: must be > 0, got {value}")


def _check_worker_id(where: str, worker_id: str) -> None:
    # The worker id is the DEALER routing id: ZeroMQ wants 1..255 bytes, not starting with a zero byte.
    encoded = worker_id.encode("utf-8", "surrogatepass")
    if not 1 <= len(encoded) <= 255 or encoded[0] == 0:
        raise ProtocolError(
            f"{where}: must be 1-255 UTF-8 bytes not starting with NUL, got {_short(worker_id)}"
        )
    # Worker ids go into logs and reports: a newline or other control character would forge lines there.
    if any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in worker_id):
        raise ProtocolError(f"{where}: must not contain control characters or line breaks, got {_short(worker_id)}")


# --- worker -> master ---------------------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class Hello(Message):
    """First message on every (re)connect; the master answers with Welcome."""

    TYPE: ClassVar[str] = "hello"
    worker_id: str
    version: str
    host: str
    pid: int
    cpu_count: int
    capacity: float = 1.0

    def _validate(self) -> None:
        _check_worker_id("hello.worker_id", self.worker_id)
        _at_least("hello.pid", self.pid, 0)
        _at_least("hello.cpu_count", self.cpu_count, 0)
        _positive("hello.capacity", self.capacity)
        if self.capacity > MAX_CAPACITY:
            raise ProtocolError(f"hello.capacity: must be <= {MAX_CAPACITY:g}, got {self.capacity:g}")


@_register
@dataclass(frozen=True, slots=True)
class Ready(Message):
    """The bundle is loaded; bundle_sha256 is Bundle.digest() as computed by the worker."""

    TYPE: ClassVar[str] = "ready"
    bundle_sha256: str


@_register
@dataclass(frozen=True, slots=True)
class BundleError(Message):
    """The bundle could not be loaded; the master aborts the run (exit 3)."""

    TYPE: ClassVar[str] = "bundle_error"
    message: str


@_register
@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    """Liveness, both ways; state is the sender's state (worker state or master state)."""

    TYPE: ClassVar[str] = "heartbeat"
    state: str
    cpu_percent: float = 0.0
    rss: int = 0
    users: int = 0
    phase: str = ""  # the worker's current phase ("" when none)
    done: list[str] = field(default_factory=list)  # run_once scenarios of that phase finished here

    def _validate(self) -> None:
        _at_least("heartbeat.cpu_percent", self.cpu_percent, 0)
        _at_least("heartbeat.rss", self.rss, 0)
        _at_least("heartbeat.users", self.users, 0)


@_register
@dataclass(frozen=True, slots=True)
class Stats(Message):
    """One stats batch; seq starts at 1 and grows by one per batch for the worker's lifetime."""

    TYPE: ClassVar[str] = "stats"
    seq: int
    batch: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)  # --records: completion records, bounded
    records_dropped: int = 0

    def _validate(self) -> None:
        _at_least("stats.seq", self.seq, 1)
        _at_least("stats.records_dropped", self.records_dropped, 0)
        if len(self.records) > MAX_RECORDS_PER_BATCH:
            raise ProtocolError(f"stats.records: {len(self.records)} records, more than {MAX_RECORDS_PER_BATCH}")


@_register
@dataclass(frozen=True, slots=True)
class Error(Message):
    """A fatal internal failure on the worker (request failures travel in stats, never here)."""

    TYPE: ClassVar[str] = "error"
    message: str


@_register
@dataclass(frozen=True, slots=True)
class Notice(Message):
    """A problem on the worker that the person running the test must see, such as a plugin that failed
    there. fatal: a required plugin failed after start-up, and the master stops the run (exit 3)."""

    TYPE: ClassVar[str] = "notice"
    message: str
    fatal: bool = False


@_register
@dataclass(frozen=True, slots=True)
class Bye(Message):
    """The worker is leaving on purpose; the master treats it as gone, not lost."""

    TYPE: ClassVar[str] = "bye"
    reason: str = ""


# --- master -> worker ---------------------------------------------------------------------------------


@_register
@dataclass(frozen=True, slots=True)
class Welcome(Message):
    """Answer to Hello: the worker is registered and learns the timing it must keep."""

    TYPE: ClassVar[str] = "welcome"
    worker_id: str
    run_id: str
    heartbeat_interval: float
    master_timeout: float
    stats_interval: float = 1.0  # seconds between stats batches; large clusters may ask for more

    def _validate(self) -> None:
        _check_worker_id("welcome.worker_id", self.worker_id)
        _positive("welcome.heartbeat_interval", self.heartbeat_interval)
        _positive("welcome.master_timeout", self.master_timeout)
        _positive("welcome.stats_interval", self.stats_interval)


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")


def _check_bundle_path(where: str, path: str) -> None:
    # A worker writes these paths under its own directory: anything that could escape it, or that
    # means something else on another OS, is refused rather than normalised.
    if not path or len(path) > 4096:
        raise ProtocolError(f"{where}: path must be 1-4096 characters")
    if "\\" in path or "\x00" in path:
        raise ProtocolError(f"{where}: path {_short(path)} contains a backslash or NUL")
    if path.startswith("/"):
        raise ProtocolError(f"{where}: path {_short(path)} is absolute")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ProtocolError(f"{where}: path {_short(path)} has an empty, '.' or '..' component")
    if _WINDOWS_DRIVE.match(parts[0]):
        raise ProtocolError(f"{where}: path {_short(path)} starts with a drive letter")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@_register
@dataclass(frozen=True, slots=True)
class Bundle(Message):
    """The run's config and request files, so every worker loads exactly what the master loaded."""

    TYPE: ClassVar[str] = "bundle"
    run_id: str
    config_path: str
    files: dict[str, bytes]
    sha256: dict[str, str]
    request_config: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def _validate(self) -> None:
        for path, data in self.files.items():
            _check_bundle_path("bundle.files", path)
            expected = self.sha256.get(path)
            if expected is None:
                raise ProtocolError(f"bundle.sha256: no entry for {_short(path)}")
            if not _SHA256_HEX.fullmatch(expected):
                raise ProtocolError(f"bundle.sha256: {_short(path)} is not a lowercase hex sha256")
            if _sha256_hex(data) != expected:
                raise ProtocolError(f"bundle.sha256: mismatch for {_short(path)}")
        extra = self.sha256.keys() - self.files.keys()
        if extra:
            raise ProtocolError(f"bundle.sha256: entry for missing file {_short(min(extra))}")
        for name, path in (("config_path", self.config_path), ("request_config", self.request_config)):
            if path is None:
                continue
            _check_bundle_path(f"bundle.{name}", path)
            if path not in self.files:
                raise ProtocolError(f"bundle.{name}: {_short(path)} is not among the files")

    def digest(self) -> str:
        """The bundle sha: sha256 over '<path>\\0<sha256>\\n' for every file, paths sorted."""
        hasher = hashlib.sha256()
        for path in sorted(self.sha256):
            hasher.update(f"{path}\0{self.sha256[path]}\n".encode())
        return hasher.hexdigest()

    @classmethod
    def build(
        cls,
        root: Path,
        config_path: Path | str,
        files: Iterable[Path | str],
        run_id: str = "",
        request_config: Path | str | None = None,
        options: dict[str, Any] | None = None,
    ) -> Bundle:
        """Read files under root (relative paths are taken from root) into a Bundle.

        config_path and request_config are added to the files if missing. A file outside root
        raises ProtocolError; a file that cannot be read raises OSError.
        """
        root_abs = Path(os.path.abspath(root))

        def relative(path: Path | str) -> str:
            # abspath, not resolve(): a symlink inside root is bundled by its own name, not refused.
            absolute = Path(os.path.abspath(root_abs / path))
            try:
                rel = absolute.relative_to(root_abs)
            except ValueError:
                raise ProtocolError(f"bundle file {path} is not under {root_abs}") from None
            return PurePosixPath(*rel.parts).as_posix()

        config_rel = relative(config_path)
        request_rel = None if request_config is None else relative(request_config)
        contents: dict[str, bytes] = {}
        wanted = [*files, config_path] + ([] if request_config is None else [request_config])
        for path in wanted:
            rel = relative(path)
            if rel not in contents:
                contents[rel] = (root_abs / rel).read_bytes()
        return cls(
            run_id=run_id,
            config_path=config_rel,
            files=contents,
            sha256={path: _sha256_hex(data) for path, data in contents.items()},
            request_config=request_rel,
            options={} if options is None else options,
        )


@_register
@dataclass(frozen=True, slots=True)
class PhaseStart(Message):
    """A phase begins now; stats times inside it are relative to this message's arrival."""

    TYPE: ClassVar[str] = "phase_start"
    phase: str
    index: int

    def _validate(self) -> None:
        _at_least("phase_start.index", self.index, 0)


@_register
@dataclass(frozen=True, slots=True)
class SetTargets(Message):
    """Absolute user count per scenario for this worker; stale cmd_seq values are dropped."""

    TYPE: ClassVar[str] = "set_targets"
    cmd_seq: int
    phase: str
    targets: dict[str, int]
    offsets: dict[str, int] = field(default_factory=dict)  # first global user index per scenario
    # Open scenarios: [arrivals per second, phase in [0, 1)] for this worker; targets then hold its cap.
    rates: dict[str, list[float]] = field(default_factory=dict)

    def _validate(self) -> None:
        _at_least("set_targets.cmd_seq", self.cmd_seq, 1)
        for scenario, users in self.targets.items():
            _at_least(f"set_targets.targets[{_short(scenario)}]", users, 0)
        for scenario, rate in self.rates.items():
            where = f"set_targets.rates[{_short(scenario)}]"
            if len(rate) != 2 or not all(math.isfinite(x) and x >= 0 for x in rate) or rate[1] >= 1:
                raise ProtocolError(f"{where}: expected [rate >= 0, theta in [0, 1)]")


@_register
@dataclass(frozen=True, slots=True)
class PhaseStop(Message):
    """Stop the phase: users stop at their next iteration; in-flight requests get stop_timeout."""

    TYPE: ClassVar[str] = "phase_stop"
    phase: str
    stop_timeout: float

    def _validate(self) -> None:
        _at_least("phase_stop.stop_timeout", self.stop_timeout, 0)


@_register
@dataclass(frozen=True, slots=True)
class Ack(Message):
    """Cumulative: every stats batch with seq <= this one is merged; 0 means none yet."""

    TYPE: ClassVar[str] = "ack"
    seq: int

    def _validate(self) -> None:
        _at_least("ack.seq", self.seq, 0)


@_register
@dataclass(frozen=True, slots=True)
class Quit(Message):
    """Stop load, flush stats, say Bye and exit with exit_code."""

    TYPE: ClassVar[str] = "quit"
    reason: str = ""
    exit_code: int = 0

    def _validate(self) -> None:
        if not 0 <= self.exit_code <= 255:
            raise ProtocolError(f"quit.exit_code: must be 0-255, got {self.exit_code}")


@_register
@dataclass(frozen=True, slots=True)
class RunBatches(Message):
    """run_once scenario: this worker's share of every batch as [wait_s, users], run one after another."""

    TYPE: ClassVar[str] = "run_batches"
    cmd_seq: int
    phase: str
    scenario: str
    batches: list[list[float]]
    offset: int = 0

    def _validate(self) -> None:
        _at_least("run_batches.cmd_seq", self.cmd_seq, 1)
        for i, item in enumerate(self.batches):
            if len(item) != 2 or item[0] < 0 or item[1] < 0 or not float(item[1]).is_integer():
                raise ProtocolError(f"run_batches.batches[{i}]: expected [wait >= 0, whole users >= 0]")


@_register
@dataclass(frozen=True, slots=True)
class Stopped(Message):
    """Worker -> master: the phase is stopped here and every stats batch up to seq has been sent."""

    TYPE: ClassVar[str] = "stopped"
    phase: str
    seq: int

    def _validate(self) -> None:
        _at_least("stopped.seq", self.seq, 0)
