"""The fleet: the composition root (``bots.runtime``), the command line, the gateway."""

from bots.startup import lean_imports

lean_imports()
