"""Credentials for requests, read from the environment variables a config names."""

from __future__ import annotations

import base64
import os

from ..configs.model import AuthConfig


class MissingCredentials(Exception):
    """An auth environment variable is not set."""


def authorization_header(auth: AuthConfig | None) -> str | None:
    if auth is None or auth.kind == "template":  # a templated value: built with the request (journeys)
        return None
    if auth.kind == "bearer":
        return f"Bearer {_env(auth.token_env)}"
    user, password = _env(auth.username_env), _env(auth.password_env)
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _env(name: str | None) -> str:
    value = os.environ.get(name or "")
    if value is None:
        raise MissingCredentials(f"environment variable {name} is not set")
    return value
