"""Reading the web for a person: SSRF-proof fetching, readable text, the owner's SearXNG.

``addresses`` decides what may be reached (pure), ``fetch`` connects only to vetted
addresses, ``extract`` turns HTML into readable text with trafilatura, ``search`` asks the
owner's SearXNG instance, and ``web`` puts them behind :class:`core.tools.web.Web`.
"""
