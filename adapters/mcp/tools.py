"""An MCP tool as a Kith tool, and an MCP result as text for the model (pure).

The tool's input schema goes to the model as the server wrote it (less what only
validation needs, like every Kith schema) and is checked with JSON Schema before the call.
Policy comes from the annotations: ``readOnlyHint`` true → read-only; anything else — no
annotations, ``readOnlyHint`` false — is a side effect and goes through the same policy
path as Kith's own side effects. Results are the server's words (:data:`Origin.MCP`),
unless the owner marked the server ``trusted`` and asks himself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import jsonschema
import mcp_types as types
from pydantic import RootModel, model_validator

from adapters.mcp.config import McpServer
from core.events import Trust
from core.provenance import Origin
from core.tools.base import Handler, Policy, Tool, ToolContext, ToolError, ToolResult, Who

NAME_MAX = 64  # OpenAI-compatible servers' limit on a function name
RESULT_CHARS = 6000
DESCRIPTION_CHARS = 300
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

Call = Callable[[str, dict[str, Any]], Awaitable[types.CallToolResult]]


def kith_name(server: str, tool: str) -> str:
    """``<server>__<tool>``, in the characters and length function names allow."""
    return f"{server}__{_UNSAFE.sub('_', tool)}"[:NAME_MAX]


class McpArgs(RootModel[dict[str, Any]]):
    """Arguments of one MCP tool: any JSON object its schema accepts."""

    schema_: ClassVar[dict[str, Any]] = {}
    validator_: ClassVar[Any] = None

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return cls.schema_

    @model_validator(mode="after")
    def _check(self) -> McpArgs:
        error = jsonschema.exceptions.best_match(type(self).validator_.iter_errors(self.root))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            raise ValueError(f"{where + ': ' if where else ''}{error.message}"[:300])
        return self


def args_model(name: str, schema: dict[str, Any]) -> type[McpArgs] | None:
    """A model that validates with ``schema``; None when the schema itself is invalid."""
    if schema.get("type", "object") != "object":
        return None
    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError:
        return None
    shown = {k: v for k, v in schema.items() if k not in ("$schema", "title")}
    shown.setdefault("type", "object")
    shown.setdefault("properties", {})
    model = type(f"Args_{name}", (McpArgs,), {"schema_": shown, "validator_": cls(schema)})
    return model


def policy(tool: types.Tool, server: McpServer) -> Policy:
    read_only = tool.annotations is not None and tool.annotations.read_only_hint is True
    who = Who.OWNER if server.who == "owner" else Who.ALLOWED
    return Policy(who, side_effects=not read_only)


def origin(config: McpServer, ctx: ToolContext) -> Origin:
    """Whose words a result is: the server's (untrusted), unless the owner marked the server
    ``trusted`` and it is the owner asking — then he vouches for it as for Kith's own
    records, and the result does not withhold actions from the rest of his turn."""
    if config.trusted and ctx.inbound.trust is Trust.OWNER:
        return Origin.KITH
    return Origin.MCP


def result_text(server: str, result: types.CallToolResult) -> str:
    """The result for the model; raises ToolError with the server's message on is_error."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource) and isinstance(
                block.resource, types.TextResourceContents):
            parts.append(block.resource.text)
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource {block.name}: {block.uri}]")
        else:
            parts.append(f"[{block.type} content not shown]")
    text = "\n".join(parts).strip()
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    if len(text) > RESULT_CHARS:
        text = text[:RESULT_CHARS] + " […]"
    if result.is_error:
        raise ToolError(f"the {server} server says: {text[:500] or 'the call failed'}")
    return text or "(empty result)"


def as_tool(server: str, config: McpServer, tool: types.Tool, call: Call) -> Tool | None:
    """The Kith tool for one MCP tool; None when its input schema is unusable."""
    name = kith_name(server, tool.name)
    args = args_model(name, dict(tool.input_schema or {}))
    if args is None:
        return None
    remote = tool.name

    async def handler(ctx: ToolContext, arguments: McpArgs) -> ToolResult:
        result = await call(remote, arguments.root)
        return ToolResult(result_text(server, result), origin=origin(config, ctx))

    description = " ".join((tool.description or tool.title or tool.name).split())
    if len(description) > DESCRIPTION_CHARS:
        description = description[: DESCRIPTION_CHARS - 1] + "…"
    run: Handler = handler
    return Tool(name, description, args, run, policy(tool, config))
