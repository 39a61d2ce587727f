def send(event, context):
    return {"batchItemFailures": []}
