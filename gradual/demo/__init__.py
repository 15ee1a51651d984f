"""The demo target that `gradual demo` and the test-suite aim load at.

`DemoTarget` is imported lazily so `python -m gradual.demo.target` does not import the module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradual.demo.target import DemoTarget

__all__ = ["DemoTarget"]


def __getattr__(name: str) -> Any:
    if name == "DemoTarget":
        from gradual.demo.target import DemoTarget

        return DemoTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
