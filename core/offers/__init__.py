"""Anticipation that costs nothing while nothing happens: offers made from the dated plans
the batched memory extraction already returns, and reminders before calendar events."""
