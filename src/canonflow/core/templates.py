"""Workflow templates (pure): parse, find placeholders, check parameters, substitute.

A template is a workflow file under `<workflows_dir>/_templates/<slug>.json` with one more
top-level key, `canonflow`, that declares its parameters:

    "canonflow": {"description": "...",
                  "parameters": {"channel": {"description": "...", "default": "ops"}}}

Placeholders are `{{ name }}` (spaces optional) where `name` is an identifier
(`[A-Za-z_][A-Za-z0-9_]*`); they may appear in the workflow's `name` and in string values
inside node `parameters`, nowhere else. n8n's own expressions (`{{ $json.id }}`,
`{{ DateTime.now() }}`) are not identifiers and are left alone.

Substitution is text within JSON string values, in one pass: a value is never read as
JSON, code or an expression, and a value that itself contains `{{ x }}` is inserted as it
is (never substituted again). The result is serialized by the JSON encoder, so any value
yields valid JSON that reads back as the value. Values must be UTF-8 text without control
characters other than tab, line feed and carriage return (PostgreSQL's JSONB cannot hold
NUL, and n8n shows none of them).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from canonflow.core.git_layout import render_workflow_file
from canonflow.core.hashing import hash_normalized, normalize
from canonflow.core.workflow_shape import InvalidWorkflow, parse_json, validate_workflow

TEMPLATES_DIR = "_templates"
TEMPLATE_KEY = "canonflow"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: n8n refuses a workflow name outside 1-128 characters.
MAX_WORKFLOW_NAME = 128
MAX_TEMPLATE_NAME = 500
MAX_VALUE_LENGTH = 10_000
MAX_PARAMETERS = 100
_PARAMETER_KEYS = frozenset({"description", "default"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Path = tuple[str | int, ...]


class InvalidTemplate(ValueError):
    """The template file cannot be used; the message says why in one line."""


class BadParameters(ValueError):
    """The parameters given do not fit the template: each problem is one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str = ""
    default: str | None = None  # None: the caller must give it

    @property
    def required(self) -> bool:
        return self.default is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "default": self.default,
            "required": self.required,
        }


@dataclass(frozen=True)
class Template:
    slug: str
    name: str  # the workflow name, placeholders and all
    description: str
    parameters: tuple[Parameter, ...]
    definition: dict[str, Any]  # the workflow without the `canonflow` key


def templates_dir(workflows_dir: str) -> str:
    """Where a repository's templates live, relative to its root (POSIX)."""
    directory = workflows_dir.strip("/")
    return f"{directory}/{TEMPLATES_DIR}" if directory else TEMPLATES_DIR


def location(path: Path) -> str:
    """`("nodes", 2, "parameters", "text")` → `nodes[2].parameters.text`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --- reading a template ---------------------------------------------------------------


def parse_template(raw: bytes | str, *, slug: str) -> Template:
    """Parse and check a template file. Raises `InvalidTemplate` naming the first problem:
    bad JSON, not a workflow, a bad `canonflow` block, a placeholder that is not declared
    or that sits outside the workflow name and node parameters."""
    try:
        document = parse_json(raw)
    except InvalidWorkflow as exc:
        raise InvalidTemplate(str(exc)) from None
    if not isinstance(document, dict):
        raise InvalidTemplate("not an n8n workflow: expected a JSON object")
    block = document.get(TEMPLATE_KEY)
    if not isinstance(block, dict):
        raise InvalidTemplate(
            f"not a template: no '{TEMPLATE_KEY}' object declaring its parameters"
        )
    definition = {k: v for k, v in document.items() if k != TEMPLATE_KEY}
    try:
        validate_workflow(definition)
    except InvalidWorkflow as exc:
        raise InvalidTemplate(str(exc)) from None
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidTemplate("not an n8n workflow: no 'name'")
    if len(name) > MAX_TEMPLATE_NAME:
        raise InvalidTemplate(f"its name is longer than {MAX_TEMPLATE_NAME} characters")
    for text, path in _strings(document, ()):
        if "\x00" in text:  # PostgreSQL's JSONB cannot hold it
            raise InvalidTemplate(f"a NUL character at {location(path)}")
    parameters = _parameters(block.get("parameters", {}))
    declared = {p.name for p in parameters}
    for found, path in placeholders(definition):
        if not substitutable(path):
            raise InvalidTemplate(
                f"placeholder {{{{ {found} }}}} at {location(path)}: placeholders go only in "
                "the workflow name and node parameters"
            )
        if found not in declared:
            raise InvalidTemplate(
                f"placeholder {{{{ {found} }}}} at {location(path)} is not declared in "
                f"{TEMPLATE_KEY}.parameters"
            )
    description = block.get("description", definition.get("description"))
    if description is not None and not isinstance(description, str):
        raise InvalidTemplate(f"{TEMPLATE_KEY}.description must be a string")
    return Template(slug, name, description or "", parameters, definition)


def _parameters(declared: object) -> tuple[Parameter, ...]:
    if not isinstance(declared, dict):
        raise InvalidTemplate(f"{TEMPLATE_KEY}.parameters must be an object")
    if len(declared) > MAX_PARAMETERS:
        raise InvalidTemplate(f"more than {MAX_PARAMETERS} parameters")
    out = []
    for name, spec in declared.items():
        where = f"{TEMPLATE_KEY}.parameters.{name}"
        if not NAME.match(name):
            raise InvalidTemplate(
                f"parameter name {name!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)"
            )
        if not isinstance(spec, dict):
            raise InvalidTemplate(f"{where} must be an object with description and default")
        unknown = sorted(set(spec) - _PARAMETER_KEYS)
        if unknown:
            raise InvalidTemplate(f"{where}: unknown key {unknown[0]!r} (description, default)")
        description, default = spec.get("description", ""), spec.get("default")
        if not isinstance(description, str):
            raise InvalidTemplate(f"{where}.description must be a string")
        if default is not None:
            if not isinstance(default, str):
                raise InvalidTemplate(f"{where}.default must be a string (values are text)")
            problem = value_problem(default)
            if problem:
                raise InvalidTemplate(f"{where}.default {problem}")
        out.append(Parameter(name, description, default))
    return tuple(out)


def placeholders(definition: Mapping[str, Any]) -> Iterator[tuple[str, Path]]:
    """Every placeholder in the workflow, with where it is (object keys included)."""
    for text, path in _strings(definition, ()):
        for match in PLACEHOLDER.finditer(text):
            yield match.group(1), path


def substitutable(path: Path) -> bool:
    """The workflow name, or a string value (not a key) inside a node's parameters."""
    if path == ("name",):
        return True
    return len(path) >= 4 and path[0] == "nodes" and path[2] == "parameters" and path[-1] != "<key>"


def _strings(value: Any, path: Path) -> Iterator[tuple[str, Path]]:
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key), (*path, key, "<key>")
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


# --- instantiating --------------------------------------------------------------------


def value_problem(value: str) -> str | None:
    """Why a value cannot go into a workflow, or None."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"is longer than {MAX_VALUE_LENGTH} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate)"
    if _CONTROL.search(value):
        return "holds a control character (only tab, line feed and carriage return may appear)"
    return None


def resolve(template: Template, given: Mapping[str, str]) -> dict[str, str]:
    """Every declared parameter's value: given, else its default. Raises `BadParameters`
    listing every parameter that is not declared, missing without a default, or unusable."""
    declared = {p.name: p for p in template.parameters}
    problems = [
        f"parameter {name!r} is not declared by template {template.slug!r}"
        + (f" (it declares: {', '.join(sorted(declared))})" if declared else "")
        for name in sorted(set(given) - set(declared))
    ]
    values: dict[str, str] = {}
    for parameter in template.parameters:
        value = given.get(parameter.name, parameter.default)
        if value is None:
            problems.append(f"parameter {parameter.name!r} is missing and has no default")
            continue
        if not isinstance(value, str):
            problems.append(f"parameter {parameter.name!r} must be a string")
            continue
        problem = value_problem(value)
        if problem:
            problems.append(f"parameter {parameter.name!r} {problem}")
        values[parameter.name] = value
    if problems:
        raise BadParameters(problems)
    return values


def substitute_text(text: str, values: Mapping[str, str]) -> str:
    """Replace each `{{ name }}` of `values` in one pass; other text stays as it is."""

    def replace(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return PLACEHOLDER.sub(replace, text)


def substitute(definition: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the workflow with the placeholders of its name and node parameters
    replaced (the template's own definition is not changed)."""
    document = copy.deepcopy(dict(definition))
    if isinstance(document.get("name"), str):
        document["name"] = substitute_text(document["name"], values)
    for node in document.get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("parameters"), dict):
            node["parameters"] = _substitute_values(node["parameters"], values)
    return document


def _substitute_values(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitute_text(value, values)
    if isinstance(value, dict):
        return {key: _substitute_values(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_values(item, values) for item in value]
    return value


@dataclass(frozen=True)
class Instance:
    document: dict[str, Any]  # the new workflow file's content (no `canonflow` key)
    data: bytes  # the file as it is written to Git
    name: str
    content_hash: str
    values: dict[str, str]


def instantiate(template: Template, given: Mapping[str, str]) -> Instance:
    """The workflow file a template makes with these parameters. Raises `BadParameters`
    for parameters that do not fit, or a result that is not a valid workflow."""
    values = resolve(template, given)
    document = substitute(template.definition, values)
    data = render_workflow_file(document)
    try:
        written = validate_workflow(parse_json(data))  # what Git will hold reads back
        digest = hash_normalized(normalize(written).document)
    except InvalidWorkflow as exc:
        raise BadParameters([f"the result is not a valid workflow: {exc}"]) from None
    name = written.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadParameters(["the result is not a valid workflow: its name is empty"])
    if len(name) > MAX_WORKFLOW_NAME:
        raise BadParameters(
            [
                f"the result is not a valid workflow: its name is {len(name)} characters "
                f"long (n8n allows at most {MAX_WORKFLOW_NAME})"
            ]
        )
    return Instance(written, data, name, digest, values)
