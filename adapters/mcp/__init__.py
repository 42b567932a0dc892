"""The owner's MCP servers as Kith tools, through the official ``mcp`` SDK.

``config`` is a server's table in ``bot.toml``; ``tools`` turns an MCP tool into a Kith
:class:`core.tools.base.Tool` and a result into text (pure); ``server`` keeps one server
connected — restarted with backoff when it crashes or hangs — and calls its tools.

Tools only: MCP resources, prompts, sampling and elicitation are out of scope.
"""
