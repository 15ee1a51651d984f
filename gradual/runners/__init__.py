"""The load engine of one node: users, pools and one runner per request kind."""

from ..configs.model import HTTP, PYTHON, WEBSOCKET
from .base import Outcome, RequestRunner, UserContext
from .http import HttpRunner
from .python import PythonRunner
from .websocket import WebSocketRunner

RUNNERS: dict[str, type[RequestRunner]] = {HTTP: HttpRunner, WEBSOCKET: WebSocketRunner, PYTHON: PythonRunner}

__all__ = ["RUNNERS", "HttpRunner", "Outcome", "PythonRunner", "RequestRunner", "UserContext", "WebSocketRunner"]
