"""The cluster link: a ZeroMQ ROUTER that workers' DEALERs connect to (docs/protocol.md).

It registers workers, ships them the bundle, relays the controller's targets, merges nothing itself
(stat batches are queued for the controller's poll), acks stats, and declares silent workers lost.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import gevent
import zmq
from gevent.socket import wait_read
from gradual.proto import (
    HEARTBEAT_INTERVAL,
    HEARTBEAT_LIVENESS,
    MASTER_TIMEOUT,
    MAX_PENDING_PEERS,
    MAX_STATS_FRAME,
    PENDING_TIMEOUT,
    STATS_INTERVAL,
    WINDOW_SLACK_S,
    WORKER_FRAME_LIMITS,
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
    decode,
    encode,
)
from gradual.proto.text import clean

from gradual.configs.model import RunConfig
from gradual.keys import MasterKeys
from gradual.plan import Batch
from gradual.plugins.runtime import cli_plugin_names
from gradual.stats import StatsBatch

from .link import Link, LinkError, WorkerView
from .registry import Registry, WorkerRecord
from .zap import ZapHandler

log = logging.getLogger("gradual.master")

RECEIVE_BURST = 32  # messages handled before the receiver lets other greenlets run
STOP_GRACE = 5.0  # beyond stop_timeout, how long phase_stop waits for workers' last batches
QUIT_GRACE = 2.0  # how long close() waits for workers to say bye
LIVENESS_CHECK = 0.1  # seconds between looks for silent workers (heartbeats still go once an interval)
# The receiver's longest sleep on the socket's FD: ZeroMQ signals it edge-triggered, and a send from
# another greenlet can take the edge of a message that just arrived; this bounds that message's wait.
RECEIVE_WAKE = 0.01
MAX_PROBLEMS = 20  # problems kept per worker for the summary (every one is logged)
MAX_WINDOW_COUNT = 10_000_000  # requests one worker may report for one key in one second
MAX_USERS_GAUGE = 10_000_000  # users one worker may report running for one scenario
MAX_ERROR_TEXT = 500  # characters kept of an error message a worker reports
REWELCOME_INTERVAL = 1.0  # a peer that repeats its hello gets the welcome and bundle again at most this often


def _shown(peer: str) -> str:
    # Routing ids come off the network (a raw TCP client speaking ZMTP 1.0 picks its own): one with a
    # newline or other control character would forge log lines, so it is logged as a repr.
    return peer if peer.isprintable() else clean(repr(peer), 80)


def bundle_for(run: RunConfig, run_id: str, records: bool = False) -> Bundle:
    """Every file the run reads (plugin files included), relative to their common folder.

    Plugins named with --plugin and the command line's overrides (--host, --set ...) are not in the files:
    they travel in the bundle options, so each worker loads the config the master loaded.
    """
    files = [Path(f) for f in run.files]
    folders = [str(f.parent) for f in files] + ([str(run.cwd)] if run.cwd is not None else [])
    root = Path(os.path.commonpath(folders))
    options: dict | None = {"plugins": cli_plugin_names(run)} if cli_plugin_names(run) else None
    if run.overrides:
        options = {**(options or {}), "overrides": run.overrides.to_wire()}
    if records:  # --records: every worker collects its completion records and sends them with its stats
        options = {**(options or {}), "records": True}
    if run.cwd is not None:
        # A request_file found in the master's working directory: the worker resolves against the same folder.
        options = {**(options or {}), "cwd": Path(os.path.relpath(run.cwd, root)).as_posix()}
    return Bundle.build(root, run.source, files, run_id=run_id, request_config=run.request_config,
                        options=options)


class ZmqLink(Link):
    def __init__(
        self,
        run: RunConfig,
        *,
        bind: str = "127.0.0.1",
        port: int = 0,
        expect_workers: int = 1,
        expect_timeout: float = 60.0,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        liveness: int = HEARTBEAT_LIVENESS,
        master_timeout: float = MASTER_TIMEOUT,
        stats_interval: float = STATS_INTERVAL,
        records: bool = False,
        keys: MasterKeys | None = None,
    ) -> None:
        self.run = run
        self.keys = keys
        self.expect_workers = expect_workers
        self.expect_timeout = expect_timeout
        self.heartbeat_interval = heartbeat_interval
        self.liveness = liveness
        self.master_timeout = master_timeout
        self.stats_interval = stats_interval
        self.run_id = uuid.uuid4().hex[:12]
        self.bundle = bundle_for(run, self.run_id, records=records)
        self.digest = self.bundle.digest()
        # Data rows are split between workers in the order they first said hello: worker i of the
        # expected n takes rows i, i+n, ... (journeys.data), so unique rows are unique cluster-wide.
        # A worker beyond the expected count gets no rows of its own.
        self._data = any(s.data is not None for p in run.phases for s in p.scenarios)
        self._shares: dict[str, int] = {}
        self.registry = Registry()
        self.drops = DropLog(log)
        self._phase_clock: dict[str, tuple[float, float | None]] = {}  # phase -> monotonic start, end
        self.state = "waiting"
        self.phase: str | None = None
        self._running_phase: str | None = None  # from phase_start until phase_stop begins
        self.phase_index = 0
        self.cmd_seq = 0
        self._queue: list[tuple[str, StatsBatch]] = []
        self._changed = False
        self._started = False
        # Local clusters tell start() when a worker process died, so it need not wait out the timeout.
        self.start_guard: Callable[[], str | None] | None = None
        self._closed = False
        # A plain (not zmq.green) socket: every call is non-blocking and only the receiver waits, on the
        # socket's FD through gevent. zmq.green re-checks the socket's state around every send and recv,
        # which at a thousand workers was about a sixth of the master's CPU (bench_master.py).
        self.ctx = zmq.Context()
        # With keys, the ZAP handler is up before the server socket exists: no peer is ever let in unchecked.
        self.zap = ZapHandler(self.ctx, keys.authorized) if keys is not None else None
        self.sock = self.ctx.socket(zmq.ROUTER)
        if keys is not None:
            self.sock.curve_server = True
            self.sock.curve_secretkey = keys.own.secret
            self.sock.curve_publickey = keys.own.public
            self.sock.zap_domain = b"gradual"
        self.sock.setsockopt(zmq.LINGER, 1000)
        # Frames far past our limit are cut off by ZeroMQ itself (the peer is disconnected); those
        # just past it reach decode(), which logs and drops them.
        self.sock.setsockopt(zmq.MAXMSGSIZE, 2 * MAX_STATS_FRAME)
        # No handover: a second connection that claims a connected worker's id is not given its traffic
        # (that was a hijack). A worker that really reconnects gets its id back once ZeroMQ's own
        # heartbeats have closed its dead connection.
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 0)
        self.sock.setsockopt(zmq.HEARTBEAT_IVL, int(heartbeat_interval * 1000))
        self.sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, int(heartbeat_interval * liveness * 1000))
        if port == 0:
            self.port = self.sock.bind_to_random_port(f"tcp://{bind}")
        else:
            self.sock.bind(f"tcp://{bind}:{port}")
            self.port = port
        self._greenlets = [gevent.spawn(self._receive), gevent.spawn(self._heartbeat)]

    # -- Link ------------------------------------------------------------------------------------
    def start(self) -> None:
        deadline = time.monotonic() + self.expect_timeout
        while True:
            failed = [w for w in self.registry.all() if w.bundle_error is not None]
            if failed and (self.trusted or self.start_guard is not None):
                # Keys on (or workers of our own): the peer is one of ours, so its failure ends the run now.
                w = failed[0]
                raise LinkError(f"worker {w.id} ({w.view.host}) could not load the bundle: {w.bundle_error}")
            ready = self.registry.live()
            if len(ready) >= self.expect_workers:
                break
            problem = self.start_guard() if self.start_guard is not None else None
            if problem:
                raise LinkError(problem)
            if time.monotonic() > deadline:
                # Without keys anyone on this host could send a bundle error: it is reported, not obeyed.
                why = "".join(f"; worker {w.id} ({w.view.host}) could not load the bundle: {w.bundle_error}"
                              for w in failed[:3])
                raise LinkError(
                    f"only {len(ready)} of {self.expect_workers} workers ready after {self.expect_timeout:g}s{why}"
                )
            gevent.sleep(0.05)
        self._started = True
        self._changed = False
        self.state = "running"

    @property
    def trusted(self) -> bool:
        """Whether every peer proved it holds an authorized key (CURVE on)."""
        return self.keys is not None

    def workers(self) -> list[WorkerView]:
        # Peers that never became ready were never workers: the summary does not list them.
        return [w.view for w in self.registry.all() if w.was_ready]

    def live_workers(self) -> list[WorkerView]:
        return [w.view for w in self.registry.live()]

    def phase_start(self, phase: str, index: int) -> None:
        self.phase, self.phase_index = phase, index
        self._running_phase = phase
        self._phase_clock[phase] = (time.monotonic(), None)
        for w in self.registry.live():
            self._start_phase_on(w)

    def _start_phase_on(self, w: WorkerRecord) -> None:
        if self.phase is not None and w.phase != self.phase:
            self._send(w, PhaseStart(self.phase, self.phase_index))
            w.phase = self.phase

    def send_targets(self, worker_id: str, phase: str, targets: dict[str, int], offsets: dict[str, int],
                     rates: dict[str, list[float]] | None = None) -> None:
        w = self.registry.get(worker_id)
        if w is None:
            return
        self._start_phase_on(w)
        self.cmd_seq += 1
        self._send(w, SetTargets(self.cmd_seq, phase, dict(targets), dict(offsets), dict(rates or {})))

    def send_batches(self, worker_id: str, phase: str, scenario: str, batches: Sequence[Batch], offset: int) -> None:
        w = self.registry.get(worker_id)
        if w is None:
            return
        self._start_phase_on(w)
        w.once.setdefault(phase, set()).add(scenario)
        self.cmd_seq += 1
        self._send(w, RunBatches(self.cmd_seq, phase, scenario, [[b.wait, float(b.size)] for b in batches], offset))

    def poll(self) -> tuple[list[tuple[str, StatsBatch]], bool]:
        queued, self._queue = self._queue, []
        changed, self._changed = self._changed, False
        return queued, changed

    def done(self, phase: str) -> set[str]:
        live = self.registry.live()
        if not live:
            return set()
        return set.intersection(*(w.done.get(phase, set()) for w in live))

    def phase_stop(self, phase: str, stop_timeout: float) -> None:
        self._running_phase = None  # what is unsent now is so for every worker: the phase is over
        if phase in self._phase_clock:
            # Windows may still come for the stop's duration (interrupted requests end at its timeout).
            self._phase_clock[phase] = (self._phase_clock[phase][0], time.monotonic() + stop_timeout + STOP_GRACE)
        for w in self.registry.live():
            self._send(w, PhaseStop(phase, stop_timeout))
        deadline = time.monotonic() + stop_timeout + STOP_GRACE
        while True:
            pending = [w for w in self.registry.live() if w.stopped.get(phase, -1) < 0 or w.last_seq < w.stopped[phase]]
            if not pending:
                return
            if time.monotonic() >= deadline:
                break
            gevent.sleep(0.02)
        log.warning("phase %s: workers %s did not confirm the stop in time", phase, ", ".join(
            w.id if phase not in w.stopped else f"{w.id} (stats {w.last_seq} of {w.stopped[phase]} merged)"
            for w in pending))

    def close(self, exit_code: int = 0) -> None:
        if self._closed:
            return
        self.state = "stopping"
        for w in self.registry.connected():
            self._send(w, Quit("run finished", exit_code))
        deadline = time.monotonic() + QUIT_GRACE
        while self.registry.connected() and time.monotonic() < deadline:
            gevent.sleep(0.02)
        self._closed = True
        gevent.killall(self._greenlets, block=True)
        now = time.time()
        for w in self.registry.all():
            if w.view.left_at is None:
                w.view.left_at = now
        self.sock.close(linger=1000)
        if self.zap is not None:
            self.zap.close()
        self.ctx.term()

    # -- wire ------------------------------------------------------------------------------------
    def _send_frame(self, w: WorkerRecord, frame: bytes, what: str) -> None:
        try:
            self.sock.send(w.identity, zmq.SNDMORE | zmq.NOBLOCK)
            self.sock.send(frame, zmq.NOBLOCK)
            w.last_sent = time.monotonic()
        except zmq.Again:
            log.warning("worker %s is not reading: dropped %s", w.id, what)
        except zmq.ZMQError as exc:
            if not self._closed:
                log.warning("sending %s to worker %s failed: %s", what, w.id, exc)

    def _send(self, w: WorkerRecord, msg: Message) -> None:
        self._send_frame(w, encode(msg), msg.TYPE)

    def _next_frames(self) -> tuple[list[bytes], str | None]:
        """The next message's frames and, with keys, the name of the key it came with (the ZAP handler's
        User-Id); waiting (and letting other greenlets run) while there is none."""
        sock = self.sock
        keyed = self.keys is not None
        while True:
            try:
                frames = [sock.recv(zmq.NOBLOCK)]
                user = None
                while sock.getsockopt(zmq.RCVMORE):
                    if keyed:  # a zmq.Frame carries the User-Id; small messages copy faster without one
                        frame = sock.recv(zmq.NOBLOCK, copy=False)
                        user = frame.get("User-Id")
                        frames.append(frame.bytes)
                    else:
                        frames.append(sock.recv(zmq.NOBLOCK))
                return frames, user
            except zmq.Again:
                if not sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                    wait_read(sock.getsockopt(zmq.FD), timeout=RECEIVE_WAKE, timeout_exc=False)  # False: return quietly

    def _receive(self) -> None:
        received = 0
        while True:
            received += 1
            if received % RECEIVE_BURST == 0:
                # Under a steady backlog the receiver never waits: let the controller, the liveness
                # check and the signal handlers run.
                gevent.sleep(0)
            try:
                frames, user = self._next_frames()
            except zmq.ZMQError:
                if self._closed:
                    return
                raise
            identity = frames[0]
            peer = identity.decode("utf-8", "replace") if identity[:1] != b"\x00" else identity.hex()
            if len(frames) != 2:
                shape = ProtocolError(f"expected 1 frame after the identity, got {len(frames) - 1}")
                self.drops.drop(_shown(peer), shape)
                continue
            try:
                msg = decode(frames[1], WORKER_FRAME_LIMITS)
            except ProtocolError as exc:
                self.drops.drop(_shown(peer), exc)
                continue
            try:
                self._handle(identity, peer, msg, user)
            except Exception:  # one bad message must not take the master down
                log.exception("handling %s from %s failed", msg.TYPE, _shown(peer))

    def _handle(self, identity: bytes, peer: str, msg: Message, user: str | None = None) -> None:
        w = self.registry.get(peer)
        if isinstance(msg, Hello):
            self._hello(identity, peer, msg, w, user)
            return
        if w is None:
            self.drops.drop(_shown(peer), ProtocolError(f"{msg.TYPE} from a worker that did not say hello"))
            return
        if w.contested or (w.key is not None and user != w.key):
            log.debug("ignored %s from %s: another process (or key) claimed the id", msg.TYPE, _shown(peer))
            return
        if not w.ready and not isinstance(msg, (Ready, BundleError, Heartbeat, Bye)):
            # Only a worker that loaded the bundle may feed the run: stats, notices, errors, stops.
            self.drops.drop(_shown(peer), ProtocolError(f"{msg.TYPE} from a worker that is not ready"))
            return
        w.last_seen = time.monotonic()
        w.identity = identity
        if isinstance(msg, Bye):
            if not w.was_ready:
                self.registry.forget(w.id)  # never a worker: nothing to record
                return
            w.view.left_at = time.time()
            w.state = "gone"
            self._changed = True
            log.info("worker %s left: %s", w.id, clean(msg.reason))
            self._unfinished_share(w, "left")
            return
        if not w.view.live and w.ready:
            self._rejoin(w)
        if isinstance(msg, Stats):
            self._stats(w, msg)
        elif isinstance(msg, Heartbeat):
            w.state, w.cpu_percent, w.rss, w.users = clean(msg.state, 40), msg.cpu_percent, msg.rss, msg.users
            if msg.phase and w.ready:
                w.done[msg.phase] = set(msg.done)
        elif isinstance(msg, Stopped):
            w.stopped[msg.phase] = msg.seq
        elif isinstance(msg, Ready):
            self._ready(w, msg)
        elif isinstance(msg, BundleError):
            if w.bundle_error is None:
                w.bundle_error = clean(msg.message, 1000)
                log.error("worker %s could not load the bundle: %s", w.id, w.bundle_error)
            w.ready = False
            w.state = "failed"
            if w.was_ready:
                w.view.left_at = time.time()
                self._changed = True
        elif isinstance(msg, Error):
            log.error("worker %s: %s", w.id, clean(msg.message, 1000))
        elif isinstance(msg, Notice):
            self._notice(w, msg)
        else:
            self.drops.drop(_shown(peer), ProtocolError(f"unexpected message type {msg.TYPE} from a worker"))

    def _unfinished_share(self, w: WorkerRecord, how: str) -> None:
        """A worker gone mid-phase takes the rest of its run_once share with it (those users are not
        re-run elsewhere: which of them already ran is not known): say so, in the log and the summary."""
        phase = w.phase if w.phase == self._running_phase else None
        unfinished = sorted(w.once.get(phase, set()) - w.done.get(phase, set())) if phase else []
        if unfinished:
            names = ", ".join(repr(s) for s in unfinished)
            text = (f"{how} before finishing its share of run_once scenario(s) {names} in phase {phase!r}: "
                    "the rest of that share was not sent")
            log.warning("worker %s %s", w.id, text)
            self._problem(w, text)

    def _problem(self, w: WorkerRecord, text: str) -> None:
        problems = w.view.problems
        if len(problems) < MAX_PROBLEMS:
            problems.append(text)
        elif len(problems) == MAX_PROBLEMS:
            problems.append("(further notices only in the master's log)")

    def _notice(self, w: WorkerRecord, msg: Notice) -> None:
        # One line whatever the worker sent: it goes into the log and the reports.
        text = clean(msg.message, 1000)
        self._problem(w, text)
        if msg.fatal:
            log.error("worker %s: %s", w.id, text)
            if self.stop_run is not None:
                self.stop_run(f"worker {w.id}: {text}", 3)
        else:
            log.warning("worker %s: %s", w.id, text)


    def _hello(self, identity: bytes, peer: str, msg: Hello, w: WorkerRecord | None, user: str | None = None) -> None:
        if msg.worker_id != peer:
            self.drops.drop(_shown(peer), ProtocolError(f"hello names worker {msg.worker_id!r} but came from {peer!r}"))
            return
        host = clean(msg.host, 100)
        now = time.monotonic()
        if w is None:
            cap = max(MAX_PENDING_PEERS, 2 * self.expect_workers)  # a big cluster's workers all start at once
            if len(self.registry.pending()) >= cap:
                self.drops.drop("(new peers)", ProtocolError(
                    f"hello refused: {cap} peers already said hello without becoming ready"))
                return
            w = WorkerRecord(WorkerView(peer, host, msg.capacity, joined_at=time.time()), identity, key=user)
            self.registry.add(w)
            log.info("worker %s connected from %s (pid %d, %d cpus)", peer, host, msg.pid, msg.cpu_count)
        elif w.key is not None and user != w.key:
            # With keys, a worker id belongs to the key it first came with: another key never takes it over.
            self.drops.drop(_shown(peer), ProtocolError(
                f"hello refused: worker {peer} belongs to key {w.key!r}; this hello came with key {user!r}"))
            return
        elif w.view.live and msg.pid != w.pid:
            # Another process claims a connected worker's id: refused, never a takeover. A restarted
            # worker gets in once its old process is declared lost (it keeps saying hello until then).
            w.contested = True
            self.drops.drop(_shown(peer), ProtocolError(
                f"hello refused: worker {peer} is connected (pid {w.pid}); this hello came from pid {msg.pid}"))
            return
        elif w.view.live and not w.ready and now - w.welcomed_at < REWELCOME_INTERVAL:
            return  # a repeated hello while its welcome is on the way: the bundle is not sent twice a second
        else:
            if not w.view.live:
                self._back(w, "said hello again")
            if msg.pid != w.pid:
                # The same worker id from a new process (restarted): it numbers its stats from 1 again.
                w.last_seq = 0
                if w.was_ready:
                    w.view.restarts += 1
                    log.warning("worker %s restarted (pid %d, was %d)", peer, msg.pid, w.pid)
            w.identity, w.ready, w.bundle_error, w.phase = identity, False, None, None
            w.contested = False
            w.view.left_at = None
            w.view.lost = False
            w.view.host = host
            w.stopped.clear()
            log.info("worker %s said hello again", peer)
        w.pid, w.cpu_count, w.last_seen, w.state = msg.pid, msg.cpu_count, now, "loading"
        w.hello_at = w.welcomed_at = now
        w.view.capacity = msg.capacity
        self._send(w, Welcome(peer, self.run_id, self.heartbeat_interval, self.master_timeout, self.stats_interval))
        self._send(w, self._bundle_for(peer))

    def _bundle_for(self, worker_id: str) -> Bundle:
        """The bundle, with this worker's share of the data rows when the run has data files."""
        if not self._data:
            return self.bundle
        index = self._shares.setdefault(worker_id, len(self._shares))
        options = {**self.bundle.options, "data_share": [index, max(1, self.expect_workers)]}
        return replace(self.bundle, options=options)

    def _ready(self, w: WorkerRecord, msg: Ready) -> None:
        if msg.bundle_sha256 != self.digest:
            w.bundle_error = f"loaded bundle {clean(msg.bundle_sha256[:12])}, expected {self.digest[:12]}"
            return
        if not w.ready:
            w.ready = w.was_ready = True
            w.state = "ready"
            if self._started:
                self._changed = True  # joined mid-run: the controller gives it a share now

    def _back(self, w: WorkerRecord, how: str) -> None:
        """Close the lost interval of a worker that was declared lost and is heard from again."""
        if w.view.lost_intervals and w.view.lost_intervals[-1][1] is None:
            start = w.view.lost_intervals[-1][0]
            w.view.lost_intervals[-1] = (start, time.time())
            log.warning("worker %s is back after being declared lost (%s, %.1fs later)", w.id, how,
                        time.time() - start)

    def _rejoin(self, w: WorkerRecord) -> None:
        self._back(w, "its connection carried on")
        w.view.left_at = None
        w.view.lost = False  # live again (lost_intervals keep the history)
        w.phase = None
        self._changed = True

    def _stats(self, w: WorkerRecord, msg: Stats) -> None:
        # Acks are cumulative, so batches merge strictly in order: a resend we already merged, or one
        # past a gap (a frame lost in a reconnect), gets the last ack again and the worker resends.
        if msg.seq != w.last_seq + 1:
            self._send(w, Ack(w.last_seq))
            return
        try:
            batch = StatsBatch.from_wire(msg.batch)
            self._check_plausible(batch)
        except ValueError as exc:
            # Acked (a resend would be as bad), logged once per worker and reason, never merged.
            self.drops.drop(_shown(w.id), ProtocolError(f"malformed stats batch {msg.seq}: {exc}"))
            log.debug("worker %s sent a malformed stats batch %d: %s", w.id, msg.seq, exc)
        else:
            batch.records, batch.records_dropped = msg.records, msg.records_dropped
            self._queue.append((w.id, batch))
        w.last_seq = msg.seq
        self._send(w, Ack(msg.seq))

    def _check_plausible(self, batch: StatsBatch) -> None:
        """ValueError unless every window lies inside a phase that ran (give or take WINDOW_SLACK_S), and
        every count is one a worker could have made."""
        now = time.monotonic()
        for entry in batch.entries:
            clock = self._phase_clock.get(entry.phase)
            if clock is None:
                raise ValueError(f"stats batch: phase {clean(entry.phase, 60)!r} has not started")
            start, end = clock
            last = int((end if end is not None else now) - start) + WINDOW_SLACK_S
            for second, (n, _failures, _hist) in entry.windows.items():
                if not -WINDOW_SLACK_S <= second <= last:
                    raise ValueError(f"stats batch: window at second {second} is outside phase "
                                     f"{clean(entry.phase, 60)!r} (0..{last - WINDOW_SLACK_S}s)")
                if n > MAX_WINDOW_COUNT:
                    raise ValueError(f"stats batch: {n} requests in one second of one key is implausible")
            if entry.count > MAX_WINDOW_COUNT * max(1, len(entry.windows)):
                raise ValueError(f"stats batch: a count of {entry.count} is implausible")
        for (phase, _scenario), n in batch.users.items():
            if phase not in self._phase_clock or n > MAX_USERS_GAUGE:
                raise ValueError(f"stats batch: users gauge {n} for phase {clean(phase, 60)!r} is implausible")
        for entry in batch.entries:
            # Error messages reach logs and reports: one printable line each, bounded (merging adds the
            # counts of messages that become equal).
            if any(not message.isprintable() or len(message) > MAX_ERROR_TEXT for _, message in entry.errors):
                cleaned: dict[tuple[str, str], int] = {}
                for (kind, message), n in entry.errors.items():
                    key = (clean(kind, 40), clean(message, MAX_ERROR_TEXT))
                    cleaned[key] = cleaned.get(key, 0) + n
                entry.errors = cleaned

    def _heartbeat(self) -> None:
        # Liveness is checked more often than heartbeats are sent, so a silent worker is lost after
        # liveness x interval, not up to one more interval later.
        next_beat = time.monotonic() + self.heartbeat_interval
        while True:
            gevent.sleep(min(LIVENESS_CHECK, self.heartbeat_interval))
            now = time.monotonic()
            limit = self.heartbeat_interval * self.liveness
            beat = now >= next_beat
            if beat:
                next_beat = now + self.heartbeat_interval
                frame = encode(Heartbeat(self.state))  # one encode for every worker
            for w in self.registry.connected():
                if not w.was_ready:
                    if now - w.last_seen > limit or now - w.hello_at > PENDING_TIMEOUT:
                        # Never a worker: forgotten, not lost (a real one says hello again).
                        self.registry.forget(w.id)
                        log.debug("forgot peer %s: not ready after its hello", _shown(w.id))
                        continue
                elif now - w.last_seen > limit:
                    w.view.lost = True
                    w.view.left_at = time.time()
                    w.view.lost_intervals.append((w.view.left_at, None))
                    w.state = "lost"
                    self._changed = True
                    log.warning("worker %s lost: silent for %.1fs", w.id, now - w.last_seen)
                    self._unfinished_share(w, "was lost")
                    continue
                if beat and now - w.last_sent >= self.heartbeat_interval / 2:
                    # Any message is a sign of life to a worker: one that just got an ack needs no beat.
                    self._send_frame(w, frame, "heartbeat")
