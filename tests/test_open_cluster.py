"""The open model in a cluster of real processes: the master splits each step's rate across workers by
capacity, the combined stream is exact, and a lost worker's rate moves to the survivors at once.

Each worker's calls hit /w/<worker> and are logged with their time, so the server and the logs tell which
worker sent what, and when.
"""

from __future__ import annotations

import time

from support.cluster import Cluster, by_id, parse_time, server_paths, wait_until, write_recording_config
from support.target import TargetProcess

RATE = 60.0  # arrivals per second for the whole cluster
# Three silent heartbeat intervals make a worker lost, and the controller re-splits on its next tick.
MOVED_AFTER_S = 1.5


def _rate(calls: list[tuple[float, int]], start: float, end: float) -> float:
    return sum(1 for t, _ in calls if start <= t < end) / (end - start)


def test_three_workers_share_the_rate_and_dropped_scheduled_merge_exactly(cluster: Cluster,
                                                                           target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_rate": RATE, "max_rate": RATE, "max_concurrency": 90},
                                    run_time=5)
    target.reset()
    master = cluster.master(config, 3)
    for name in ("w1", "w2", "w3"):
        cluster.worker(name)

    assert master.wait() == 0, cluster.logs()
    summary = cluster.summary()
    (scen,) = summary["phases"][0]["scenarios"]
    (req,) = scen["requests"]
    seen = server_paths(target)
    # Arrivals that came over 0.5 s late are dropped, not sent in a burst: a worker's first call (imports,
    # connects) makes a few, and a worker starved of CPU (a loaded machine) makes more. Their number is not a
    # property of gradual; that every one is accounted for, exactly, is.
    assert scen["model"] == "open" and scen["dropped"] < scen["scheduled"], scen
    assert scen["scheduled"] == req["count"] + scen["dropped"]  # exactly, merged from three workers
    assert sum(seen.values()) == req["count"]
    assert abs(scen["scheduled"] - RATE * 5) <= 6, scen["scheduled"]
    # An equal share each (capacity 1): 20/s for 5 s scheduled; a worker sends its share less its own drops,
    # which are at most all of the run's.
    shares = [seen[name] for name in ("w1", "w2", "w3")]
    assert all(RATE / 3 * 5 * 0.8 - scen["dropped"] <= n <= RATE / 3 * 5 + 2 for n in shares), (shares, scen)
    # Interleaved, not in step: the workers' arrivals together are evenly spaced (no three at once).
    calls = sorted(t for rows in cluster.calls().values() for t, _ in rows)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert sorted(gaps)[len(gaps) // 2] > 0.3 / RATE, "the workers' arrivals bunch together"


def test_a_lost_workers_rate_moves_to_the_survivors(cluster: Cluster, target: TargetProcess) -> None:
    config = write_recording_config(cluster.folder, {"min_rate": RATE, "max_rate": RATE, "max_concurrency": 90},
                                    run_time=9)
    target.reset()
    master = cluster.master(config, 3)
    workers = {name: cluster.worker(name) for name in ("w1", "w2", "w3")}
    wait_until(lambda: len(server_paths(target)) == 3, 20, "all three workers send load")
    started = max(rows[0][0] for rows in cluster.calls().values())  # all three have started by then
    wait_until(lambda: time.time() > started + 1.5, 5, "a second and a half of shared load")
    workers["w2"].kill9()

    assert master.wait() == 0, cluster.logs()
    summary = cluster.summary()
    lost = by_id(summary)["w2"]
    assert lost["lost"] is True
    phase = summary["phases"][0]
    end = parse_time(phase["started_at"]) + phase["duration_s"]
    after = parse_time(lost["left_at"]) + MOVED_AFTER_S
    assert end - after > 1.5, "the phase ended too soon after the loss to see the survivors' share"
    calls = cluster.calls()
    before = [_rate(calls[w], started + 0.3, started + 1.3) for w in ("w1", "w2", "w3")]
    survivors = [_rate(calls[w], after, end - 0.2) for w in ("w1", "w3")]
    assert all(RATE / 3 * 0.7 <= r <= RATE / 3 * 1.3 for r in before), before  # 20/s each
    assert all(RATE / 2 * 0.8 <= r <= RATE / 2 * 1.2 for r in survivors), (before, survivors)  # 30/s each
    (scen,) = phase["scenarios"]
    # The lost worker's last arrivals may have started after its last batch: never more counted than scheduled.
    assert scen["scheduled"] >= scen["requests"][0]["count"] + scen["dropped"]

