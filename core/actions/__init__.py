"""Durable actions: every tool call with side effects is a record, written before it runs.

``model``: the record and its key; ``machine``: its pure state machine; ``store``: the
Protocol (``sqlite`` and ``postgres`` implement it). The one place a side-effect tool's
handler runs (``core.tools.acts``) and the person's yes or no to a proposed action
(``core.tools.approvals``) live with the tools they run: this package knows no tool.
"""
