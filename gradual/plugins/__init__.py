"""Plugins: classes with a lifecycle that extend a run, found in files or installed packages.

``Plugin`` (initialize/close), ``EventPlugin`` (handles one event of ``gradual.events``) and
``BackgroundPlugin`` (a greenlet for out-of-band work). docs/plugins.md explains them all.
"""

from .base import BOTH, MASTER, WORKER, BackgroundPlugin, EventPlugin, Plugin
from .environment import LOCAL, Environment, current_environment
from .manager import GROUP, PluginManager, PluginRecord

__all__ = [
    "BOTH",
    "GROUP",
    "LOCAL",
    "MASTER",
    "WORKER",
    "BackgroundPlugin",
    "Environment",
    "EventPlugin",
    "Plugin",
    "PluginManager",
    "PluginRecord",
    "current_environment",
]
