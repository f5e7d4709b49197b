"""KPIs over MQTT: the topics and payloads, Home Assistant discovery, the publisher, and
the retained topics read back."""
