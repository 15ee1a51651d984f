"""YAML loading that remembers where each key came from.

Mappings load as ``LineMap`` (a dict that knows the line of each key) so that validation errors can
point at ``file:line``; duplicate keys, which plain PyYAML silently overwrites, are reported.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ConfigIssue

# Inputs that cannot hurt: what a config (or request config) file may be before it is refused, exit 2.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_NODES = 200_000  # YAML nodes once every alias is expanded (a "billion laughs" file has 10^9)


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
    if not isinstance(node, yaml.MappingNode):  # `!!map x` on a scalar or a sequence
        raise yaml.constructor.ConstructorError(None, None, f"expected a mapping, found {node.id}", node.start_mark)
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
    if not isinstance(node, yaml.SequenceNode):  # `!!seq x` on a scalar or a mapping
        raise yaml.constructor.ConstructorError(None, None, f"expected a sequence, found {node.id}", node.start_mark)
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    try:
        return int(yaml.constructor.SafeConstructor.construct_yaml_int(loader, node))
    except ValueError:  # Python refuses to convert integers of more than 4,300 digits
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {len(str(node.value))} characters is too large", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def shown_path(path: Path | str, limit: int = 200) -> str:
    """A file name as an error message shows it: at most ``limit`` characters."""
    text = str(path)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def absolute(path: Path) -> Path:
    """``path`` made absolute, resolved where it can be (a symlink loop or an over-long name is left
    for file_problem() to report)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def file_problem(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Why ``path`` cannot be read as a file (one line), or None. Never opens it: a FIFO would block."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        if exc.errno == errno.ENAMETOOLONG:
            return "file name too long"
        return f"cannot read file: {exc.strerror or exc}"
    except ValueError as exc:  # an embedded NUL
        return f"not a usable file name: {exc}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, expected a file"
    if not stat.S_ISREG(info.st_mode):
        return "is a FIFO, device or socket, expected a regular file"
    if info.st_size > max_bytes:
        return f"is {info.st_size} bytes, more than the {max_bytes} a config file may have"
    return None


def _check_shape(node: yaml.Node, path: Path | str) -> None:
    """Nesting depth and alias-expanded size, before anything is constructed (iteratively: no recursion)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        current, depth, done = stack.pop()
        key = id(current)
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        if done:
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise ConfigError.single(path, "", f"expands to more than {MAX_NODES} values (through aliases?): "
                                         "refused", current.start_mark.line + 1)
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise ConfigError.single(path, "", f"nested more than {MAX_DEPTH} levels deep", current.start_mark.line + 1)
        stack.append((current, depth, True))
        for child in children:
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def load_yaml(path: Path) -> Any:
    """Parse ``path``; a missing or unreadable file, bad YAML or duplicate key raises ConfigError."""
    problem = file_problem(path)
    if problem == "is a directory, expected a file":
        problem = "is a directory, expected a YAML file"
    if problem is not None:
        raise ConfigError.single(path, "", problem)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError.single(path, "", f"cannot read file: {reason}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError.single(path, "", f"is more than the {MAX_FILE_BYTES} bytes a config file may have")
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
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        # A control character (or another one YAML does not allow): one line, with its line number.
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise ConfigError.single(path, "", f"invalid YAML: character {ascii(char)} is not allowed in YAML "
                                 "(a control character?)", line) from None
    loader.duplicates = []
    paths: dict[int, str] = {}
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_shape(node, path)
        _mapping_paths(node, "", paths)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise ConfigError.single(path, "", f"nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # PyYAML's own constructors fail this way on some tagged values (`!!timestamp null`, `!!binary 1`).
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ConfigError.single(path, "", f"invalid YAML: a tagged value could not be built ({reason})") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError.single(path, "", "invalid YAML: a character YAML does not allow", line) from None
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
