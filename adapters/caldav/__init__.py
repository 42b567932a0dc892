"""The owner's calendar over CalDAV (RFC 4791): the ``caldav`` client, read with a cache."""
