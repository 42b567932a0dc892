"""Per-person lists (shopping, packing …): one feature, one package.

``model``: the item and the pure rules (what is new, what a tick-off names); ``store``: the
roles (``ListReader`` to show, ``ListStore`` to change); ``sqlite`` and ``postgres``
implement them; ``schema``: the tables on both backends, as per-feature migrations.
The Store composes it with the other features (``core.store``).
"""
