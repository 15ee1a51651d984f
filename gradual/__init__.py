"""gradual: a distributed stress-testing cluster.

What users and plugin authors import lives here; everything else is internal.
"""

from . import events
from .api import RunAborted, Summary, run
from .configs.decorators import on_call_completion, request
from .plugins.base import BackgroundPlugin, EventPlugin, Plugin

__version__ = "0.1.0"

__all__ = [
    "BackgroundPlugin", "EventPlugin", "Plugin", "RunAborted", "Summary", "__version__", "events", "on_call_completion",
    "request", "run",
]
