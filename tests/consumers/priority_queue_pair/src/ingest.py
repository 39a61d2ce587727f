from resilient_serverless.handlers.resilience.priority import consumer_from_env


def reason_invalid(order):
    return None if order.get("quantity", 0) > 0 else "quantity must be positive"


def process(order, message):
    print("stored", order["order_id"])


consumer = consumer_from_env(process, validate=reason_invalid)


def lambda_handler(event, context):
    return consumer.handle(event)
