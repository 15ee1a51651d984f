"""YAML loading that remembers where each key came from.

Mappings load as ``LineMap`` (a dict that knows the line of each key) so that validation errors can
point at ``file:line``; duplicate keys, which plain PyYAML silently overwrites, are reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ConfigIssue


class LineMap(dict):
    """A dict with the 1-based line of the mapping (``line``) and of each key (``lines``).

    ``key_line`` is the line of the key that holds this mapping (``p1:`` for the mapping of phase p1):
    a missing key is reported there, where the user reads the block, rather than at its first key.
    """

    line: int | None = None
    key_line: int | None = None
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int | None:
        return getattr(self, "lines", {}).get(key, self.key_line or self.line)


class LineList(list):
    """A list with the 1-based line of the sequence and of each item."""

    line: int | None = None
    key_line: int | None = None
    lines: list[int]

    def line_of(self, index: int) -> int | None:
        lines = getattr(self, "lines", [])
        return lines[index] if index < len(lines) else self.line


def line_of(container: Any, key: Any) -> int | None:
    if isinstance(container, (LineMap, LineList)):
        return container.line_of(key)
    return None


class _Loader(yaml.SafeLoader):
    duplicates: list[tuple[int, str, int]]  # (id of the mapping node, key, line)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    own = {id(key_node) for key_node, _ in node.value}  # keys written here, not brought in by `<<: *x`
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.lines = {}
    written: set[Any] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            ) from None
        line = key_node.start_mark.line + 1
        if id(key_node) in own:
            # A key overriding a merged one (`<<: *defaults` then `run_time: 5`) is the point of merging;
            # the same key written twice in one mapping is a mistake.
            if key in written:
                loader.duplicates.append((id(node), str(key), line))
            written.add(key)
        value = loader.construct_object(value_node, deep=True)
        if isinstance(value, (LineMap, LineList)) and value.key_line is None:
            value.key_line = line
        result[key] = value
        result.lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path) -> Any:
    """Parse ``path``; a missing file, bad YAML or duplicate key raises ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError.single(path, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError.single(path, "", "is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError.single(path, "", f"cannot read file: {exc}") from None
    return load_yaml_text(text, path)


def _mapping_paths(node: yaml.Node | None, path: str, out: dict[int, str]) -> dict[int, str]:
    """The key path (``runs.phases.p1``) of every mapping node, for naming duplicate keys."""
    if node is None or id(node) in out:
        return out
    if isinstance(node, yaml.MappingNode):
        out[id(node)] = path
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            _mapping_paths(value_node, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, yaml.SequenceNode):
        out[id(node)] = path
        for i, child in enumerate(node.value):
            _mapping_paths(child, f"{path}[{i}]", out)
    return out


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's message in a user's words: what is wrong, where the construct began, what to check."""
    problem = exc.problem or exc.context or "invalid YAML"
    context, start, at = exc.context, exc.context_mark, exc.problem_mark
    if context and start is not None and (at is None or start.line != at.line):
        problem += f" ({context} that starts at line {start.line + 1})"
    if "'\\t'" in problem or "\t" in problem:
        problem += ": YAML indents with spaces, not tabs"
    elif "expected <block end>" in problem or "mapping values are not allowed" in problem:
        problem += ": check the indentation of this line and the one above"
    return problem


def load_yaml_text(text: str, path: Path | str) -> Any:
    loader = _Loader(text)
    loader.duplicates = []
    paths: dict[int, str] = {}
    try:
        node = loader.get_single_node()
        _mapping_paths(node, "", paths)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError.single(path, "", f"invalid YAML: {_yaml_problem(exc)}", line) from None
    except yaml.YAMLError as exc:
        raise ConfigError.single(path, "", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        issues = []
        for node_id, key, line in loader.duplicates:
            parent = paths.get(node_id, "")
            issues.append(ConfigIssue(str(path), f"{parent}.{key}" if parent else key,
                                      "duplicate key (the later value would silently win): keep only one",
                                      line))
        raise ConfigError(issues)
    return data
