"""The route's function, which answers who API Gateway said the caller is, and a TOKEN
authorizer: ``allow-<user>`` is allowed with the user in its context, ``deny`` is denied,
anything else is unauthorized."""

import json


def whoami(event, context):
    return {"statusCode": 200, "body": json.dumps({"authorizer": event["requestContext"].get("authorizer")})}


def authorize(event, context):
    token = event.get("authorizationToken", "")
    if token == "deny":
        return _policy("nobody", "Deny", event["methodArn"], {})
    if token.startswith("allow-"):
        user = token.removeprefix("allow-")
        return _policy(user, "Allow", event["methodArn"], {"user": user, "tier": 2})
    raise Exception("Unauthorized")


def _policy(principal, effect, arn, context):
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}
    return {
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }


def authorize_request(event, context):
    """An HTTP API REQUEST authorizer with simple answers (payload 2.0)."""
    token = (event.get("headers") or {}).get("authorization", "")
    if token.startswith("allow-"):
        return {"isAuthorized": True, "context": {"user": token.removeprefix("allow-")}}
    return {"isAuthorized": False}
