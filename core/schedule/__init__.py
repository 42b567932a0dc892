"""Scheduled turns: reminders and briefings as rows in the Store, fired exactly once."""
