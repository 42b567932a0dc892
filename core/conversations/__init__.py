"""Conversations and their turns: one feature, one package.

``model``: a turn, a conversation's state, what a finished turn writes; ``store``: the role
(``ConversationStore``); ``sqlite`` and ``postgres`` implement it; ``schema``: the tables on
both backends, as per-feature migrations. The Store composes it with the other features
(``core.store``); a finished turn is written with its message's status by the inbox's
commit (``core.inbox.store.TurnCommit``).
"""
