"""The run's own pass/fail rule, beside thresholds: what a CI can trust from the exit code.

A run in which no request succeeded always fails (exit 1): a test against a target that is down must not
pass because it had no thresholds. ``--max-error-rate`` (a share, default 1.0 = off) fails a run whose
failed requests are more than that share of all requests.
"""

from __future__ import annotations


def failure_reason(count: int, failures: int, interrupted: int, max_error_rate: float = 1.0) -> str | None:
    """One line saying why the run fails by these rules, or None when it passes them."""
    succeeded = count - failures - interrupted
    if count == 0:
        return "no request succeeded: none was sent"
    if succeeded <= 0:
        parts = [f"{failures} failed"] + ([f"{interrupted} interrupted"] if interrupted else [])
        return f"no request succeeded: {', '.join(parts)} of {count}"
    rate = failures / count
    if max_error_rate < 1.0 and rate > max_error_rate:
        return (f"failure rate {_percent(rate)} ({failures} of {count} requests) is above "
                f"--max-error-rate {_percent(max_error_rate)}")
    return None


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"
