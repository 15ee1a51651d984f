"""The worker agent: connects to the master, loads the bundle, drives the engine, streams stats.

It never runs load unsupervised: if the master is silent for master_timeout it stops every user at
once and keeps trying to reconnect. Unacked stat batches are kept (bounded) and resent.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections import deque

import gevent
import psutil
import zmq.green as zmq
from gevent.event import Event
from gradual.proto import (
    DEFAULT_PORT,
    HEARTBEAT_INTERVAL,
    MASTER_TIMEOUT,
    MAX_MESSAGE_SIZE,
    MAX_RECORDS_PER_BATCH,
    MAX_RECORDS_UNACKED,
    MAX_UNACKED_BATCHES,
    RECONNECT_INTERVAL_INIT,
    RECONNECT_INTERVAL_MAX,
    STATS_INTERVAL,
    STATS_RESEND_TIMEOUT,
    Ack,
    Bundle,
    BundleError,
    Bye,
    DropLog,
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
from zmq.utils.monitor import recv_monitor_message

from gradual import __version__
from gradual.keys import WorkerKeys
from gradual.plan import Batch
from gradual.plugins.runtime import WorkerPlugins, report_to_master
from gradual.runners.engine import Engine
from gradual.runners.record_collector import RecordCollector
from gradual.stats import RunStats

from .bundle import BundleLoadError, LoadedBundle

log = logging.getLogger("gradual.worker")

HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)

MASTER_CHECK_INTERVAL = 0.1  # seconds between checks that the master is still talking
# Batches are drained just after a phase second ends, so each carries one whole window per key
# (and a sliver of the next) instead of halves of two: about half the histogram buckets to merge.
STATS_ALIGN_DELAY = 0.05


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class Agent:
    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        worker_id: str | None = None,
        capacity: float = 1.0,
        master_timeout: float | None = None,
        serve: bool = False,
        keys: WorkerKeys | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.worker_id = worker_id or default_worker_id()
        self.capacity = capacity
        self.master_timeout_override = master_timeout
        self.master_timeout = master_timeout or MASTER_TIMEOUT
        self.heartbeat_interval = HEARTBEAT_INTERVAL
        self.stats_interval = STATS_INTERVAL
        self.serve = serve
        self.state = "connecting"
        self.welcomed = False
        self.run_id: str | None = None
        self.bundle: LoadedBundle | None = None
        self.engine: Engine | None = None
        self.phase: str | None = None
        self.phases_started: set[str] = set()
        self.phases_stopped: set[str] = set()
        self.cmd_seq = 0
        self.seq = 0
        self._sent_users: dict = {}
        self.unacked: deque[tuple[int, Stats, float]] = deque()  # (seq, message, last sent)
        self.records: RecordCollector | None = None  # --records on the master: this worker's completion records
        self.last_master = time.monotonic()
        self.exit_code = 0
        self._quit = Event()
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        self.drops = DropLog(log)
        self.plugins = WorkerPlugins(self.worker_id, notify=self._notice)
        self.run_stats = RunStats()  # this worker's own totals of the run: what test_stop shows its listeners
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, self.worker_id.encode())
        self.sock.setsockopt(zmq.LINGER, 1000)
        self.sock.setsockopt(zmq.MAXMSGSIZE, 2 * MAX_MESSAGE_SIZE)
        self.sock.setsockopt(zmq.RECONNECT_IVL, int(RECONNECT_INTERVAL_INIT * 1000))
        self.sock.setsockopt(zmq.RECONNECT_IVL_MAX, int(RECONNECT_INTERVAL_MAX * 1000))
        self.keys = keys
        if keys is not None:
            # The master's key is pinned: a peer that cannot prove it holds the matching secret fails the
            # handshake, so nothing it sends (a bundle: code) ever reaches this worker.
            self.sock.curve_secretkey = keys.own.secret
            self.sock.curve_publickey = keys.own.public
            self.sock.curve_serverkey = keys.master
        self._monitor = self.sock.get_monitor_socket(HANDSHAKE_EVENTS)
        self.sock.connect(f"tcp://{host}:{port}")

    # -- lifecycle -------------------------------------------------------------------------------
    def run(self) -> int:
        log.info("worker %s connecting to master %s", self.worker_id, self._master)
        greenlets = [gevent.spawn(self._receive), gevent.spawn(self._tick), gevent.spawn(self._hello_loop),
                     gevent.spawn(self._watch_handshakes)]
        try:
            self._quit.wait()
        finally:
            log.info("quitting (exit code %d)", self.exit_code)
            self._stop_load(0.0)
            self._flush()
            self._end_run(self.exit_code)
            self.plugins.close()  # after the last batch, so a sink sees every record
            self._send(Bye("quit"))
            gevent.killall(greenlets, block=True)
            self.sock.disable_monitor()
            self._monitor.close(linger=0)
            self.sock.close(linger=1000)
            self.ctx.term()
            if self.bundle is not None:
                self.bundle.remove()
        return self.exit_code

    @property
    def _master(self) -> str:
        return f"{self.host}:{self.port}"

    def _watch_handshakes(self) -> None:
        """Log (once each) why connections to the master fail their security handshake."""
        seen: set[int] = set()
        while True:
            try:
                event = recv_monitor_message(self._monitor)
            except zmq.ZMQError:
                return
            kind = event["event"]
            if kind in seen:
                continue
            seen.add(kind)
            if self.keys is not None:
                log.warning("the peer at %s:%s failed the CURVE handshake (event %d): it is not the master whose "
                            "key this worker pinned, or this worker's key is not authorized there; retrying",
                            self.host, self.port, kind)
            else:
                log.warning("the peer at %s:%s failed the handshake (event %d): does the master use --keys?",
                            self.host, self.port, kind)

    def shutdown(self, code: int = 0) -> None:
        self.exit_code = code
        self._quit.set()

    def _send(self, msg: Message) -> None:
        try:
            self.sock.send(encode(msg), flags=zmq.NOBLOCK)
        except zmq.Again:
            pass  # not connected and the queue is full: heartbeats and resends cover it
        except zmq.ZMQError as exc:
            log.debug("send %s failed: %s", msg.TYPE, exc)

    def _notice(self, message: str, fatal: bool) -> None:
        # Plugin failures can surface in a greenlet's link callback, which runs in the hub: send from a
        # greenlet of its own.
        gevent.spawn(self._send, Notice(message, fatal))

    def _hello(self) -> None:
        self._send(Hello(self.worker_id, __version__, socket.gethostname(), os.getpid(), os.cpu_count() or 1,
                         self.capacity))

    def _hello_loop(self) -> None:
        """Say hello until welcomed, backing off; again whenever the master went silent."""
        interval = RECONNECT_INTERVAL_INIT
        while True:
            if not self.welcomed:
                self._hello()
                gevent.sleep(interval)
                interval = min(interval * 2, RECONNECT_INTERVAL_MAX)
            else:
                interval = RECONNECT_INTERVAL_INIT
                gevent.sleep(0.1)

    # -- receiving -------------------------------------------------------------------------------
    def _receive(self) -> None:
        while True:
            frame = self.sock.recv()
            try:
                msg = decode(frame)
            except ProtocolError as exc:
                self.drops.drop(f"master {self.host}:{self.port}", exc)
                continue
            self.last_master = time.monotonic()
            try:
                self._handle(msg)
            except Exception:  # a bug in one handler must not silence the worker
                log.exception("handling %s failed", msg.TYPE)

    def _handle(self, msg: Message) -> None:
        if isinstance(msg, Welcome):
            self._welcome(msg)
        elif not self.welcomed:
            return  # left over from before a reconnect: wait for the welcome
        elif isinstance(msg, Bundle):
            self._bundle(msg)
        elif isinstance(msg, PhaseStart):
            if msg.phase in self.phases_stopped:
                pass  # crossed the phase_stop on the wire (see _phase_ready)
            elif msg.phase != self.phase or msg.phase not in self.phases_started:
                # A repeat for the running phase (the master resends it after a worker was lost and
                # came back) must not replace its pools: their users would run on, out of reach.
                self._phase_start(msg.phase)
        elif isinstance(msg, (SetTargets, RunBatches)):
            if self._fresh(msg.cmd_seq) and self._phase_ready(msg.phase):
                self._apply(msg)
        elif isinstance(msg, PhaseStop):
            gevent.spawn(self._phase_stop, msg.phase, msg.stop_timeout)
        elif isinstance(msg, Ack):
            while self.unacked and self.unacked[0][0] <= msg.seq:
                self.unacked.popleft()
        elif isinstance(msg, Quit):
            if self.serve:
                log.info("run over (exit code %d): waiting for the next one", msg.exit_code)
                self._reset(msg.exit_code)
            else:
                self.shutdown(msg.exit_code)
        # Heartbeat: last_master is already updated.

    def _apply(self, msg: SetTargets | RunBatches) -> None:
        """Start the users the master asked for; one that cannot be applied fails the run (exit 3), since
        the master would otherwise count on load that never runs."""
        assert self.engine is not None
        try:
            if isinstance(msg, SetTargets):
                self.engine.set_targets(msg.phase, msg.targets, msg.offsets, msg.rates)
            else:
                batches = [Batch(float(w), int(n)) for w, n in msg.batches]
                self.engine.run_batches(msg.phase, msg.scenario, batches, msg.offset)
        except Exception as exc:
            log.exception("cannot apply the master's %s for phase %r", msg.TYPE, msg.phase)
            self._send(Notice(f"cannot apply {msg.TYPE} for phase {msg.phase!r}: {type(exc).__name__}: {exc}",
                              fatal=True))
            return
        self.state = "running"

    def _fresh(self, cmd_seq: int) -> bool:
        if cmd_seq <= self.cmd_seq:
            log.debug("stale command %d (have %d)", cmd_seq, self.cmd_seq)
            return False
        self.cmd_seq = cmd_seq
        return True

    def _welcome(self, msg: Welcome) -> None:
        if self.run_id is not None and msg.run_id != self.run_id:
            self._reset()  # a new master run: nothing of the old one applies
        if not self.welcomed or msg.run_id != self.run_id:  # not the answer to a hello queued while cut off
            log.info("connected to master %s (run %s)", self._master, msg.run_id)
        self.run_id = msg.run_id
        self.welcomed = True
        self.heartbeat_interval = msg.heartbeat_interval
        self.stats_interval = msg.stats_interval
        # The stricter of the two: a master may ask for less time unsupervised, never for more.
        own = self.master_timeout_override or MASTER_TIMEOUT
        self.master_timeout = min(own, msg.master_timeout)
        # cmd_seq is not reset: the master numbers its commands for the whole run, and a second welcome of
        # the same run (the answer to a hello repeated before the first arrived, or a reconnect) must not let
        # a repeated or late command apply again. A new run starts from 0 (_reset).
        self._resend()

    def _bundle(self, msg: Bundle) -> None:
        digest = msg.digest()
        if (self.bundle is not None and self.bundle.digest == digest and self.bundle.options == msg.options
                and self.engine is not None):
            self._send(Ready(digest))
            return
        self.state = "loading"
        try:
            loaded = LoadedBundle(msg)
        except BundleLoadError as exc:
            self.state = "failed"
            log.error("bundle %s failed to load: %s", digest[:12], exc)
            self._send(BundleError(str(exc)))
            return
        share = msg.options.get("data_share")
        if not (isinstance(share, list) and len(share) == 2 and all(isinstance(v, int) for v in share)
                and 0 <= share[0] and share[1] >= 1):
            share = [0, 1]
        engine = Engine(loaded.run, worker=self.worker_id, share=(share[0], share[1]))
        # Plugins load with their bundle: a required one that fails makes the bundle fail (master: exit 3).
        # Other plugin failures are logged here, where the plugin ran, and go to the master as notices.
        fatal = self.plugins.start(loaded.run, msg.options, engine)
        if fatal is not None:
            loaded.remove()
            self.state = "failed"
            log.error("bundle %s failed to load: %s", digest[:12], fatal)
            self._send(BundleError(fatal))
            return
        if self.bundle is not None:
            self.bundle.remove()
        self._close_records()
        if (msg.options or {}).get("records"):
            self.records = RecordCollector(MAX_RECORDS_PER_BATCH)
        self.bundle = loaded
        self.engine = engine
        self.run_stats = RunStats()
        self.phases_started.clear()
        self.phases_stopped.clear()
        self.state = "ready"
        log.info("bundle loaded (sha256 %s): %r, %d phase(s)", digest[:12], loaded.run.name, len(loaded.run.phases))
        self._send(Ready(digest))

    def _phase_ready(self, phase: str) -> bool:
        if self.engine is None:
            return False
        if phase in self.phases_stopped:
            # A command that crossed the phase_stop on the wire: its users would run after the phase's
            # last stats batch, uncounted. A phase never restarts once stopped.
            log.debug("dropped a command for phase %r, which has stopped", phase)
            return False
        if phase not in self.phases_started or self.phase != phase:
            self._phase_start(phase)
        return True

    def _phase_start(self, phase: str) -> None:
        if self.engine is None:
            return
        try:
            self.engine.run.phase(phase)
        except KeyError:
            log.error("master started unknown phase %r", phase)
            return
        # Rejoining a phase (after a cut) keeps its origin, so its stats windows stay aligned.
        rejoin = phase in self.phases_started
        log.info("phase %s %s", phase, "rejoined" if rejoin else "started")
        self.engine.start_phase(phase, keep_origin=rejoin)
        if not self.phases_started:
            self.plugins.test_start()
        if phase not in self.phases_started:
            self.plugins.phase_start(phase)
        self.phases_started.add(phase)
        self.phase = phase

    def _phase_stop(self, phase: str, timeout: float) -> None:
        self.phases_stopped.add(phase)
        if self.engine is not None:
            self.engine.stop_phase(phase, timeout)
            self.plugins.phase_stop(phase)  # before the flush: its listeners may still add to the batch
        self._flush()
        self.state = "ready"
        log.info("phase %s stopped", phase)
        self._send(Stopped(phase, self.seq))

    # -- periodic work ---------------------------------------------------------------------------
    def _tick(self) -> None:
        next_stats = time.monotonic() + self.stats_interval
        next_beat = time.monotonic()
        while True:
            # The master-timeout check runs far more often than heartbeats: load must stop within
            # master_timeout of the master's last word, not up to a heartbeat interval later.
            gevent.sleep(MASTER_CHECK_INTERVAL)
            now = time.monotonic()
            if self.welcomed and now - self.last_master > self.master_timeout:
                log.warning("master silent for %.1fs: stopping all load", now - self.last_master)
                self._stop_load(0.0)
                log.info("load stopped; reconnecting to master %s", self._master)
                self.state = "orphaned"
                self.welcomed = False
            if now >= next_beat:
                next_beat = now + self.heartbeat_interval
                self._send(self._heartbeat())
            if now >= next_stats:
                next_stats = self._next_stats(now)
                self._flush()
                if self.unacked and now - self.unacked[0][2] > STATS_RESEND_TIMEOUT and self.welcomed:
                    self._resend()

    def _next_stats(self, now: float) -> float:
        """The next drain: on the phase's second grid (plus STATS_ALIGN_DELAY) while a phase runs."""
        origin = self.engine.origin(self.phase) if self.engine is not None else None
        if origin is None:
            return now + self.stats_interval
        interval = self.stats_interval
        elapsed = now - origin - STATS_ALIGN_DELAY
        return origin + STATS_ALIGN_DELAY + (math.floor(elapsed / interval) + 1) * interval

    def _heartbeat(self) -> Heartbeat:
        users = self.engine.total_users() if self.engine is not None else 0
        done = sorted(self.engine.done(self.phase)) if self.engine is not None and self.phase else []
        return Heartbeat(self.state, self._process.cpu_percent(None), self._process.memory_info().rss, users,
                         self.phase or "", done)

    def _flush(self) -> None:
        """Drain the recorder into a numbered batch, keep it until acked, send it."""
        if self.engine is None:
            return
        if len(self.unacked) >= MAX_UNACKED_BATCHES:
            # Nothing is dropped: the recorder keeps accumulating and the next batch carries it all.
            return
        batch = self.engine.drain()
        batch.custom = report_to_master(batch.custom, self.worker_id)
        if not batch.entries and not batch.custom and batch.users == self._sent_users:
            return  # an idle worker whose gauge did not move has nothing to say
        self._sent_users = dict(batch.users)
        self.seq += 1
        wire = batch.to_wire()
        self.run_stats.merge(batch)  # after to_wire: merging may adopt the batch's histograms
        msg = self._stats_message(self.seq, wire)
        self.unacked.append((self.seq, msg, time.monotonic()))
        if self.welcomed:
            self._send(msg)

    def _stats_message(self, seq: int, wire: dict) -> Stats:
        """The batch, with this worker's completion records when the master asked for them (--records)."""
        if self.records is None:
            return Stats(seq, wire)
        records, dropped = self.records.take()
        held = sum(len(m.records) for _, m, _ in self.unacked)
        for i, (old_seq, old, sent) in enumerate(self.unacked):
            if held + len(records) <= MAX_RECORDS_UNACKED:
                break
            if old.records:  # the oldest unacked batches give theirs up first, counted as dropped
                held -= len(old.records)
                self.unacked[i] = (old_seq, Stats(old.seq, old.batch, [], old.records_dropped + len(old.records)),
                                   sent)
        msg = Stats(seq, wire, records, dropped)
        try:
            encode(msg)
        except ProtocolError:  # records too large for one frame: the stats still go, the records are counted
            msg = Stats(seq, wire, [], dropped + len(records))
        return msg

    def _resend(self) -> None:
        now = time.monotonic()
        pending = list(self.unacked)
        self.unacked.clear()
        for seq, msg, _ in pending:
            self.unacked.append((seq, msg, now))
            self._send(msg)

    def _stop_load(self, timeout: float) -> None:
        if self.engine is not None:
            self.engine.stop_all(timeout)

    def _close_records(self) -> None:
        if self.records is not None:
            self.records.close()
            self.records = None

    def _end_run(self, exit_code: int | None) -> None:
        """test_stop (with this worker's totals) and quitting, on this node, once per run."""
        self.plugins.test_stop(self.run_stats)
        self.plugins.quitting(exit_code)

    def _reset(self, exit_code: int | None = None) -> None:
        """Forget the run (serve mode between runs, or a new master)."""
        self._stop_load(0.0)
        self._flush()
        self._end_run(exit_code)
        self.plugins.close()
        self._close_records()
        if self.bundle is not None:
            self.bundle.remove()
        self.bundle = None
        self.engine = None
        self.phase = None
        self.phases_started.clear()
        self.phases_stopped.clear()
        self.state = "idle"
        self.welcomed = False
        self.run_id = None
        self.cmd_seq = 0  # the next run's master numbers its commands from 1
        # Stats numbering and unacked batches belong to one run: the next master (a new run) counts
        # from seq 1, and would either drop the old run's batches as a gap or merge them into its own.
        self.seq = 0
        self.unacked.clear()
