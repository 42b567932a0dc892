"""``python -m bench.models``: scripted conversations against a real model, state checked."""
