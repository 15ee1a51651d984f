"""Specification tests for gradual.proto: every message survives the wire, nothing else gets through.

Junk, truncated, oversized or ill-typed frames must come out of decode() as ProtocolError and nothing
else; the last test carries real frames over a ZeroMQ ROUTER/DEALER pair on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from gradual.proto import (
    MAX_MESSAGE_SIZE,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Ack,
    Bundle,
    BundleError,
    Bye,
    DropLog,
    Error,
    Heartbeat,
    Hello,
    Message,
    Notice,
    PhaseStart,
    PhaseStop,
    ProtocolError,
    Quit,
    Ready,
    RunBatches,
    SetTargets,
    Stats,
    Stopped,
    Welcome,
    codec,
    decode,
    encode,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _frame(type_name: Any, payload: Any, version: Any = PROTOCOL_VERSION) -> bytes:
    return msgpack.packb([version, type_name, payload], use_bin_type=True)


def _hello(**overrides: Any) -> dict[str, Any]:
    return {"worker_id": "w", "version": "0.1.0", "host": "h", "pid": 1, "cpu_count": 1, **overrides}


def _bundle_payload(files: dict[str, bytes], /, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "run_id": "r1",
        "config_path": next(iter(files)),
        "files": files,
        "sha256": {path: _sha(data) for path, data in files.items()},
    }
    payload.update(overrides)
    return payload


EXAMPLES: list[Message] = [
    Hello(worker_id="w-1", version="0.1.0", host="box", pid=4242, cpu_count=8, capacity=2.0),
    Ready(bundle_sha256=_sha(b"x")),
    BundleError(message="config.yaml: no such scenario"),
    Heartbeat(state="running", cpu_percent=12.5, rss=50_000_000, users=40),
    Stats(seq=7, batch={"t0": 1.5, "keys": [{"phase": "p", "count": 3}], "hdr": b"\x00\x01"}),
    Error(message="engine crashed"),
    Notice(message="plugin 'sink' failed at run: RuntimeError: gone", fatal=True),
    Bye(reason="interrupted"),
    Welcome(worker_id="w-1", run_id="run-9", heartbeat_interval=1.0, master_timeout=10.0),
    Bundle(**_bundle_payload({"config.yaml": b"runs: {}\n", "req/custom.py": b"print(1)\n"})),
    PhaseStart(phase="api_testing", index=0),
    SetTargets(cmd_seq=3, phase="api_testing", targets={"user_operations": 5, "browse": 0}),
    PhaseStop(phase="api_testing", stop_timeout=5.0),
    Ack(seq=7),
    Quit(reason="run finished", exit_code=1),
    RunBatches(cmd_seq=4, phase="signups", scenario="register", batches=[[0.0, 2.0], [0.5, 4.0]], offset=2),
    Stopped(phase="api_testing", seq=12),
]


# --- strategies derived from the field types, so a new message type is covered without edits ----------

_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
MSGPACK_VALUES = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return MSGPACK_VALUES
    if hint is str:
        return st.text(max_size=20)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(min_value=0, max_value=255) | st.integers(min_value=0, max_value=2**63 - 1)
    if hint is float:
        return st.floats(min_value=0, max_value=1e6)  # hello.capacity's ceiling
    if hint is bytes:
        return st.binary(max_size=64)
    if hint is type(None):
        return st.none()
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_strategy_for(arg) for arg in args))
    if origin is dict:
        return st.dictionaries(st.text(max_size=10), _strategy_for(args[1]), max_size=4)
    if origin is list:
        return st.lists(_strategy_for(args[0]), max_size=4)
    raise AssertionError(f"no strategy for field type {hint!r}; extend _strategy_for")


_SAFE_PATHS = (
    st.lists(st.text("abcXYZ_-.0123456789", min_size=1, max_size=8), min_size=1, max_size=3)
    .map("/".join)
    .filter(lambda path: not any(part in (".", "..") for part in path.split("/")))
)


@st.composite
def _bundles(draw: st.DrawFn) -> Bundle:
    files = draw(st.dictionaries(_SAFE_PATHS, st.binary(max_size=64), min_size=1, max_size=4))
    request_config = draw(st.none() | st.sampled_from(sorted(files)))
    return Bundle(**_bundle_payload(files, request_config=request_config, options=draw(_strategy_for(dict[str, Any]))))


@st.composite
def _messages_of(draw: st.DrawFn, cls: type[Message]) -> Message:
    if cls is Bundle:
        return draw(_bundles())
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: draw(_strategy_for(hints[f.name])) for f in dataclasses.fields(cls)}
    try:
        return cls(**kwargs)
    except ProtocolError:
        # Random values may break value rules (seq >= 1, exit code 0-255...); those are tested below.
        assume(False)
        raise


@pytest.mark.parametrize("type_name", sorted(MESSAGE_TYPES))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_type_roundtrips(type_name: str, data: st.DataObject) -> None:
    msg = data.draw(_messages_of(MESSAGE_TYPES[type_name]))
    decoded = decode(encode(msg))
    assert type(decoded) is type(msg)
    assert decoded == msg


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda msg: msg.TYPE)
def test_example_messages_roundtrip(msg: Message) -> None:
    assert decode(encode(msg)) == msg


def test_examples_and_registry_name_the_same_types() -> None:
    assert {msg.TYPE for msg in EXAMPLES} == set(MESSAGE_TYPES)
    assert all(MESSAGE_TYPES[name].TYPE == name for name in MESSAGE_TYPES)


def test_envelope_is_version_type_payload() -> None:
    raw = msgpack.unpackb(encode(Ack(seq=3)), raw=False)
    assert raw == [PROTOCOL_VERSION, "ack", {"seq": 3}]


# --- hostile input ---------------------------------------------------------------------------------------


def _decode_or_protocol_error(frame: bytes) -> None:
    try:
        result = decode(frame)
    except ProtocolError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, Message)


@settings(max_examples=500)
@given(st.binary(max_size=256))
def test_arbitrary_bytes_decode_to_a_message_or_protocol_error(frame: bytes) -> None:
    _decode_or_protocol_error(frame)


_FIELD_NAMES = sorted({f.name for cls in MESSAGE_TYPES.values() for f in dataclasses.fields(cls)})


@settings(max_examples=500)
@given(
    version=st.sampled_from([PROTOCOL_VERSION, 0, 1, 3, True, 2.0, "2", None]),
    type_name=st.sampled_from(sorted(MESSAGE_TYPES)) | MSGPACK_VALUES,
    payload=st.dictionaries(st.sampled_from(_FIELD_NAMES) | st.text(max_size=5), MSGPACK_VALUES, max_size=8)
    | MSGPACK_VALUES,
)
def test_arbitrary_envelopes_decode_to_a_message_or_protocol_error(version: Any, type_name: Any, payload: Any) -> None:
    _decode_or_protocol_error(_frame(type_name, payload, version))


@settings(max_examples=300)
@given(
    index=st.integers(min_value=0, max_value=len(EXAMPLES) - 1),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=4),
)
def test_corrupted_valid_frames_decode_to_a_message_or_protocol_error(index: int, flips: list[tuple[int, int]]) -> None:
    frame = bytearray(encode(EXAMPLES[index]))
    for position, value in flips:
        frame[position % len(frame)] = value
    _decode_or_protocol_error(bytes(frame))


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda msg: msg.TYPE)
def test_every_truncation_of_a_valid_frame_is_rejected(msg: Message) -> None:
    frame = encode(msg)
    for end in range(len(frame)):
        with pytest.raises(ProtocolError):
            decode(frame[:end])


def test_trailing_bytes_after_the_envelope_are_rejected() -> None:
    with pytest.raises(ProtocolError, match="not a msgpack frame"):
        decode(encode(Ack(seq=1)) + b"\x00")


@pytest.mark.parametrize("version", [0, 1, 3, 99, True, 2.0, "2", None])
def test_other_protocol_versions_are_rejected(version: Any) -> None:
    with pytest.raises(ProtocolError, match="unsupported protocol version"):
        decode(_frame("ack", {"seq": 1}, version))


def test_unknown_message_type_is_rejected_by_name() -> None:
    with pytest.raises(ProtocolError, match="unknown message type 'launch_missiles'"):
        decode(_frame("launch_missiles", {}))


@pytest.mark.parametrize(
    "envelope",
    [[PROTOCOL_VERSION, "ack"], [PROTOCOL_VERSION, "ack", {"seq": 1}, 0], {"v": 1}, "ack", 1, None],
)
def test_envelope_must_be_a_three_element_array(envelope: Any) -> None:
    with pytest.raises(ProtocolError, match="envelope"):
        decode(msgpack.packb(envelope))


@pytest.mark.parametrize("payload", [[1], "seq", None, 1])
def test_payload_must_be_a_map(payload: Any) -> None:
    with pytest.raises(ProtocolError, match="payload must be a map"):
        decode(_frame("ack", payload))


def test_ext_types_are_refused() -> None:
    with pytest.raises(ProtocolError):
        decode(msgpack.packb([PROTOCOL_VERSION, "stats", {"seq": 1, "batch": {"x": msgpack.ExtType(5, b"")}}]))
    with pytest.raises(ProtocolError):
        decode(msgpack.packb([PROTOCOL_VERSION, "ack", {"seq": msgpack.Timestamp(1, 0)}], datetime=False))


@pytest.mark.parametrize(
    ("type_name", "payload", "field"),
    [
        ("stats", {"seq": "7", "batch": {}}, "stats.seq"),
        ("stats", {"seq": 7, "batch": [1, 2]}, "stats.batch"),
        ("stats", {"seq": 7, "batch": {b"bytes-key": 1}}, "stats.batch"),
        ("ack", {"seq": True}, "ack.seq"),
        ("ack", {"seq": 1.0}, "ack.seq"),
        ("hello", _hello(pid=1.5), "hello.pid"),
        ("hello", _hello(worker_id=b"w"), "hello.worker_id"),
        ("heartbeat", {"state": "x", "cpu_percent": "1"}, "heartbeat.cpu_percent"),
        ("heartbeat", {"state": "x", "cpu_percent": False}, "heartbeat.cpu_percent"),
        ("heartbeat", {"state": "x", "cpu_percent": math.nan}, "heartbeat.cpu_percent"),
        ("heartbeat", {"state": None}, "heartbeat.state"),
        ("set_targets", {"cmd_seq": 1, "phase": "p", "targets": {"s": "3"}}, "set_targets.targets['s']"),
        ("set_targets", {"cmd_seq": 1, "phase": "p", "targets": {"s": True}}, "set_targets.targets['s']"),
        ("set_targets", {"cmd_seq": 1, "phase": "p", "targets": [["s", 3]]}, "set_targets.targets"),
        (
            "welcome",
            {"worker_id": "w", "run_id": "r", "heartbeat_interval": "1", "master_timeout": 10},
            "welcome",
        ),
        ("quit", {"exit_code": "1"}, "quit.exit_code"),
        ("bundle", _bundle_payload({"a": b"x"}, files=[["a", b"x"]]), "bundle.files"),
        ("bundle", _bundle_payload({"a": b"x"}, files={"a": "x"}), "bundle.files['a']"),
        ("bundle", _bundle_payload({"a": b"x"}, request_config=3), "bundle.request_config"),
    ],
)
def test_wrong_field_types_are_rejected_naming_the_field(type_name: str, payload: Any, field: str) -> None:
    with pytest.raises(ProtocolError, match=f"^{re.escape(field)}"):
        decode(_frame(type_name, payload))


@pytest.mark.parametrize(
    ("type_name", "payload", "field"),
    [
        ("stats", {"seq": 0, "batch": {}}, "stats.seq"),
        ("ack", {"seq": -1}, "ack.seq"),
        ("set_targets", {"cmd_seq": 0, "phase": "p", "targets": {}}, "set_targets.cmd_seq"),
        ("set_targets", {"cmd_seq": 1, "phase": "p", "targets": {"s": -2}}, "set_targets.targets"),
        ("hello", _hello(worker_id=""), "hello.worker_id"),
        ("hello", _hello(worker_id="w" * 256), "hello.worker_id"),
        ("hello", _hello(worker_id="\x00w"), "hello.worker_id"),
        ("hello", _hello(capacity=0), "hello.capacity"),
        ("hello", _hello(pid=-1), "hello.pid"),
        (
            "welcome",
            {"worker_id": "w", "run_id": "r", "heartbeat_interval": 0, "master_timeout": 10},
            "welcome",
        ),
        ("phase_stop", {"phase": "p", "stop_timeout": -1}, "phase_stop.stop_timeout"),
        ("quit", {"exit_code": 256}, "quit.exit_code"),
    ],
)
def test_out_of_range_values_are_rejected(type_name: str, payload: Any, field: str) -> None:
    with pytest.raises(ProtocolError, match=f"^{re.escape(field)}"):
        decode(_frame(type_name, payload))


def test_missing_required_field_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="stats: missing field 'batch'"):
        decode(_frame("stats", {"seq": 1}))


def test_unknown_payload_keys_are_ignored_and_defaults_fill_optional_fields() -> None:
    msg = decode(_frame("heartbeat", {"state": "idle", "gpu_temp": 71, "future": {"x": [1]}}))
    assert msg == Heartbeat(state="idle", cpu_percent=0.0, rss=0, users=0)


def test_floats_accept_ints_and_come_out_as_floats() -> None:
    msg = decode(_frame("phase_stop", {"phase": "p", "stop_timeout": 5}))
    assert isinstance(msg, PhaseStop)
    assert msg.stop_timeout == 5.0 and type(msg.stop_timeout) is float


def test_building_an_ill_typed_message_fails_at_the_sender() -> None:
    with pytest.raises(ProtocolError, match="ack.seq: expected int, got str"):
        Ack(seq="1")  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="hello.cpu_count"):
        Hello(worker_id="w", version="1", host="h", pid=1, cpu_count=None)  # type: ignore[arg-type]


def test_encode_refuses_contents_msgpack_cannot_carry() -> None:
    with pytest.raises(ProtocolError, match="cannot encode stats"):
        encode(Stats(seq=1, batch={"keys": {1, 2, 3}}))


def test_decode_refuses_non_bytes() -> None:
    with pytest.raises(ProtocolError, match="frame must be bytes"):
        decode("not bytes")  # type: ignore[arg-type]


def test_oversized_frame_is_rejected_before_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_unpackb = msgpack.unpackb

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_unpackb(*args, **kwargs)

    monkeypatch.setattr(codec.msgpack, "unpackb", spy)
    big = _frame("stats", {"seq": 1, "batch": {"pad": b"\x00" * MAX_MESSAGE_SIZE}})
    with pytest.raises(ProtocolError, match="exceeds"):
        decode(big)
    assert calls == []
    decode(encode(Ack(seq=1)))
    assert calls == [1]


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    overhead = len(_frame("stats", {"seq": 1, "batch": {"pad": b""}}))
    # A bin32 header (5 bytes) replaces the bin8 header (2 bytes) of the empty pad.
    pad = MAX_MESSAGE_SIZE - overhead - 3
    frame = _frame("stats", {"seq": 1, "batch": {"pad": b"\x00" * pad}})
    assert len(frame) == MAX_MESSAGE_SIZE
    assert isinstance(decode(frame), Stats)


def test_encode_rejects_messages_over_the_limit() -> None:
    huge = Bundle(**_bundle_payload({"config.yaml": b"\x00" * MAX_MESSAGE_SIZE}))
    with pytest.raises(ProtocolError, match="exceeds"):
        encode(huge)


# --- bundle --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../outside.py", "req/../../outside.py", "req/..", "a\\b.py", "C:/x.py", "c:x.py",
     "a//b.py", "./a.py", "a/", "", "a\x00b"],
)  # fmt: skip
def test_bundle_paths_that_could_escape_the_bundle_dir_are_rejected(path: str) -> None:
    payload = _bundle_payload({"config.yaml": b"runs: {}", path: b"evil"}, config_path="config.yaml")
    with pytest.raises(ProtocolError, match="^bundle"):
        decode(_frame("bundle", payload))


def test_bundle_with_a_sha256_mismatch_is_rejected() -> None:
    payload = _bundle_payload({"config.yaml": b"runs: {}"})
    payload["sha256"] = {"config.yaml": _sha(b"something else")}
    with pytest.raises(ProtocolError, match="bundle.sha256: mismatch for 'config.yaml'"):
        decode(_frame("bundle", payload))


@pytest.mark.parametrize(
    "sha256",
    [{}, {"config.yaml": "ABC"}, {"config.yaml": _sha(b"runs: {}").upper()}],
    ids=["missing", "malformed", "uppercase"],
)
def test_bundle_sha256_entries_must_be_present_and_lowercase_hex(sha256: dict[str, str]) -> None:
    with pytest.raises(ProtocolError, match="bundle.sha256"):
        decode(_frame("bundle", _bundle_payload({"config.yaml": b"runs: {}"}, sha256=sha256)))


def test_bundle_sha256_for_a_file_that_is_not_sent_is_rejected() -> None:
    payload = _bundle_payload({"config.yaml": b"runs: {}"})
    payload["sha256"]["ghost.py"] = _sha(b"")
    with pytest.raises(ProtocolError, match="bundle.sha256: entry for missing file 'ghost.py'"):
        decode(_frame("bundle", payload))


def test_bundle_config_and_request_config_must_be_among_the_files() -> None:
    with pytest.raises(ProtocolError, match="bundle.config_path"):
        decode(_frame("bundle", _bundle_payload({"a.yaml": b""}, config_path="b.yaml")))
    with pytest.raises(ProtocolError, match="bundle.request_config"):
        decode(_frame("bundle", _bundle_payload({"a.yaml": b""}, request_config="r.yaml")))


def test_bundle_build_reads_real_files_relative_to_root(tmp_path: Path) -> None:
    (tmp_path / "requests").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "config.yaml").write_text("runs:\n  name: x\n")
    (tmp_path / "requests" / "custom.py").write_text("def f(ctx=None): ...\n")
    (tmp_path / "requests" / "reqs.yaml").write_text("requests: {}\n")
    (tmp_path / "data" / "users.csv").write_bytes(b"id\n1\n2\n")

    bundle = Bundle.build(
        tmp_path,
        tmp_path / "config.yaml",
        [Path("requests/custom.py"), tmp_path / "data" / "users.csv"],
        run_id="run-1",
        request_config="requests/reqs.yaml",
        options={"stop_timeout": 5},
    )

    assert bundle.config_path == "config.yaml"
    assert bundle.request_config == "requests/reqs.yaml"
    assert sorted(bundle.files) == [
        "config.yaml",
        "data/users.csv",
        "requests/custom.py",
        "requests/reqs.yaml",
    ]
    assert bundle.files["data/users.csv"] == b"id\n1\n2\n"
    assert bundle.sha256 == {path: _sha(data) for path, data in bundle.files.items()}
    assert decode(encode(bundle)) == bundle

    reordered = Bundle.build(
        tmp_path,
        "config.yaml",
        ["data/users.csv", "requests/reqs.yaml", "requests/custom.py"],
        run_id="run-1",
    )
    assert reordered.digest() == bundle.digest()
    assert len(bundle.digest()) == 64

    (tmp_path / "data" / "users.csv").write_bytes(b"id\n1\n")
    changed = Bundle.build(tmp_path, "config.yaml", ["data/users.csv", "requests/reqs.yaml", "requests/custom.py"])
    assert changed.digest() != bundle.digest()


def test_bundle_build_refuses_files_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "config.yaml").write_text("runs: {}\n")
    (tmp_path / "secret.txt").write_text("nope")
    with pytest.raises(ProtocolError, match="not under"):
        Bundle.build(root, "config.yaml", [Path("../secret.txt")])
    with pytest.raises(ProtocolError, match="not under"):
        Bundle.build(root, "config.yaml", [tmp_path / "secret.txt"])


# --- drop log ------------------------------------------------------------------------------------------


def test_drop_log_warns_once_per_peer_and_reason_but_counts_every_drop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drops = DropLog()
    with caplog.at_level(logging.WARNING, logger="gradual.proto"):
        for _ in range(50):
            drops.drop("w-1", ProtocolError("empty frame"))
        drops.drop("w-2", ProtocolError("empty frame"))
        drops.drop("w-1", ProtocolError("unknown message type 'x'"))
    assert drops.count == 52
    assert [r.getMessage() for r in caplog.records] == [
        "dropped frame from w-1: empty frame",
        "dropped frame from w-2: empty frame",
        "dropped frame from w-1: unknown message type 'x'",
    ]
    assert all(r.name == "gradual.proto" and r.levelno == logging.WARNING for r in caplog.records)


def test_drop_log_stays_bounded_when_every_reason_is_new(caplog: pytest.LogCaptureFixture) -> None:
    drops = DropLog(max_distinct=3)
    with caplog.at_level(logging.WARNING, logger="gradual.proto"):
        for n in range(100):
            drops.drop("w-1", ProtocolError(f"unknown message type 'x{n}'"))
    assert drops.count == 100
    assert len(caplog.records) == 4
    assert "further new drop reasons are counted, not logged" in caplog.records[-1].getMessage()


# --- a real ROUTER/DEALER pair -------------------------------------------------------------------------


def _recv(sock: zmq.Socket, timeout_ms: int = 5000) -> list[bytes]:
    assert sock.poll(timeout_ms, zmq.POLLIN), "timed out waiting for a frame"
    return sock.recv_multipart()


def test_messages_cross_a_router_dealer_pair_and_junk_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    junk = [
        b"",
        b"\xc1",
        b"not msgpack at all",
        _frame("ack", {"seq": 1}, version=PROTOCOL_VERSION + 1),
        _frame("nope", {}),
    ]
    from_worker: list[Message] = [
        Hello(worker_id="w-1", version="0.1.0", host="127.0.0.1", pid=1, cpu_count=2),
        Heartbeat(state="idle"),
        Stats(seq=1, batch={"count": 3}),
        Bye(reason="done"),
    ]
    from_master: list[Message] = [
        Welcome(worker_id="w-1", run_id="r", heartbeat_interval=1.0, master_timeout=10.0),
        Ack(seq=1),
        SetTargets(cmd_seq=1, phase="p", targets={"s": 4}),
        Quit(reason="finished"),
    ]

    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    dealer = context.socket(zmq.DEALER)
    try:
        for sock in (router, dealer):
            sock.setsockopt(zmq.LINGER, 0)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer.setsockopt(zmq.ROUTING_ID, b"w-1")
        dealer.connect(f"tcp://127.0.0.1:{port}")

        master_drops, worker_drops = DropLog(), DropLog()
        with caplog.at_level(logging.WARNING, logger="gradual.proto"):
            for index, msg in enumerate(from_worker):
                dealer.send(junk[index % len(junk)])
                dealer.send(encode(msg))
            received_by_master: list[Message] = []
            while len(received_by_master) < len(from_worker):
                identity, frame = _recv(router)
                assert identity == b"w-1"
                try:
                    received_by_master.append(decode(frame))
                except ProtocolError as exc:
                    master_drops.drop(identity.decode(), exc)

            for index, msg in enumerate(from_master):
                router.send_multipart([b"w-1", junk[index % len(junk)]])
                router.send_multipart([b"w-1", encode(msg)])
            # The same junk twice: counted twice, logged once.
            router.send_multipart([b"w-1", junk[0]])
            received_by_worker: list[Message] = []
            while len(received_by_worker) < len(from_master) or worker_drops.count < len(from_master) + 1:
                (frame,) = _recv(dealer)
                try:
                    received_by_worker.append(decode(frame))
                except ProtocolError as exc:
                    worker_drops.drop("master", exc)
    finally:
        dealer.close()
        router.close()
        context.term()

    assert received_by_master == from_worker
    assert received_by_worker == from_master
    assert master_drops.count == len(from_worker)
    assert worker_drops.count == len(from_master) + 1
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == len(from_worker) + len(from_master)
    assert "dropped frame from w-1: empty frame" in warnings
    assert f"dropped frame from master: unsupported protocol version {PROTOCOL_VERSION + 1}" in warnings
