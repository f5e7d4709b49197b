"""The browser wallboard and the Prometheus endpoint, served by the daemon (``[web]``)."""
