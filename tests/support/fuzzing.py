"""Generators and oracles for fuzzing the master's decoder and the config loader.

The suite runs them for a few seconds (tests/test_fuzz.py); benchmarks/fuzz_proto.py and
benchmarks/fuzz_config.py run the same generators for minutes. An oracle returns None when the input
was handled as the contract says (a message or a ProtocolError; a RunConfig or a ConfigError of one-line
issues), and a one-line description of the failure otherwise; it never raises.
"""

from __future__ import annotations

import copy
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgpack
import yaml
from gradual.master.zmq_link import ZmqLink
from gradual.proto import MESSAGE_TYPES, PROTOCOL_VERSION, WORKER_FRAME_LIMITS, ProtocolError, Stats, decode
from hypothesis import strategies as st

from gradual.configs import ConfigError, load
from gradual.stats import StatsBatch
from gradual.stats.recorder import Recorder

# -- the master's decoder ----------------------------------------------------------------------------------

_leaves = (
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30) | st.binary(max_size=30)
)
VALUES = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=25,
)


def real_batch(count: int = 5, second_shift: int = 0) -> dict[str, Any]:
    """A stats batch as a worker sends it, for phase "load"."""
    recorder = Recorder(lambda: 0.5)
    recorder.set_phase_origin("load", 0.0)
    slot = recorder.slot("load", "s", "hit", 1.0)
    for i in range(count):
        slot.record(1_000_000 + 1000 * i, 0.5, 200 if i % 4 else 500, 100)
    recorder.set_users("load", "s", 2)
    wire = recorder.drain().to_wire()
    for entry in wire["entries"]:
        for window in entry["windows"]:
            window[0] += second_shift
    return wire


@st.composite
def _mutated_batch(draw: st.DrawFn) -> dict[str, Any]:
    """A real batch with a few values replaced: where the stats decoder's own checks are exercised."""
    batch = real_batch(draw(st.integers(1, 50)), draw(st.sampled_from([0, 0, 1, -11, 11, 2**40, -(2**40)])))
    for _ in range(draw(st.integers(0, 3))):
        entry = batch["entries"][0]
        field = draw(st.sampled_from(sorted(entry)))
        if field == "windows" and entry["windows"] and draw(st.booleans()):
            window = entry["windows"][0]
            index = draw(st.integers(0, 3))
            if index == 3 and draw(st.booleans()):
                hist = window[3]
                hist[draw(st.integers(0, len(hist) - 1))] = draw(VALUES)
            else:
                window[index] = draw(VALUES)
        else:
            entry[field] = draw(VALUES)
    if draw(st.booleans()):
        batch[draw(st.sampled_from(["users", "custom", "entries"]))] = draw(VALUES)
    return batch


@st.composite
def _envelopes(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([PROTOCOL_VERSION, PROTOCOL_VERSION, 1, True, "2", None]))
    type_name = draw(st.sampled_from(sorted(MESSAGE_TYPES)) | st.text(max_size=12))
    if type_name == "stats" and draw(st.booleans()):
        payload: Any = {"seq": draw(st.integers(-2, 2**64 - 1) | VALUES), "batch": draw(_mutated_batch())}
    else:
        payload = draw(st.dictionaries(st.text(max_size=14), VALUES, max_size=8) | VALUES)
    try:
        return bytes(msgpack.packb([version, type_name, payload], use_bin_type=True))
    except (OverflowError, ValueError, TypeError):
        return b"\x93\x02"


@st.composite
def _corrupted(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(_envelopes()))
    for _ in range(draw(st.integers(1, 4))):
        if not frame:
            break
        i = draw(st.integers(0, len(frame) - 1))
        frame[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        frame = frame[: draw(st.integers(0, len(frame)))]
    return bytes(frame)


@st.composite
def _bombs(draw: st.DrawFn) -> bytes:
    """Container-dense frames and headers claiming huge lengths (sizes kept small for speed)."""
    header = draw(st.sampled_from([b"\xdd", b"\xdc", b"\xdf", b"\xde", b"\xdb", b"\xc6", b"\x91" * 50]))
    claim = draw(st.sampled_from([2**31, 65535, 3, 2**32 - 1]))
    body = draw(st.sampled_from([b"\x90", b"\x80", b"\xc0", b"\x91\x90"])) * draw(st.integers(0, 70_000))
    prefix = b"\x93\x02\xa5stats" if draw(st.booleans()) else b""
    if len(header) > 1:  # 50 one-element arrays, nested
        return prefix + header + body
    size = 4 if header in (b"\xdd", b"\xdf", b"\xdb", b"\xc6") else 2
    return prefix + header + claim.to_bytes(4, "big")[-size:] + body


FRAMES = st.one_of(st.binary(max_size=512), _envelopes(), _corrupted(), _bombs())

_PLAUSIBLE = SimpleNamespace(_phase_clock={"load": (time.monotonic() - 5.0, None)})


def check_frame(frame: bytes) -> str | None:
    """What the master does with a worker's frame: decode under its limits, then for stats the batch
    decoder and the plausibility rules. Anything but a result or the documented error is a failure."""
    try:
        msg = decode(frame, WORKER_FRAME_LIMITS)
    except ProtocolError as exc:
        return None if "\n" not in str(exc) else f"multi-line ProtocolError: {str(exc)[:200]!r}"
    except Exception:
        return f"decode raised: {traceback.format_exc(limit=3).splitlines()[-1]} for {frame[:80]!r}"
    if not isinstance(msg, Stats):
        return None
    try:
        batch = StatsBatch.from_wire(msg.batch)
        ZmqLink._check_plausible(_PLAUSIBLE, batch)  # type: ignore[arg-type]
    except ValueError:
        return None
    except Exception:
        return f"stats batch raised: {traceback.format_exc(limit=3).splitlines()[-1]} for {frame[:80]!r}"
    return None


# -- the config loader --------------------------------------------------------------------------------------

REQUESTS = {"requests": {"r": {"url": "http://127.0.0.1:8080/", "method": "GET"}}}


def base_config() -> dict[str, Any]:
    return {"runs": {"name": "fuzz", "stop_timeout": 1, "phases": {"p1": {"run_time": 1, "scenarios": {"s": {
        "requests": ["r"], "request_file": "requests.yaml", "min_concurrency": 1, "max_concurrency": 2,
        "ramp_up_add": [1], "ramp_up_wait": 0.5}}}}}}


_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**20, max_value=10**40)
    | st.floats() | st.text(max_size=40) | st.sampled_from(["", "1e308", "-1", "0", "5m", "http://[::1", "\x00",
                                                             "FROM_REQUEST_YAML_FILE", "x" * 300, "${NOPE}"])
)
_YAML_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                            | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)
_TEXT_PIECES = st.sampled_from([
    "\x01", "\x7f", "\ufeff", "\t", "&a ", "*a", "!!seq ", "!!map ", "!!binary ", "!!set ", "!!omap ", "!!timestamp ",
    "<<: *a\n", "? ", "- ", ": ", "{", "}", "[", "]", "'", '"', "%YAML 1.1\n", "---\n", "...\n", "9" * 5000, "\n",
    "&b [*a,*a,*a,*a,*a,*a,*a,*a]", "[" * 200, "\u2028", "#",
])


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _set(node: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = node
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return node


@st.composite
def _mutated_document(draw: st.DrawFn, base: dict[str, Any]) -> str:
    data = copy.deepcopy(base)  # the strategy is reused: its base must not change between draws
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        data = _set(data, path, draw(_YAML_VALUES), delete=draw(st.booleans()) and bool(path))
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        text = yaml.safe_dump(base)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(_TEXT_PIECES) + text[at:]
    return text


CONFIGS = st.tuples(_mutated_document(base_config()), st.one_of(st.just(None), _mutated_document(REQUESTS)))


def check_config(folder: Path, texts: tuple[str, str | None]) -> str | None:
    """Write the config (and maybe a mutated request file) into ``folder`` and load it. Anything but a
    RunConfig or a ConfigError whose issues are each one short line is a failure."""
    config, requests = texts
    (folder / "config.yaml").write_text(config, encoding="utf-8", errors="surrogatepass")
    (folder / "requests.yaml").write_text(requests if requests is not None else yaml.safe_dump(REQUESTS),
                                          encoding="utf-8", errors="surrogatepass")
    try:
        load(folder / "config.yaml")
    except ConfigError as exc:
        for issue in exc.issues:
            text = str(issue)
            if "\n" in text or len(text) > 2000:
                return f"issue not one short line ({len(text)} chars): {text[:200]!r}"
        return None
    except Exception:
        return f"load raised: {traceback.format_exc(limit=4).splitlines()[-1][:300]} for {config[:120]!r}"
    return None
