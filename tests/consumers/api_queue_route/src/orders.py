def lookup(event, context):
    return {"statusCode": 200, "body": "{}"}
