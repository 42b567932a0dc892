"""A person's calendar: events expanded in their zone, the agenda, and the reader role."""
