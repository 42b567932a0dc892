"""People, their identities and preferences, and pairing: one feature, one package.

``model``: a pairing and its code; ``store``: the role (``PeopleStore``); ``sqlite`` and
``postgres`` implement it; ``schema``: the tables on both backends, as per-feature
migrations. The Store composes it with the other features (``core.store``).
"""
