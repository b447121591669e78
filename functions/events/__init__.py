"""Event handlers: the ingest queue, the domain-event stream, schedules."""
