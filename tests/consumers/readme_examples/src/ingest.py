# handlers/ingest.py of the README, in the user's own package
from resilient_serverless.handlers.resilience.envelope import read_envelope
from resilient_serverless.handlers.resilience.priority import consumer_from_env


def reason_invalid(body):
    order = read_envelope(body).body  # a queue route forwards the request: the order is its body
    return None if isinstance(order, dict) and order.get("quantity", 0) > 0 else "quantity must be positive"


def process(body, message):
    order = read_envelope(body).body
    print("stored", order["order_id"])  # write it, idempotent on order_id


consumer = consumer_from_env(process, validate=reason_invalid)


def lambda_handler(event, context):
    return consumer.handle(event)  # {"batchItemFailures": [...]}
