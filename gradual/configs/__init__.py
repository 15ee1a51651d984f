"""The configuration model: load and validate test configs and request files."""

from .errors import ConfigError, ConfigIssue
from .loader import FROM_FILE, load
from .model import AuthConfig, PhaseConfig, RequestConfig, RunConfig, ScenarioConfig

__all__ = [
    "FROM_FILE",
    "AuthConfig",
    "ConfigError",
    "ConfigIssue",
    "PhaseConfig",
    "RequestConfig",
    "RunConfig",
    "ScenarioConfig",
    "load",
]
