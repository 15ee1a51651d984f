"""gradual: a distributed stress-testing cluster.

What users and plugin authors import lives here; everything else is internal.
"""

from .configs.decorators import on_call_completion, request

__version__ = "0.1.0"

__all__ = ["__version__", "on_call_completion", "request"]
