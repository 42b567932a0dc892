"""The tools a bot has, their schemas in the OpenAI format, and argument validation."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from core.events import Inbound
from core.provenance import Taint
from core.tools.base import Tool
from core.tools.policy import may_use

# validated by the pydantic model on every call; the model itself needs only the shape
_OMIT = frozenset({"title", "default", "maxLength", "minLength", "maxItems", "minItems",
                   "maximum", "minimum"})
_NULL = {"type": "null"}


def _compact(schema: Any, names: bool = False) -> Any:
    """The generated schema without what only validation needs (limits, titles, defaults);
    an optional field (``X | None``) is shown as ``X``: leaving it out is how it is omitted.

    ``names``: ``schema`` maps property names (which may be called "title") to schemas.
    """
    if isinstance(schema, dict):
        if not names and isinstance(schema.get("anyOf"), list) and _NULL in schema["anyOf"]:
            rest = [v for v in schema["anyOf"] if v != _NULL]
            if len(rest) == 1 and isinstance(rest[0], dict):
                schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **rest[0]}
        return {k: _compact(v, k == "properties" and not names) for k, v in schema.items()
                if names or k not in _OMIT}
    if isinstance(schema, list):
        return [_compact(v) for v in schema]
    return schema


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``$ref``s to ``$defs`` replaced by what they name: small models read a nested object
    better where it is used."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def tool_schema(tool: Tool) -> dict[str, Any]:
    """The OpenAI ``tools`` entry, from the tool's pydantic model."""
    generated = tool.args.model_json_schema()
    params = _compact(_inline(generated, generated.get("$defs", {})))
    return {"type": "function", "function": {
        "name": tool.name, "description": tool.description, "parameters": params}}


def schema_bytes(schemas: Sequence[dict[str, Any]]) -> int:
    """Size of the ``tools`` JSON as the client sends it."""
    return len(json.dumps(list(schemas), separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class Invalid:
    """Arguments that did not validate; ``error`` is what the model is told."""

    error: str


def validate(tool: Tool, arguments: str | Mapping[str, Any]) -> BaseModel | Invalid:
    try:
        if isinstance(arguments, str):
            return tool.args.model_validate_json(arguments or "{}")
        return tool.args.model_validate(dict(arguments))
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in err.errors(include_url=False, include_input=False)
        )
        return Invalid(problems[:500])


class Registry:
    """One bot's tools, by name, with their schemas computed once."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools = {tool.name: tool for tool in tools}
        self._schemas = {name: tool_schema(tool) for name, tool in self.tools.items()}
        self._subsets: dict[tuple[str, ...], Registry] = {}

    def __bool__(self) -> bool:
        return bool(self.tools)

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def for_turn(self, inbound: Inbound, taint: Taint) -> Registry:
        """The tools one model call of this turn may use, given its context's trust (see
        :mod:`core.tools.policy`)."""
        allowed = [t for t in self.tools.values() if may_use(t, inbound, taint)]
        if len(allowed) == len(self.tools):
            return self
        names = tuple(t.name for t in allowed)
        if names not in self._subsets:  # schemas are computed once per subset
            self._subsets[names] = Registry(allowed)
        return self._subsets[names]

    def schemas(self) -> list[dict[str, Any]]:
        return list(self._schemas.values())
