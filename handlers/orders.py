def lambda_handler(event, context):  # placeholder replaced below
    raise NotImplementedError
