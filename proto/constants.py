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
# What the master accepts from a worker, per message type, checked before unpacking too: only stats
# batches may be large (minutes of windows for hundreds of request keys); everything else is small.
MAX_STATS_FRAME = 4 * 1024 * 1024
MAX_CONTROL_FRAME = 64 * 1024
# msgpack container limits passed to the unpacker: no array, map, str or bin may claim more.
MAX_ARRAY_LEN = 1 << 17
MAX_MAP_LEN = 1 << 16
MAX_STR_LEN = 1024 * 1024
MAX_BIN_LEN = MAX_MESSAGE_SIZE
# A frame over MAX_CONTROL_FRAME in which more than this share of the bytes start a container is
# refused before unpacking: each such byte would cost ~60 bytes of Python objects (amplification).
MAX_CONTAINER_DENSITY = 1 / 6

# Worker capacity (relative share of the load): 0 < capacity <= MAX_CAPACITY.
MAX_CAPACITY = 1_000_000.0
# Peers that said hello but are not ready yet: at most this many at once; forgotten when silent for
# the liveness limit, or when still not ready PENDING_TIMEOUT seconds after their hello.
MAX_PENDING_PEERS = 256
PENDING_TIMEOUT = 120.0
# A stats window may start this many seconds outside its phase (clock slack between the phase_start
# a worker received and the master's) and still be merged.
WINDOW_SLACK_S = 10

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
