"""The reference application's Lambda handlers: ``orders`` (GET /orders/{order_id}) and
``ingest`` (the order inbox consumers)."""
