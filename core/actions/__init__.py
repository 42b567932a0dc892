"""Durable actions: every tool call with side effects is a record, written before it runs.

``model``: the record and its key; ``machine``: its pure state machine; ``store``: the
Protocol (``sqlite`` and ``postgres`` implement it); ``runner``: the one place a side-effect
tool's handler runs; ``approvals``: the person's yes or no to a proposed action.
"""
