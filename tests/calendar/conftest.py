from tests.calendar.radicale import radicale

__all__ = ["radicale"]
