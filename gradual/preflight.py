"""Checks that need the environment rather than the files: done before any load starts."""

from __future__ import annotations

from .configs import ConfigError, ConfigIssue, RunConfig
from .runners.auth import MissingCredentials, authorization_header


def missing_credentials(run: RunConfig) -> list[ConfigIssue]:
    """One issue per request whose auth names an environment variable that is not set."""
    issues = []
    for req in run.all_requests:
        try:
            authorization_header(req.auth)
        except MissingCredentials as exc:
            issues.append(ConfigIssue(req.source, f"requests.{req.name}.auth", str(exc)))
    return issues


def check_credentials(run: RunConfig) -> None:
    """Every auth environment variable a request names is set (else exit 2 naming request and variable)."""
    issues = missing_credentials(run)
    if issues:
        raise ConfigError(issues)
