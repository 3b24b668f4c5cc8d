"""The one way accelsim reads YAML: configurations, device profiles, sweep specs, ``--set`` values.

Every YAML text goes through :func:`parse_yaml` (files through :func:`read_yaml` or
:func:`read_yaml_mapping`), a
``yaml.SafeLoader`` (plain data only, no Python objects) with these bounds:

- a file has at most :data:`MAX_BYTES` bytes and must be UTF-8;
- the document, with every alias expanded, has at most :data:`MAX_NODES` nodes, and no alias
  refers to a node that contains it (a "billion laughs" file of a few hundred bytes would
  otherwise expand to a billion values);
- a mapping must not repeat a key (YAML would silently keep the last value);
- nesting is bounded by Python's recursion limit.

Any violation, and any malformed YAML, is a :class:`~accelsim.errors.ConfigError` that names the
file (or option) and the problem with its line and column, never the file's contents.

>>> parse_yaml("{tn: 16, tm: 4}", "--set pe")
{'tn': 16, 'tm': 4}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from .errors import ConfigError, brief
from .inputs import input_file

#: Largest YAML file read, in bytes.
MAX_BYTES = 1 << 20
#: Largest number of nodes (scalars, sequences, mappings) of a document with its aliases expanded.
MAX_NODES = 100_000
#: Longest problem description quoted from the YAML parser, in characters.
_MAX_PROBLEM = 160


class _Refused(Exception):
    """A bound of this module was exceeded (internal; becomes a ConfigError naming the source)."""


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping with a repeated key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if repeated:
                mark = key_node.start_mark
                raise _Refused(f"must give each key of a mapping once, not {brief(key)} again at line "
                               f"{mark.line + 1}, column {mark.column + 1}")
            seen.add(key)
        return super().construct_mapping(node, deep)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes of the document under ``root`` with every alias expanded (stops past :data:`MAX_NODES`).

    Raises:
        _Refused: an alias inside the node it names.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _Refused("must hold no alias inside the node it names, not a recursive structure")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        open_nodes.discard(key)
        sizes[key] = total
        return total

    return size(root)


def _capped(problem: str) -> str:
    """``problem`` cut to :data:`_MAX_PROBLEM` characters."""
    return problem if len(problem) <= _MAX_PROBLEM else f"{problem[:_MAX_PROBLEM - 3]}..."


def _problem(error: yaml.YAMLError) -> str:
    """What the parser found wrong, with its position, without quoting the text."""
    if isinstance(error, yaml.reader.ReaderError):  # a control character (NUL, BEL...) the reader refuses
        return f"the control character #x{error.character:04x} at offset {error.position}"
    problem = _capped(str(getattr(error, "problem", None) or type(error).__name__))
    mark = getattr(error, "problem_mark", None)
    return problem if mark is None else f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def parse_yaml(text: str, source: str) -> Any:
    """The data of the YAML ``text``; ``source`` names it in errors (``"config file 'x.yaml'"``).

    Raises:
        ConfigError: malformed YAML (a control character, a value YAML cannot read such as an
            integer of more digits than Python converts or the date 2024-13-45), a repeated key,
            too many nodes once aliases are expanded, a recursive alias or too deep a nesting.
    """
    try:
        loader = _Loader(text)  # the reader checks the characters here
    except yaml.YAMLError as error:
        raise ConfigError(f"{source} must be valid YAML, not {_problem(error)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_NODES:
            raise _Refused(f"must have at most {MAX_NODES:,} values with its aliases expanded, not more")
        return loader.construct_document(node)
    except _Refused as error:
        raise ConfigError(f"{source} {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{source} must be valid YAML, not {_problem(error)}") from None
    except RecursionError:
        raise ConfigError(f"{source} must nest its values at most a few hundred levels deep, not deeper") from None
    except ValueError as error:  # a scalar's constructor: int() of over 4,300 digits, an impossible date
        problem = _capped(str(error).split(";")[0])
        raise ConfigError(f"{source} must be valid YAML, not a value it cannot read: {problem}") from None
    finally:
        loader.dispose()


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """The data of the YAML file at ``path``; ``what`` names its role in errors (``"config file"``).

    Raises:
        ConfigError: the file is missing, not a regular file (:func:`~accelsim.inputs.input_file`),
            unreadable, larger than :data:`MAX_BYTES`, not UTF-8, or refused by :func:`parse_yaml`.
            The message names the file, never its contents.
    """
    file = input_file(path, what)
    source = f"{what} {brief(str(file))}"
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{source} must be a readable file, not one that fails with {error.strerror}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{source} must be at most {MAX_BYTES:,} bytes, not larger")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{source} must be UTF-8 text, not bytes with 0x{data[error.start]:02x} at offset {error.start}"
        ) from None
    return parse_yaml(text, source)


def read_yaml_mapping(path: str | os.PathLike[str], what: str) -> Mapping[Any, Any]:
    """:func:`read_yaml` of a file that must hold a mapping (a configuration, a device, a spec).

    Raises:
        ConfigError: as :func:`read_yaml`, or the file holds something else (named by its type only).
    """
    data = read_yaml(path, what)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} {brief(str(path))} must hold a mapping of keys to values, "
                          f"not a {type(data).__name__}")
    return data
