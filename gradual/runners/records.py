"""The completion record handed to @on_call_completion callbacks (and request listeners).

Field names are the original framework's; ``phase_name`` and ``error`` are additions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class CompletionRecord:
    request_name: str
    url: str
    params: Any
    context: Any
    response_time: int  # nanoseconds
    status_code: int | None
    start_time: int  # epoch nanoseconds
    end_time: int  # epoch nanoseconds
    iid: int  # the user's iteration number (0-based)
    scenario_name: str
    expected_response_time: float | None  # seconds
    phase_name: str
    error: str | None  # "kind: message" for a failure, None for a success
    response: Any = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("response")
        data.pop("context")
        return data
