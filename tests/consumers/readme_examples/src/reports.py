import json
import os

import boto3


def render(event, context):
    key = f"results/{event['job_id']}"
    boto3.client("s3").put_object(Bucket=os.environ["RESULTS_BUCKET"], Key=key, Body=json.dumps({"ok": True}))
    return {"bucket": os.environ["RESULTS_BUCKET"], "key": key}
