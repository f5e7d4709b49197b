"""queuepulse's KPIs: definitions, windows, the MQTT publisher and reports."""
