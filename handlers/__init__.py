"""Lambda handlers and the handler-side resilience library."""
