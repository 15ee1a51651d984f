"""Load and validate a test config (and the request files it names) into a RunConfig.

Every error of a file is collected and raised together as one ConfigError; nothing runs on a config
that did not validate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from . import journey
from .checks import Checker
from .compat import check_distributed, check_phase_name
from .errors import ConfigError, ConfigIssue, did_you_mean, display_path, type_name
from .model import PhaseConfig, RequestConfig, RunConfig, ScenarioConfig
from .overrides import Overrides, attribute, check_host, host_requests
from .overrides import apply as apply_overrides
from .plugin_specs import parse_plugins
from .requests import ca_search, helper_files, load_request_file, request_data_files
from .thresholds import Threshold, parse_thresholds
from .workload import OPEN_KEYS, OpenModel, parse_open_model, parse_wait_time
from .yamlfile import absolute, file_problem, line_of, load_yaml, shown_path

FROM_FILE = "FROM_REQUEST_YAML_FILE"
CONFIG_DIR, CWD = "config", "cwd"  # where a request_file was found (ScenarioConfig.request_files)
BASES = {CONFIG_DIR: "next to the config", CWD: "in the working directory"}
DEFAULT_RAMP_UP_WAIT = 0.1  # the original framework's default
RUN_KEYS = ("name", "wait_between_phases", "phases", "stop_timeout", "thresholds", "plugins", "distributed",
            "files")
PHASE_KEYS = ("run_time", "scenarios", "thresholds", "name")  # name: the original user guide's (a warning)
SCENARIO_KEYS = (
    "requests", "request_file", "min_concurrency", "max_concurrency", "ramp_up_multiply", "ramp_up_add",
    "ramp_up_wait", "iterate_through_requests", "run_once", "thresholds", "wait_time", *OPEN_KEYS,
    "data", "on_start", "cookies",
)


def load(
    config: Path | str, request_config: Path | str | None = None, overrides: Overrides | None = None,
    *, cwd: Path | str | None = None,
) -> RunConfig:
    """Load ``config`` (and ``request_config``, the file for scenarios without a request_file).

    ``overrides`` (--host, --run-time, --users, --set ...) change the parsed file before it is checked;
    an error about a value one of them wrote names the override, not the file.

    A relative ``request_file`` is looked for next to the config, then in ``cwd`` (default: the
    working directory, the original framework's rule); a worker passes the master's, from the bundle.
    A relative ``ca_file`` is looked for next to its request file, then in ``cwd`` too.
    """
    config = absolute(Path(config))
    base = absolute(Path(cwd)) if cwd is not None else Path.cwd()
    overrides = overrides or Overrides()
    data = load_yaml(config)
    written, unapplied = apply_overrides(data, overrides)
    if overrides.host is not None:
        problem = check_host(overrides.host)
        if problem is not None:
            unapplied.insert(0, ConfigIssue(overrides.host.origin, "", problem))
    check = Checker(config)
    req_path = absolute(Path(request_config)) if request_config is not None else None
    shared: dict[str, RequestConfig] | None = None
    files: list[Path] = [config]
    with ca_search(base) as ca_in_cwd:
        if req_path is not None:
            shared = _load_requests(check, req_path, "--request-config", None)
            files.append(req_path)
            files.extend(request_data_files(shared or {}))
        try:
            run = _run(check, data, config, req_path, shared, files, base)
        except ConfigError as exc:
            raise ConfigError(unapplied + attribute(exc.issues, written, str(config)),
                              attribute(exc.warnings, written, str(config))) from None
    if ca_in_cwd and run.cwd is None:
        run = replace(run, cwd=base)  # a ca_file found only there: workers look in the shipped copy of it
    if unapplied:
        raise ConfigError(unapplied, run.warnings)
    if written:
        run = replace(run, warnings=tuple(attribute(run.warnings, written, str(config))))
    if overrides.host is not None:
        run = _with_host(run, overrides.host.value)
    return replace(run, overrides=overrides)


def _with_host(run: RunConfig, host: str) -> RunConfig:
    """Every request's URL (a Python request's labelled url too) on ``host``: --host / GRADUAL_HOST."""
    phases = []
    for phase in run.phases:
        scenarios = []
        for scen in phase.scenarios:
            moved = host_requests({r.name: r for r in (*scen.on_start, *scen.requests)}, host)
            scenarios.append(replace(scen, requests=tuple(moved[r.name] for r in scen.requests),
                                     on_start=tuple(moved[r.name] for r in scen.on_start)))
        phases.append(replace(phase, scenarios=tuple(scenarios)))
    return replace(run, phases=tuple(phases))


def _run(
    check: Checker, data: Any, config: Path, req_path: Path | None,
    shared: dict[str, RequestConfig] | None, files: list[Path], cwd: Path,
) -> RunConfig:

    if not isinstance(data, dict):
        found = "the file is empty" if data is None else f"found {type_name(data)}"
        check.error("", f"expected a mapping with a 'runs' key, {found}", getattr(data, "line", None))
        raise ConfigError(check.issues, check.warnings)
    check.keys(data, ("runs",), "")
    runs = check.mapping(data, "runs", "runs")
    if runs is None:
        raise ConfigError(check.issues, check.warnings)
    check.keys(runs, RUN_KEYS, "runs")
    check_distributed(check, runs)
    name = check.string(runs, "name", "runs.name", required=True, default="")
    wait = check.duration(runs, "wait_between_phases", "runs.wait_between_phases", default=0)
    stop_timeout = check.duration(runs, "stop_timeout", "runs.stop_timeout", default=5.0)
    phases_map = check.mapping(runs, "phases", "runs.phases")
    if phases_map is not None and not phases_map:
        check.error("runs.phases", "defines no phase", line_of(runs, "phases"))
    phases: list[PhaseConfig] = []
    shared_name = display_path(req_path) if req_path is not None else None
    thresholds = parse_thresholds(check, runs, "runs")
    plugins = parse_plugins(check, runs, config, files)
    journey.parse_run_files(check, runs, config, files)
    for phase_name, phase in (phases_map or {}).items():
        parsed = _phase(check, str(phase_name), phase, phases_map, config, shared, shared_name, files, thresholds,
                        cwd)
        if parsed is not None:
            phases.append(parsed)
    if not check.issues:
        _check_threshold_scopes(check, thresholds, phases)
    if check.issues:
        raise ConfigError(_dedupe(check.issues), _dedupe(check.warnings))
    return RunConfig(
        name=name,
        phases=tuple(phases),
        wait_between_phases=float(wait),
        stop_timeout=float(stop_timeout),
        source=config,
        request_config=req_path,
        files=tuple(dict.fromkeys(files)),
        thresholds=tuple(thresholds),
        plugins=tuple(plugins),
        raw=data,
        warnings=tuple(_dedupe(check.warnings)),
        cwd=cwd if any(base == CWD for p in phases for s in p.scenarios for _, base in s.request_files)
        else None,
    )


MAX_USERS = 1_000_000  # per scenario: beyond what one cluster of gevent workers could run
MAX_PLAN_STEPS = 100_000  # ramp steps per scenario and phase


def _check_plan_size(check: Checker, scen: ScenarioConfig, run_time: float, path: str, raw: Any) -> None:
    """Refuse plans no machine could run: too many users, or more ramp steps than MAX_PLAN_STEPS."""
    import itertools

    from gradual import plan

    if scen.max_concurrency > MAX_USERS or scen.min_concurrency > MAX_USERS:
        key = "max_concurrency" if scen.max_concurrency > MAX_USERS else "min_concurrency"
        check.error(f"{path}.{key}", f"{getattr(scen, key)} users is more than the {MAX_USERS} gradual "
                    "allows per scenario", line_of(raw, key))
        return
    steps = 0
    for step in itertools.islice(plan._steps(scen), MAX_PLAN_STEPS + 1):  # a generator: stops at the cap
        if step.offset >= run_time and not scen.run_once:
            break
        steps += 1
    if steps > MAX_PLAN_STEPS:
        key = "ramp_up_add" if scen.ramp_up_add else "ramp_up_multiply" if scen.ramp_up_multiply else "ramp_up_wait"
        check.error(f"{path}.{key}", f"the ramp has more than {MAX_PLAN_STEPS} steps"
                    f"{'' if scen.run_once else ' within the phase'}: take larger steps or longer waits",
                    line_of(raw, key))


def request_file_candidates(config: Path, rel: str, cwd: Path) -> list[tuple[Path, str]]:
    """Where a ``request_file`` may be, in the order looked at: next to the naming file, then the
    working directory (the original framework resolved it there). An absolute path is itself."""
    first = absolute(config.parent / rel)
    places = [(first, CONFIG_DIR)]
    second = absolute(cwd / rel)
    if not Path(rel).is_absolute() and second != first:
        places.append((second, CWD))
    return places


def _stall(lo: Any, hi: Any, multiply: tuple | None, add: tuple | None) -> int | None:
    """The user count where a ramp gets stuck before max (its list ended on a no-op step), else None."""
    steps = multiply if multiply is not None else add
    if lo is None or hi is None or steps is None or lo == hi:
        return None
    from ..plan import next_target

    target = lo
    for k in range(len(steps)):
        target = next_target(target, hi, multiply, add, k)
        if target == hi:
            return None
    return target if next_target(target, hi, multiply, add, len(steps)) == target else None


def _ramp_rules(check: Checker, scen: dict, path: str, lo: int, hi: int, multiply: tuple | None,
                add: tuple | None) -> int:
    """The ramp's direction rules (DESIGN.md, ramp semantics); the min_concurrency to start from.

    Up when min < max (multiply >= 1, add >= 0), down when min > max (multiply <= 1, add <= 0); a ramp
    that stops short of max holds where it stopped, with a warning; multiply from 0 starts at 1.
    """
    key = "ramp_up_multiply" if multiply is not None else "ramp_up_add"
    values = multiply if multiply is not None else add
    if lo > hi and values is None:
        check.error(f"{path}.min_concurrency",
                    f"min_concurrency ({lo}) is greater than max_concurrency ({hi}): a ramp-down from "
                    "min to max needs a ramp_up_multiply below 1 or a negative ramp_up_add",
                    line_of(scen, "min_concurrency"))
        return lo
    if values is not None and lo != hi:
        neutral = 1 if multiply is not None else 0
        for i, value in enumerate(values):
            wrong = value < neutral if lo < hi else value > neutral
            if not wrong:
                continue
            raw = scen[key]
            item = f"{path}.{key}[{i}]" if isinstance(raw, list) else f"{path}.{key}"
            line = line_of(raw, i) if isinstance(raw, list) else line_of(scen, key)
            if lo < hi:
                check.error(item, f"must be at least {neutral} to ramp up from min_concurrency ({lo}) to "
                            f"max_concurrency ({hi}), found {value!r} (a ramp-down starts with "
                            "min_concurrency above max_concurrency)", line)
            else:
                down = "a ramp_up_multiply below 1" if multiply is not None else "a negative ramp_up_add"
                check.error(f"{path}.min_concurrency",
                            f"min_concurrency ({lo}) is greater than max_concurrency ({hi}), but {key} "
                            f"{value!r} ramps up: swap them, or ramp down with {down}",
                            line_of(scen, "min_concurrency"))
            return lo
    if multiply is not None and lo == 0:
        check.warn(f"{path}.ramp_up_multiply", "multiplying from min_concurrency 0 would stay at 0 users: "
                   "the scenario starts at 1 user instead", line_of(scen, "ramp_up_multiply"))
        lo = 1
    if lo == 0 and (hi == 0 or add is None):
        reason = "with max_concurrency 0" if hi == 0 else "without ramp_up_add"
        check.error(f"{path}.min_concurrency",
                    f"min_concurrency 0 {reason} would never start a user: "
                    "set min_concurrency >= 1 or add a ramp_up_add",
                    line_of(scen, "min_concurrency"))
        return lo
    stall = _stall(lo, hi, multiply, add)
    if stall is not None:
        users = f"{stall} user{'' if stall == 1 else 's'}"
        if stall == lo and all(v == (1 if multiply is not None else 0) for v in values or ()):
            what = f"{key} {values[-1]:g} cannot {'grow' if lo < hi else 'shrink'} the target"  # type: ignore[index]
        else:
            what = f"the ramp stops at {users}: its last value is {values[-1]:g}"  # type: ignore[index]
        check.warn(f"{path}.{key}", f"{what}, so the scenario holds {users} and never reaches "
                   f"max_concurrency ({hi})", line_of(scen, key))
    return lo


def _check_pinned(check: Checker, scen: dict, path: str, requests: list[RequestConfig], users: int,
                  iterate: bool) -> None:
    """iterate_through_requests false pins user i to request i mod n: fewer users than requests leave some unrun."""
    if iterate or users >= len(requests):
        return
    never = [r.name for r in requests[users:]]
    shown = ", ".join(never[:3]) + (f" and {len(never) - 3} more" if len(never) > 3 else "")
    key = "max_concurrency" if "max_concurrency" in scen else "requests"
    check.warn(f"{path}.{key}",
               f"at most {users} user{'' if users == 1 else 's'} for {len(requests)} requests with "
               "iterate_through_requests false (each user is pinned to one request): "
               f"{shown} would never run; set iterate_through_requests: true or more users",
               line_of(scen, key))


def _dedupe(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return list(dict.fromkeys(issues))


def _load_requests(check: Checker, path: Path, key: str, line: int | None) -> dict[str, RequestConfig] | None:
    problem = file_problem(path)
    if problem is not None:
        check.error(key, f"request file not found: {path}" if problem == "file not found" else
                    f"request file {shown_path(path)}: {problem}", line)
        return None
    try:
        return load_request_file(path, check.warnings)
    except ConfigError as exc:
        check.issues.extend(exc.issues)
        check.warnings.extend(exc.warnings)
        return None


def _check_threshold_scopes(check: Checker, thresholds: list[Threshold], phases: list[PhaseConfig]) -> None:
    """A threshold's phase, scenario and request must exist (and belong together)."""
    for t in thresholds:
        in_phase = [p for p in phases if t.phase is None or p.name == t.phase]
        if not in_phase:
            names = [p.name for p in phases]
            check.error(f"{t.key}.phase", f"no phase named {t.phase!r}{did_you_mean(t.phase or '', names)}")
            continue
        scenarios = [s for p in in_phase for s in p.scenarios if t.scenario is None or s.name == t.scenario]
        if not scenarios:
            names = [s.name for p in in_phase for s in p.scenarios]
            check.error(f"{t.key}.scenario", f"no scenario named {t.scenario!r}{did_you_mean(t.scenario or '', names)}")
            continue
        if t.request is not None and not any(r.name == t.request for s in scenarios for r in s.requests):
            names = [r.name for s in scenarios for r in s.requests]
            check.error(f"{t.key}.request", f"no request named {t.request!r} in scope{did_you_mean(t.request, names)}")


def _phase(
    check: Checker, name: str, phase: Any, parent: dict, config: Path,
    shared: dict[str, RequestConfig] | None, shared_name: str | None, files: list[Path],
    thresholds: list[Threshold], cwd: Path,
) -> PhaseConfig | None:
    path = f"runs.phases.{name}"
    if not isinstance(phase, dict):
        check.error(path, f"expected a mapping with run_time and scenarios, found {type_name(phase)}",
                    line_of(parent, name))
        return None
    before = len(check.issues)
    check.keys(phase, PHASE_KEYS, path)
    check_phase_name(check, phase, path)
    run_time = check.duration(phase, "run_time", f"{path}.run_time", required=True, positive=True)
    scenarios_map = check.mapping(phase, "scenarios", f"{path}.scenarios")
    if scenarios_map is not None and not scenarios_map:
        check.error(f"{path}.scenarios", "defines no scenario", line_of(phase, "scenarios"))
    thresholds.extend(parse_thresholds(check, phase, path, phase=name))
    scenarios = []
    for scen_name, scen in (scenarios_map or {}).items():
        scen_path = f"{path}.scenarios.{scen_name}"
        if isinstance(scen, dict):
            thresholds.extend(parse_thresholds(check, scen, scen_path, phase=name, scenario=str(scen_name)))
        parsed = _scenario(check, str(scen_name), scen, scenarios_map, scen_path,
                           config, shared, shared_name, files, cwd)
        if parsed is not None and run_time is not None:
            _check_plan_size(check, parsed, float(run_time), scen_path, scen)
        if parsed is not None:
            scenarios.append(parsed)
    if len(check.issues) > before:
        return None
    return PhaseConfig(name=name, run_time=float(run_time), scenarios=tuple(scenarios))


def _scenario(
    check: Checker, name: str, scen: Any, parent: dict, path: str, config: Path,
    shared: dict[str, RequestConfig] | None, shared_name: str | None, files: list[Path], cwd: Path,
) -> ScenarioConfig | None:
    if not isinstance(scen, dict):
        check.error(path, f"expected a mapping, found {type_name(scen)}", line_of(parent, name))
        return None
    before = len(check.issues)
    check.keys(scen, SCENARIO_KEYS, path)
    open_model = None
    if "min_rate" in scen or "max_rate" in scen:
        open_model = parse_open_model(check, scen, path)
        lo, multiply, add = 0, None, None
        hi = check.number(scen, "max_concurrency", f"{path}.max_concurrency", integer=True, minimum=1)
    else:
        if "arrivals" in scen:
            check.error(f"{path}.arrivals", "applies to the open model only: give min_rate and max_rate "
                        "(arrivals per second) instead of min_concurrency", line_of(scen, "arrivals"))
        lo = check.number(scen, "min_concurrency", f"{path}.min_concurrency", required=True, integer=True,
                          minimum=0)
        hi = check.number(scen, "max_concurrency", f"{path}.max_concurrency", required=True, integer=True,
                          minimum=0)
        multiply = check.number_list(scen, "ramp_up_multiply", f"{path}.ramp_up_multiply", positive=True)
        add = check.number_list(scen, "ramp_up_add", f"{path}.ramp_up_add", integer=True)
        if "ramp_up_multiply" in scen and "ramp_up_add" in scen:
            check.error(f"{path}.ramp_up_add", "give either ramp_up_multiply or ramp_up_add, not both",
                        line_of(scen, "ramp_up_add"))
            multiply = add = None
        if lo is not None and hi is not None:
            lo = _ramp_rules(check, scen, path, lo, hi, multiply, add)
    wait = check.duration_list(scen, "ramp_up_wait", f"{path}.ramp_up_wait")
    iterate = check.boolean(scen, "iterate_through_requests", f"{path}.iterate_through_requests")
    wait_time = parse_wait_time(check, scen, path)
    run_once = check.boolean(scen, "run_once", f"{path}.run_once")

    # Which requests, from which file(s).
    pool = shared
    pool_key = shared_name or "--request-config"
    sources: list[tuple[Path, str]] = []
    if "request_file" in scen:
        pool, pool_key, sources = _request_files(check, scen, path, config, cwd, files)
    requests: list[RequestConfig] = []
    raw = scen.get("requests")
    line = line_of(scen, "requests")
    if raw is None:
        check.error(f"{path}.requests", f'is required: a list of request names or "{FROM_FILE}"', line)
    elif shared_name is None and "request_file" not in scen:
        check.error(f"{path}.requests",
                    "no request_file in this scenario and no --request-config given: "
                    "nowhere to find the requests",
                    line)
    elif raw == FROM_FILE:
        requests = list(pool.values()) if pool is not None else []
    elif isinstance(raw, str):
        hint = did_you_mean(raw, [FROM_FILE])
        check.error(f"{path}.requests", f'expected a list of request names or "{FROM_FILE}", '
                    f"found the string {raw!r}{hint}", line)
    elif not isinstance(raw, list) or not raw:
        found = "an empty list" if isinstance(raw, list) else type_name(raw)
        check.error(f"{path}.requests",
                    f'expected a list of request names or "{FROM_FILE}", found {found}', line)
    else:
        # The names' shape is checked even when their file failed to load; their existence only when it loaded.
        for i, item in enumerate(raw):
            item_line = line_of(raw, i)
            if not isinstance(item, str):
                check.error(f"{path}.requests[{i}]", f"expected a request name, found {type_name(item)}",
                            item_line)
            elif pool is None:
                continue
            elif item not in pool:
                hint = did_you_mean(item, pool)
                check.error(f"{path}.requests[{i}]", f"no request named {item!r} in {pool_key}{hint}",
                            item_line)
            else:
                requests.append(pool[item])
    cookies = check.boolean(scen, "cookies", f"{path}.cookies", default=True)
    data = journey.parse_data(check, scen, path, config, files)
    on_start = _on_start(check, scen, path, pool, pool_key)
    defaults: dict[str, str] = {}
    if len(check.issues) == before:
        defaults = journey.check_journey_names(check, path, [*on_start, *requests], data)
    if len(check.issues) > before:
        return None
    _check_pinned(check, scen, path, requests, max(int(lo), int(hi)), iterate)
    return ScenarioConfig(
        name=name,
        requests=tuple(requests),
        min_concurrency=int(lo),
        max_concurrency=int(hi),
        ramp_up_multiply=open_model.multiply if open_model else (tuple(float(m) for m in multiply)
                                                                 if multiply else None),
        ramp_up_add=open_model.add if open_model else tuple(int(a) for a in add) if add else None,
        ramp_up_wait=tuple(float(w) for w in wait) if wait else (DEFAULT_RAMP_UP_WAIT,),
        iterate_through_requests=iterate,
        run_once=run_once,
        request_files=tuple(sources),
        wait_time=wait_time,
        data=data[0] if data is not None else None,
        on_start=tuple(on_start),
        cookies=cookies,
        vars=tuple(sorted(defaults.items())),
        **_open_fields(open_model),
    )


def _request_files(
    check: Checker, scen: dict, path: str, config: Path, cwd: Path, files: list[Path],
) -> tuple[dict[str, RequestConfig] | None, str, list[tuple[Path, str]]]:
    """``request_file``: one file, or a list of them whose requests make one pool (a journey of YAML
    steps and Python functions: ``[shop.yaml, checkout.py]``; a name in two files is an error).
    Answers the pool (None after an error), the name errors call it, and each file with where it was found."""
    raw = scen.get("request_file")
    key, line = f"{path}.request_file", line_of(scen, "request_file")
    if isinstance(raw, list):
        if not raw:
            check.error(key, "expected a file name or a list of them, found an empty list", line)
            return None, "request_file", []
        names = [(item, f"{key}[{i}]", line_of(raw, i)) for i, item in enumerate(raw)]
    else:
        rel = check.string(scen, "request_file", key, required=True)
        if not rel:
            return None, str(raw), []
        names = [(rel, key, line)]
    pool: dict[str, RequestConfig] = {}
    owner: dict[str, str] = {}
    sources: list[tuple[Path, str]] = []
    failed = False
    for item, ikey, iline in names:
        if not isinstance(item, str) or not item:
            check.error(ikey, f"expected a file name, found {type_name(item)}", iline)
            failed = True
            continue
        found = _request_file(check, item, ikey, iline, config, cwd)
        if found is None:
            failed = True
            continue
        request_file, base = found
        sources.append(found)
        files.append(request_file)
        part = _load_requests(check, request_file, ikey, iline)
        files.extend(helper_files(request_file))  # shipped to workers with the request file
        files.extend(request_data_files(part or {}))  # CA files, read on the workers too
        if part is None:
            failed = True
            continue
        for name, req in part.items():
            if name in owner:
                check.error(ikey, f"request {name!r} is also defined in {owner[name]}: a scenario's request "
                            "names must be unique across its request files", iline)
                failed = True
            owner.setdefault(name, item)
            pool.setdefault(name, req)
    pool_key = ", ".join(str(item) for item, _, _ in names)
    return (None if failed else pool), pool_key, sources


def _request_file(check: Checker, rel: str, key: str, line: int | None, config: Path,
                  cwd: Path) -> tuple[Path, str] | None:
    """Where one request file is: next to the config, then in the working directory; None after an error."""
    tried = request_file_candidates(config, rel, cwd)
    found = next(((p, b) for p, b in tried if file_problem(p) != "file not found"), None)
    request_file = found[0] if found else tried[0][0]
    if request_file.suffix.lower() not in (".py", ".yaml", ".yml"):
        check.error(key, f"unsupported request file type {request_file.name!r} (use .py, .yaml or .yml)", line)
        return None
    if found is None:
        places = " and ".join(f"{shown_path(display_path(p))} ({BASES[b]})" for p, b in tried)
        check.error(key, f"file not found: {shown_path(rel)} (tried {places})", line)
        return None
    if (problem := file_problem(request_file)) is not None:
        check.error(key, f"{problem}: {shown_path(rel)} (resolved to {shown_path(request_file)})", line)
        return None
    return found


def _on_start(check: Checker, scen: dict, path: str, pool: dict[str, RequestConfig] | None,
              pool_key: str) -> list[RequestConfig]:
    """``on_start: [login]``: requests of the scenario's request file each user runs once, first."""
    raw = scen.get("on_start")
    if raw is None:
        return []
    line = line_of(scen, "on_start")
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        check.error(f"{path}.on_start", f"expected a list of request names, found {type_name(raw)}", line)
        return []
    out: list[RequestConfig] = []
    for i, item in enumerate(items):
        key = f"{path}.on_start[{i}]" if isinstance(raw, list) else f"{path}.on_start"
        item_line = line_of(raw, i) if isinstance(raw, list) else line
        if not isinstance(item, str):
            check.error(key, f"expected a request name, found {type_name(item)}", item_line)
        elif pool is not None and item not in pool:
            check.error(key, f"no request named {item!r} in {pool_key}{did_you_mean(item, pool)}", item_line)
        elif pool is not None:
            out.append(pool[item])
    return out


def _open_fields(model: OpenModel | None) -> dict[str, Any]:
    """ScenarioConfig's open-model fields (its ramp keys, which step the rate, are set with the closed ones)."""
    if model is None:
        return {}
    return {"min_rate": model.min_rate, "max_rate": model.max_rate, "arrivals": model.arrivals}
