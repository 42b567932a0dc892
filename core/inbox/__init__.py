"""A message's life: the pure machine (``lifecycle``), its driver, the channels replies go
to (``delivery``), and the two ways a conversation is run (``runners``)."""
