"""Python requests: the @request function, called once per iteration and timed.

An exception is a failure with its type and message; a returned object whose ``status_code`` is
400 or more is a failure of kind "http".
"""

from __future__ import annotations

from ..configs.decorators import accepts_argument
from ..configs.model import RequestConfig
from .base import EXCEPTION, HTTP_ERROR, Outcome, RequestRunner, UserContext


class PythonRunner(RequestRunner):
    def __init__(self, request: RequestConfig, ctx: UserContext) -> None:
        super().__init__(request, ctx)
        assert request.function is not None
        self._fn = request.function
        self._with_ctx = accepts_argument(request.function)

    def run(self) -> Outcome:
        try:
            result = self._fn(self.ctx) if self._with_ctx else self._fn()
        except Exception as exc:  # the user's function failing is a failed request
            return Outcome(error_kind=EXCEPTION, error_message=f"{type(exc).__name__}: {exc}")
        status = getattr(result, "status_code", None)
        if not isinstance(status, int) or isinstance(status, bool):
            return Outcome(None, _size(result), None, None, result)
        if status >= 400:
            return Outcome(status, _size(result), HTTP_ERROR, f"HTTP {status}", result)
        return Outcome(status, _size(result), None, None, result)


def _size(result: object) -> int:
    content = getattr(result, "content", None)
    if isinstance(content, (bytes, bytearray, str)):
        return len(content)
    return 0
