"""Ignore rules: paths left out of the comparison of a workflow's two sides (like Argo CD's
ignoreDifferences). Pure: parsing, narrowing, applying to a normalized document, and
telling which rule a diff change falls under.

Rule path grammar (docs/ignore-rules.md):

    settings.KEY[.MORE...]       a workflow settings key (`settings.timezone`)
    TYPE:PARAM.PATH              a node parameter of every node of type TYPE
                                 (`n8n-nodes-base.httpRequest:options.timeout`)
    *:PARAM.PATH                 the same, for nodes of any type
    notes                        every node's notes
    TYPE:@notes / *:@notes       the notes of the nodes of one type
    node:NAME                    a whole node by name, with its connections to and from it

A PATH is the notation of the diff (`canonflow.core.diff` rule 4): object keys joined with
`.`, list indices as `[0]` (or `[*]`: every item), a key that is not an identifier
JSON-quoted in brackets (`headers["Content-Type"]`); unquoted keys may also hold `-`.
A path ends with an object key (a rule removes a member, never a list item). Along the
removed path, objects left empty are dropped too, so `{options: {timeout: 5}}` and
`{options: {}}` and no `options` at all compare equal under `TYPE:options.timeout`.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from canonflow.core.canonical_json import canonical_json
from canonflow.core.diff_types import ValueChange, format_path

WILDCARD = "*"  # any node type
ANY_INDEX = -1  # a `[*]` segment: every item of a list
MAX_PATH_LENGTH = 500
_KEY = re.compile(r"[A-Za-z0-9_$\-]+")
_INDEX = re.compile(r"\[(\d+|\*)\]")
_TYPE = re.compile(r"[^\s:]+")


class InvalidRulePath(ValueError):
    """A rule path that does not follow the grammar; the message says why."""


class RuleKind(StrEnum):
    SETTINGS = "settings"
    PARAMETER = "parameter"
    NOTES = "notes"
    NODE = "node"


Segment = str | int  # a key, a list index, or ANY_INDEX (`[*]`)


@dataclass(frozen=True)
class RulePath:
    """A parsed rule path. `segments`: below `settings` or the node's `parameters`;
    `node_type`: None for any type; `node_name`: for NODE rules."""

    kind: RuleKind
    segments: tuple[Segment, ...] = ()
    node_type: str | None = None
    node_name: str | None = None

    def __str__(self) -> str:
        return format_rule_path(self)


@dataclass(frozen=True)
class IgnoreRule:
    """One stored rule: its path, narrowed to workflow slug globs and environment ids
    (empty: all)."""

    path: str
    workflows: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    note: str | None = None

    @property
    def parsed(self) -> RulePath:
        return _parsed(self.path)


# ---------------------------------------------------------------------------- grammar


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> RulePath:
    return parse_rule_path(text)


def parse_rule_path(text: str) -> RulePath:
    """Parse one rule path; InvalidRulePath (with the reason) when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRulePath("a rule path is a non-empty string")
    if len(text) > MAX_PATH_LENGTH:
        raise InvalidRulePath(f"a rule path is at most {MAX_PATH_LENGTH} characters")
    if text != text.strip():
        raise InvalidRulePath("a rule path has no leading or trailing spaces")
    if text.startswith("node:"):
        name = text[len("node:") :]
        if not name:
            raise InvalidRulePath("node:NAME needs a node name")
        return RulePath(RuleKind.NODE, node_name=name)
    if text == "notes":
        return RulePath(RuleKind.NOTES)
    if text.startswith(("settings.", "settings[")):
        segments = _parse_segments(text[len("settings") :], leading_dot=True)
        return RulePath(RuleKind.SETTINGS, segments)
    if ":" not in text:
        raise InvalidRulePath(
            f"{text!r} is none of settings.KEY, TYPE:PARAM.PATH, notes, TYPE:@notes, node:NAME"
        )
    node_type, rest = text.split(":", 1)
    if not _TYPE.fullmatch(node_type):
        raise InvalidRulePath(f"{node_type!r} is not a node type (or * for any type)")
    of_type = None if node_type == WILDCARD else node_type
    if rest == "@notes":
        return RulePath(RuleKind.NOTES, node_type=of_type)
    if not rest:
        raise InvalidRulePath(f"{text!r} names no parameter path after the node type")
    segments = _parse_segments(rest, leading_dot=False)
    return RulePath(RuleKind.PARAMETER, segments, node_type=of_type)


def _parse_segments(text: str, *, leading_dot: bool) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "[":
            position = _bracket(text, position, segments)
            continue
        if char == ".":
            if not segments and not leading_dot:
                raise InvalidRulePath(f"{text!r}: a path does not start with '.'")
            position += 1
        elif segments or leading_dot:
            raise InvalidRulePath(f"{text!r}: expected '.' or '[' at character {position + 1}")
        found = _KEY.match(text, position)
        if found is None:
            raise InvalidRulePath(
                f"{text!r}: expected a key at character {position + 1} "
                '(quote other keys: ["a key"])'
            )
        segments.append(found.group())
        position = found.end()
        leading_dot = False
    if not segments:
        raise InvalidRulePath("the path names no key")
    if not isinstance(segments[-1], str):
        raise InvalidRulePath(f"{text!r}: a path ends with an object key, not a list index")
    return tuple(segments)


def _bracket(text: str, position: int, segments: list[Segment]) -> int:
    index = _INDEX.match(text, position)
    if index is not None:
        value = index.group(1)
        segments.append(ANY_INDEX if value == "*" else int(value))
        return index.end()
    if text.startswith('["', position):
        decoder = json.JSONDecoder()
        try:
            key, end = decoder.raw_decode(text, position + 1)
        except json.JSONDecodeError as error:
            raise InvalidRulePath(f"{text!r}: bad quoted key ({error.msg})") from None
        if not isinstance(key, str) or not text.startswith("]", end):
            raise InvalidRulePath(f"{text!r}: a quoted key is closed by ']'")
        segments.append(key)
        return end + 1
    raise InvalidRulePath(f"{text!r}: '[' opens a list index ([0], [*]) or a quoted key")


def format_rule_path(path: RulePath) -> str:
    """The canonical text of a parsed path (`parse_rule_path` reads it back the same)."""
    if path.kind is RuleKind.NODE:
        return f"node:{path.node_name}"
    if path.kind is RuleKind.NOTES:
        return "notes" if path.node_type is None else f"{path.node_type}:@notes"
    text = _format_segments(path)
    if path.kind is RuleKind.SETTINGS:
        return "settings" + (text if text.startswith("[") else "." + text)
    return f"{path.node_type or WILDCARD}:{text}"


def _format_segments(path: RulePath) -> str:
    parts: list[str] = []
    for segment in path.segments:
        if segment == ANY_INDEX:
            parts.append("[*]")
        else:
            text = format_path((segment,))
            parts.append(text if text.startswith("[") or not parts else "." + text)
    return "".join(parts)


# ------------------------------------------------------------------------- narrowing


def applicable(rules: Iterable[IgnoreRule], slug: str, environment_id: object) -> list[IgnoreRule]:
    """The rules that apply to one workflow (by slug) in one environment (by id)."""
    env = str(environment_id)
    return [
        rule
        for rule in rules
        if (not rule.workflows or any(fnmatch.fnmatchcase(slug, g) for g in rule.workflows))
        and (not rule.environments or env in rule.environments)
    ]


def fingerprint(rules: Iterable[IgnoreRule]) -> str | None:
    """A stable hash of the rule paths that apply (None: no rule applies). Order and
    duplicates do not count: the same set of paths has the same fingerprint."""
    paths = sorted({str(rule.parsed) for rule in rules})
    if not paths:
        return None
    return "i1:" + hashlib.sha256(canonical_json(paths)).hexdigest()[:40]


def rules_fingerprint(rules: Sequence[IgnoreRule]) -> str:
    """A hash of a whole rule list with its narrowing (when it changes, every cell's
    effective hashes are recomputed)."""
    data = [[r.path, list(r.workflows), list(r.environments)] for r in rules]
    return "r1:" + hashlib.sha256(canonical_json(data)).hexdigest()[:40]


# ---------------------------------------------------------------------------- apply


def apply_ignores(
    document: Mapping[str, Any], rules: Iterable[IgnoreRule], *, in_place: bool = False
) -> dict[str, Any]:
    """A normalized document (`canonflow.core.normalize`) with every path the rules name
    removed: a fresh copy (the input is left as it is), or with `in_place` the document
    itself changed (for a caller that owns it: `normalize` returns fresh containers)."""
    if in_place and isinstance(document, dict):
        result = document
    else:
        result = json.loads(json.dumps(document))
    for rule in rules:
        _apply(result, rule.parsed)
    return result


def _apply(document: dict[str, Any], path: RulePath) -> None:
    nodes: list[dict[str, Any]] = document.get("nodes", [])
    if path.kind is RuleKind.SETTINGS:
        _remove(document.setdefault("settings", {}), path.segments)
        return
    if path.kind is RuleKind.NODE:
        _remove_node(document, str(path.node_name))
        return
    for node in nodes:
        if path.node_type is not None and node.get("type") != path.node_type:
            continue
        if path.kind is RuleKind.NOTES:
            node.pop("notes", None)
        elif isinstance(node.get("parameters"), dict):
            _remove(node["parameters"], path.segments)
            if not node["parameters"]:
                del node["parameters"]  # `{}` is the default normalize drops


def _remove(value: Any, segments: Sequence[Segment]) -> None:
    """Remove the member at `segments` below `value`; drop objects left empty on the way."""
    head, rest = segments[0], segments[1:]
    children: list[Any]
    if isinstance(value, dict) and isinstance(head, str):
        children = [head] if head in value else []
    elif isinstance(value, list) and head == ANY_INDEX:
        children = list(range(len(value)))
    elif isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        children = [head]
    else:
        return
    for child in children:
        if not rest:
            del value[child]
            continue
        inner = value[child]
        _remove(inner, rest)
        if isinstance(inner, dict) and not inner and isinstance(value, dict):
            del value[child]


def _remove_node(document: dict[str, Any], name: str) -> None:
    document["nodes"] = [n for n in document.get("nodes", []) if n.get("name") != name]
    connections: dict[str, Any] = document.get("connections", {})
    connections.pop(name, None)
    for source in list(connections):
        by_type = connections[source]
        for connection_type in list(by_type):
            outputs = [
                [t for t in targets if t.get("node") != name]
                for targets in by_type[connection_type]
            ]
            while outputs and not outputs[-1]:
                outputs.pop()
            if outputs:
                by_type[connection_type] = outputs
            else:
                del by_type[connection_type]
        if not by_type:
            del connections[source]


# ----------------------------------------------------------------------- the diff


def rule_for(
    change: ValueChange,
    rules: Iterable[IgnoreRule],
    *,
    node_type: str | None = None,
    node_name: str | None = None,
) -> IgnoreRule | None:
    """The first rule under which one change of a diff disappears, or None. Settings
    changes (paths below `settings`): `node_type` and `node_name` None; node changes
    (paths below the node): the node's type and name."""
    for rule in rules:
        path = rule.parsed
        if path.kind is RuleKind.NODE:
            if node_name is not None and node_name == path.node_name:
                return rule
            continue
        if node_name is None:
            if path.kind is RuleKind.SETTINGS and _hides(path.segments, change):
                return rule
            continue
        if path.node_type is not None and path.node_type != node_type:
            continue
        if path.kind is RuleKind.NOTES and change.path[:1] == ("notes",):
            return rule
        if path.kind is RuleKind.PARAMETER and _hides(("parameters", *path.segments), change):
            return rule
    return None


def rule_for_node(name: str, rules: Iterable[IgnoreRule]) -> IgnoreRule | None:
    """The `node:NAME` rule that leaves out a whole node (added, removed, renamed, or an
    end of a connection)."""
    for rule in rules:
        parsed = rule.parsed
        if parsed.kind is RuleKind.NODE and parsed.node_name == name:
            return rule
    return None


def _hides(segments: Sequence[Segment], change: ValueChange) -> bool:
    """The rule's path covers the change's path, or removing the rest of the rule's path
    from both of the change's values makes them equal."""
    covered = min(len(segments), len(change.path))
    for i in range(covered):
        if segments[i] == ANY_INDEX:
            if not isinstance(change.path[i], int):
                return False
        elif segments[i] != change.path[i]:
            return False
    if len(change.path) >= len(segments):
        return True
    rest = tuple(segments[len(change.path) :])
    return bool(_stripped(change, "old", rest) == _stripped(change, "new", rest))


def _stripped(change: ValueChange, side: str, rest: tuple[Segment, ...]) -> Any:
    present = change.kind.value != ("added" if side == "old" else "removed")
    if not present:
        return None
    holder = {"value": json.loads(json.dumps(getattr(change, side)))}
    _remove(holder, ("value", *rest))
    return holder.get("value")
