"""Tools the model may call: one small module per tool, a registry, the text-call parser."""
