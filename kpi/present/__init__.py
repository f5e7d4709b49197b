"""KPIs for people: reports, their tables, CSV and JSON, charts, and the wallboard."""
