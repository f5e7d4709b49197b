"""queuepulse's wiring: the command line, the live daemon and its configuration file."""
