"""Protocol constants shared by master and worker, kept in one place (ZeroMQ-guide style).

docs/protocol.md explains how each one is used; change them there and here together.
"""

from __future__ import annotations

# Bump on any incompatible change: a renamed/removed field, a changed type or meaning.
# Adding an optional field or a new message type does not need a bump.
PROTOCOL_VERSION = 2

DEFAULT_PORT = 5557

# Seconds between heartbeats, sent both ways.
HEARTBEAT_INTERVAL = 1.0
# Heartbeat intervals of silence after which the master declares a worker lost.
HEARTBEAT_LIVENESS = 3
# Seconds of master silence after which a worker stops all load (it never runs unsupervised).
MASTER_TIMEOUT = 10.0

# Worker reconnect back-off: starts at INIT, doubles per failed attempt, capped at MAX (seconds).
RECONNECT_INTERVAL_INIT = 0.25
RECONNECT_INTERVAL_MAX = 4.0

# Largest frame either side will encode or decode; checked before unpacking.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024

# Stats batches a worker keeps while waiting for acks (5 minutes at one batch per second).
MAX_UNACKED_BATCHES = 300
# --records: completion records one stats message may carry, and all of a worker's unacked batches together
# (older batches lose theirs first, counted as dropped): a master that is slow to ack cannot grow a worker's memory.
MAX_RECORDS_PER_BATCH = 10_000
MAX_RECORDS_UNACKED = 50_000
# Seconds between stats batches from a worker.
STATS_INTERVAL = 1.0
# Seconds without ack progress after which a worker resends its unacked batches; this catches
# batches lost in a reconnect that ZeroMQ made silently underneath the worker.
STATS_RESEND_TIMEOUT = HEARTBEAT_INTERVAL * HEARTBEAT_LIVENESS
