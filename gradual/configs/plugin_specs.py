"""``runs.plugins``: which plugins a run loads, checked like the rest of the config.

An entry is a plugin file (``path/to/plugin.py``, relative to the config; it joins the bundle), an
installed entry-point name, or a mapping ``{path: ... | name: ..., required: bool, options: {...}}``.
Only shape and file existence are checked here: importing a plugin is the plugin manager's job, so a
broken plugin is reported with its stage at run time rather than as a configuration error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checks import Checker
from .errors import type_name
from .model import PluginSpec
from .yamlfile import absolute, file_problem, line_of, shown_path

PLUGIN_KEYS = ("path", "name", "required", "options")


def _plain(value: Any) -> Any:
    """YAML's line-aware containers as plain dicts and lists (plugins get ordinary values)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _is_path(text: str) -> bool:
    return text.endswith(".py") or "/" in text or "\\" in text


def parse_plugins(check: Checker, runs: dict, config: Path, files: list[Path]) -> list[PluginSpec]:
    raw = runs.get("plugins")
    if raw is None:
        return []
    if not isinstance(raw, list):
        check.error("runs.plugins", f"expected a list of plugin files or names, found {type_name(raw)}",
                    line_of(runs, "plugins"))
        return []
    specs: list[PluginSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        path = f"runs.plugins[{i}]"
        line = line_of(raw, i)
        required = False
        options: dict[str, Any] = {}
        if isinstance(item, str):
            entry: dict[str, Any] = {"path": item} if _is_path(item) else {"name": item}
        elif isinstance(item, dict):
            check.keys(item, PLUGIN_KEYS, path)
            entry = item
            if ("path" in item) == ("name" in item):
                check.error(path, "give either path (a plugin file) or name (an installed plugin), not "
                            + ("both" if "path" in item else "neither"), line)
                continue
            required = check.boolean(item, "required", f"{path}.required")
            opts = item.get("options")
            if opts is not None and not isinstance(opts, dict):
                check.error(f"{path}.options", f"expected a mapping, found {type_name(opts)}",
                            line_of(item, "options"))
                continue
            options = _plain(opts or {})
        else:
            check.error(path, f"expected a plugin file, a name or a mapping, found {type_name(item)}", line)
            continue
        if "path" in entry:
            rel = entry["path"]
            key = f"{path}.path" if isinstance(item, dict) else path
            if not isinstance(rel, str) or not rel.strip():
                check.error(key, f"expected a file name, found {type_name(rel)}", line)
                continue
            file = absolute(config.parent / rel)
            if file.suffix.lower() != ".py":
                check.error(key, f"a plugin file must be a .py file, found {shown_path(rel)!r}", line)
                continue
            if (problem := file_problem(file)) is not None:
                check.error(key, f"{problem}: {shown_path(rel)} (resolved to {shown_path(file)})", line)
                continue
            ident = str(file)
            spec = PluginSpec(path=file, required=required, options=options)
            files.append(file)
        else:
            name = entry["name"]
            key = f"{path}.name" if isinstance(item, dict) else path
            if not isinstance(name, str) or not name.strip():
                check.error(key, f"expected an installed plugin's name, found {type_name(name)}", line)
                continue
            ident = name
            spec = PluginSpec(name=name.strip(), required=required, options=options)
        if ident in seen:
            check.error(path, f"plugin listed twice (first at runs.plugins[{seen[ident]}])", line)
            continue
        seen[ident] = i
        specs.append(spec)
    return specs
