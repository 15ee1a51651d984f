"""The open model (arrivals per second): the schedule's arithmetic, rate plans, and real runs against servers
on 127.0.0.1 — saturated (dropped counted exactly), through a known stall (the rate holds, latency shows it),
and Poisson arrivals as the server sees them.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from support.gradual_run import HTTP_BASE, run_gradual, write_run_config, write_yaml
from support.stall import StallServer
from support.target import TargetProcess

from gradual import plan
from gradual.configs import ScenarioConfig
from gradual.runners.arrivals import NEVER, ArrivalSchedule
from master.dispatch import split_rate


def _dues(schedule: ArrivalSchedule, until: float) -> list[float]:
    out = []
    while schedule.next_due() < until:
        out.append(schedule.next_due())
        schedule.advance()
    return out


def test_uniform_arrivals_are_evenly_spaced_from_phase_start() -> None:
    s = ArrivalSchedule()
    s.set_rate(0.0, 4.0)
    assert _dues(s, 2.0) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_a_rate_step_changes_the_spacing_from_then_on_with_no_burst() -> None:
    s = ArrivalSchedule()
    s.set_rate(0.0, 2.0)
    before = _dues(s, 1.2)  # 0, 0.5, 1.0
    s.set_rate(1.2, 10.0)  # owed by 1.2: 2.4 arrivals; the next is the 4th (k=3), at 1.2 + 0.6/10
    after = _dues(s, 1.6)
    assert before == [0.0, 0.5, 1.0]
    assert [round(t, 9) for t in after] == [1.26, 1.36, 1.46, 1.56]


def test_rate_zero_schedules_nothing_until_the_rate_comes_back() -> None:
    s = ArrivalSchedule()
    s.set_rate(0.0, 0.0)
    assert s.next_due() == NEVER
    s.set_rate(5.0, 1.0)  # no catch-up for the 5 s at 0: the next arrival is due at once, then 1/s
    assert _dues(s, 7.5) == [5.0, 6.0, 7.0]


def test_workers_shares_interleave_into_one_evenly_spaced_stream() -> None:
    shares = split_rate(30.0, [("w1", 1.0), ("w2", 1.0), ("w3", 1.0)])
    assert math.isclose(sum(r for r, _ in shares.values()), 30.0)
    merged = []
    for rate, theta in shares.values():
        s = ArrivalSchedule()
        s.set_rate(0.0, rate, theta)
        merged += _dues(s, 1.0)
    merged.sort()
    assert len(merged) == 30
    gaps = [b - a for a, b in zip(merged, merged[1:], strict=False)]
    assert max(gaps) - min(gaps) < 1e-9 and math.isclose(gaps[0], 1 / 30)


def test_unequal_capacities_split_the_rate_in_proportion() -> None:
    shares = split_rate(100.0, [("a", 1.0), ("b", 3.0)])
    assert shares == {"a": (25.0, 0.0), "b": (75.0, 0.25)}


def test_poisson_inter_arrival_times_are_exponential() -> None:
    s = ArrivalSchedule("poisson", seed=12)
    s.set_rate(0.0, 100.0)
    dues = _dues(s, 200.0)
    gaps = [b - a for a, b in zip(dues, dues[1:], strict=False)]
    mean = statistics.fmean(gaps)
    assert abs(len(dues) - 20_000) < 4 * math.sqrt(20_000)
    assert abs(mean - 0.01) < 0.0003
    assert abs(statistics.pstdev(gaps) / mean - 1.0) < 0.03  # an exponential's coefficient of variation is 1
    assert abs(sum(g > mean for g in gaps) / len(gaps) - math.exp(-1)) < 0.015  # P(gap > mean) = 1/e


# --- rate plans --------------------------------------------------------------------------------------------

def _open(lo: float, hi: float, *, multiply: tuple[float, ...] | None = None, add: tuple[float, ...] | None = None,
          wait: tuple[float, ...] = (1.0,)) -> ScenarioConfig:
    return ScenarioConfig("s", (), 0, 10, ramp_up_multiply=multiply, ramp_up_add=add, ramp_up_wait=wait,
                          min_rate=lo, max_rate=hi)


def test_the_ramp_keys_step_the_rate_as_they_step_users() -> None:
    steps = plan.timeline(_open(10, 45, multiply=(2,), wait=(2,)), 30)
    assert [(s.offset, s.target) for s in steps] == [(0, 10), (2, 20), (4, 40), (6, 45)]
    assert plan.describe(steps, rate=True) == "t=0s:10/s → t=2s:20/s → t=4s:40/s → t=6s:45/s"
    down = plan.timeline(_open(100, 0, add=(-37.5,), wait=(0.5,)), 30)
    assert [s.target for s in down] == [100, 62.5, 25, 0]


@settings(max_examples=200, deadline=None)
@given(lo=st.floats(0.5, 500), hi=st.floats(0, 500), factor=st.one_of(st.floats(0.05, 0.98), st.floats(1.02, 4)),
       wait=st.sampled_from([0.0, 0.5, 2.0]))
def test_a_rate_ramp_is_monotone_toward_max_rate_and_ends_there(lo: float, hi: float, factor: float,
                                                                  wait: float) -> None:
    if (hi > lo) != (factor > 1) or hi == lo:
        return  # validation rejects a factor pointing away from max_rate
    steps = plan.ramp(_open(lo, hi, multiply=(factor,), wait=(wait,)))
    assert steps[0].target == lo and steps[-1].target == hi  # all the way to max_rate
    assert all(min(lo, hi) <= s.target <= max(lo, hi) for s in steps)
    for a, b in zip(steps, steps[1:], strict=False):
        assert (b.target >= a.target) if hi > lo else (b.target <= a.target)


# --- real runs ---------------------------------------------------------------------------------------------

def test_a_saturated_open_scenario_counts_every_arrival_it_drops(target: TargetProcess, tmp_path: Path) -> None:
    config = write_run_config(tmp_path, {"p": {"run_time": 3, "scenarios": {
        "busy": {"requests": ["slow"], "min_rate": 100, "max_rate": 100, "max_concurrency": 1},
    }}}, requests={"slow": {"url": f"{HTTP_BASE}/slow?ms=20"}})
    target.reset()

    run = run_gradual(config, target=target, extra_args=["--report-dir", str(tmp_path / "reports")])

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    (scen,) = run.summary["phases"][0]["scenarios"]
    count = run.request("slow")["count"]
    # The reports say it too: the arrivals CSV and a JUnit case per open scenario.
    (arrivals_csv,) = (tmp_path / "reports").glob("*_arrivals.csv")
    header, row = arrivals_csv.read_text().splitlines()
    assert header == "Phase,Scenario,Scheduled,Started,Dropped,Dropped (%)"
    assert row.split(",")[:5] == ["p", "busy", str(scen["scheduled"]), str(count), str(scen["dropped"])]
    (html,) = (tmp_path / "reports").glob("*.html")
    assert f"{scen['scheduled']} arrivals scheduled, {count} started, {scen['dropped']} dropped" in html.read_text()
    (junit,) = (tmp_path / "reports").glob("*.xml")
    assert f"p/busy: {scen['scheduled']} arrivals scheduled, {count} started, {scen['dropped']} dropped" \
        in junit.read_text()
    assert scen["model"] == "open"
    assert scen["scheduled"] == count + scen["dropped"]  # exactly: each arrival started or dropped
    assert 290 <= scen["scheduled"] <= 302  # 100/s for 3 s, from t=0
    assert count <= 3 / 0.020 + 2 and scen["dropped"] >= 100  # one journey of >= 20 ms at a time
    assert target.counts()["requests"]["GET /slow"] == count  # what the server saw
    assert scen["peak_users"] == 1
    warning = [line for line in run.stderr.splitlines() if "drops arrivals" in line]
    assert len(warning) == 1, run.stderr  # once, naming the scenario and the journeys it would need
    assert "scenario p/busy drops arrivals at 100/s: they found all 1 journeys of its max_concurrency busy " \
           "(or came over 0.5 s late to a starved scheduler); it would need about " in warning[0]
    need = int(warning[0].split("need about ")[1].split()[0])
    assert 2 <= need <= 5, warning  # 100/s x ~21-30 ms


def test_open_model_through_a_stall_holds_the_rate_and_its_latency_shows_the_stall(tmp_path: Path) -> None:
    rate = 40
    with StallServer(period=4.0, stall=2.0) as server:
        write_yaml(tmp_path / "requests.yaml", {"requests": {"tick": {"url": f"{server.url}/tick"}}})
        config = write_yaml(tmp_path / "config.yaml", {"runs": {"name": "stall", "phases": {"p": {
            "run_time": 8.5, "scenarios": {"arrivals": {
                "requests": ["tick"], "request_file": "requests.yaml", "min_rate": rate, "max_rate": rate,
                "max_concurrency": 400}},
            "thresholds": ["p99 >= 1s", "dropped == 0"]}}}})
        run = run_gradual(config)
        per_second = server.per_second()
        seen = server.count()

    assert run.returncode == 0, run.stderr
    assert run.summary is not None
    (scen,) = run.summary["phases"][0]["scenarios"]
    req = run.request("tick")
    assert req["count"] == seen == scen["scheduled"] and scen["dropped"] == 0
    # The rate holds through the stalls: every whole second inside the run, the server saw ~40 arrive.
    inner = sorted(per_second)[1:-1]
    assert len(inner) >= 6 and all(rate * 0.8 <= per_second[s] <= rate * 1.2 for s in inner), per_second
    latency, service = req["latency_ms"], req["service_ms"]
    assert latency["p99"] >= 1000 and latency["max"] >= 1500  # what a user arriving in a stall waits
    for key in ("p50", "p90", "p99", "max"):  # measured from the scheduled time, latency >= service
        assert latency[key] >= service[key] - 0.01, (key, latency, service)


def test_poisson_arrivals_reach_the_server_with_exponential_gaps(tmp_path: Path) -> None:
    with StallServer(period=10_000.0, stall=0.0) as server:  # never stalls: it only records arrivals
        write_yaml(tmp_path / "requests.yaml", {"requests": {"r": {"url": f"{server.url}/r"}}})
        config = write_yaml(tmp_path / "config.yaml", {"runs": {"name": "poisson", "phases": {"p": {
            "run_time": 4, "scenarios": {"random": {
                "requests": ["r"], "request_file": "requests.yaml", "min_rate": 150, "max_rate": 150,
                "max_concurrency": 100, "arrivals": "poisson"}}}}}})
        run = run_gradual(config)
        arrivals = sorted(server.arrivals)

    assert run.returncode == 0, run.stderr
    assert abs(len(arrivals) - 600) < 5 * math.sqrt(600), len(arrivals)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    cv = statistics.pstdev(gaps) / statistics.fmean(gaps)
    assert 0.8 < cv < 1.25, cv  # exponential gaps (uniform arrivals would give a cv near 0)


def test_dropped_thresholds_read_the_arrival_counts() -> None:
    from gradual.configs.thresholds import Threshold, parse_expression
    from gradual.stats import RunStats, StatsBatch
    from gradual.stats.thresholds import evaluate

    def judge(text: str) -> tuple[float | None, bool]:
        parsed = parse_expression(text)
        assert not isinstance(parsed, str), parsed
        verdict = evaluate(Threshold(text, *parsed), stats, {"p": 1.0}, set())
        return verdict.observed, verdict.passed

    stats = RunStats()
    stats.merge(StatsBatch(arrivals={("p", "s"): (150, 20)}), source="w1")
    stats.merge(StatsBatch(arrivals={("p", "s"): (50, 30)}), source="w2")  # merged exactly across workers
    assert stats.arrivals("p", "s") == (200, 50) and stats.arrivals("p", "other") is None
    assert judge("dropped == 50") == (50.0, True)
    assert judge("dropped_rate < 10%") == (25.0, False)
