"""One module per ``queuepulse`` command; each is a thin wrapper over a library function."""
