"""Memory benchmark: ``python -m bench.memory`` (see README.md here)."""
