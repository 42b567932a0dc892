"""Long-term personal memory: model, extraction, recall, storage, and the controls."""
