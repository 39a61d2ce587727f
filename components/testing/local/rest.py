"""REST API integrations: request validation by the method's model, Lambda proxy (payload 1.0),
AWS service integrations through their own request templates, integration responses selected by
the backend's status, gateway responses as configured."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .apis import Api, Request, Response, Route, _json_response, lambda_proxy_event, proxy_response
from .common import function_arn
from .vtl import Input, render

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["rest_integration"]


def _context(api: Api, request: Request, route: Route, error: str = "") -> dict[str, Any]:
    return {
        "requestId": request.request_id,
        "requestTimeEpoch": request.epoch_ms,
        "httpMethod": request.method,
        "resourcePath": route.path,
        "stage": api.stage,
        "accountId": api.account_id,
        "apiId": api.api.outputs["id"],
        "identity": request.identity(),
        "authorizer": _vtl_authorizer(request.authorizer or {}),
        "error": {"message": error, "messageString": json.dumps(error)},
    }


def _vtl_authorizer(authorizer: dict[str, Any]) -> dict[str, Any]:
    """``$context.authorizer``: a token's claims under ``claims``, or a Lambda authorizer's
    principal and context."""
    if "jwt" in authorizer:
        return {"claims": dict(authorizer["jwt"]["claims"])}
    return {k: v for k, v in authorizer.items() if k not in ("iam", "lambda")}


def gateway_response(
    run: LocalRun, api: Api, request: Request, *, route: Route | None, kind: str, status: int, message: str
) -> Response:
    """The gateway response the API configures for ``kind`` (else its DEFAULT_4XX/5XX, else AWS's)."""
    configured = {
        r.inputs.get("responseType"): r
        for r in run.graph.of_type("aws:apigateway/response:Response")
        if r.inputs.get("restApiId") == api.api.outputs["id"]
    }
    chosen = configured.get(kind) or configured.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
    if chosen is None:
        return _json_response(status, {"message": message})
    status = int(chosen.inputs.get("statusCode") or status)
    headers = {"content-type": "application/json"}
    for name, value in (chosen.inputs.get("responseParameters") or {}).items():
        if name.startswith("gatewayresponse.header."):
            headers[name.split(".", 2)[2].lower()] = str(value).strip("'")
    template = (chosen.inputs.get("responseTemplates") or {}).get("application/json")
    if not template:
        return Response(status, headers, json.dumps({"message": message}).encode())
    context = _context(api, request, route or Route("", "", None, "NONE"), message)
    return Response(status, headers, render(template, input_=Input("", {}, {}, {}), context=context).encode())


def _validate(run: LocalRun, api: Api, route: Route, request: Request) -> Response | None:
    method = route.method_resource.inputs if route.method_resource else {}
    validator_id = method.get("requestValidatorId")
    if not validator_id:
        return None
    validators = {
        v.outputs["id"]: v.inputs for v in run.graph.of_type("aws:apigateway/requestValidator:RequestValidator")
    }
    validator = validators.get(validator_id, {})
    if validator.get("validateRequestParameters"):
        missing = []
        for name, required in (method.get("requestParameters") or {}).items():
            where, _, key = name.removeprefix("method.request.").partition(".")
            source = {"querystring": request.query, "header": request.headers}.get(where)
            if required and source is not None and (key.lower() if where == "header" else key) not in source:
                missing.append(key)
        if missing:
            message = f"Missing required request parameters: [{', '.join(missing)}]"
            return gateway_response(
                run, api, request, route=route, kind="BAD_REQUEST_PARAMETERS", status=400, message=message
            )
    if validator.get("validateRequestBody"):
        models = method.get("requestModels") or {}
        model_name = models.get(request.headers.get("content-type", "application/json").split(";")[0]) or models.get(
            "application/json"
        )
        schema = next(
            (
                m.inputs["schema"]
                for m in run.graph.of_type("aws:apigateway/model:Model")
                if m.inputs.get("restApi") == api.api.outputs["id"] and m.inputs.get("name") == model_name
            ),
            None,
        )
        if schema is not None:
            import jsonschema

            try:
                jsonschema.Draft4Validator(json.loads(schema) if isinstance(schema, str) else schema).validate(
                    json.loads(request.text or "null")
                )
            except (ValueError, jsonschema.ValidationError):
                return gateway_response(
                    run, api, request, route=route, kind="BAD_REQUEST_BODY", status=400, message="Invalid request body"
                )
    return None


def rest_integration(run: LocalRun, api: Api, route: Route, params: dict[str, str], request: Request) -> Response:
    refused = _validate(run, api, route, request)
    if refused is not None:
        return refused
    assert route.integration is not None
    integration = route.integration.inputs
    if integration.get("type") == "AWS_PROXY":
        return _proxy_integration(run, api, route, params, request)
    if integration.get("type") == "AWS" and ":sqs:path/" in str(integration.get("uri")):
        return _sqs_integration(run, api, route, params, request)
    if integration.get("type") == "AWS" and ":lambda:path/" in str(integration.get("uri")):
        return _lambda_integration(run, api, route, params, request)
    return gateway_response(
        run,
        api,
        request,
        route=route,
        kind="DEFAULT_5XX",
        status=500,
        message=f"integration {integration.get('type')} is not run locally",
    )


def _proxy_integration(run: LocalRun, api: Api, route: Route, params: dict[str, str], request: Request) -> Response:
    integration = route.integration.inputs if route.integration else {}
    event = lambda_proxy_event(api, route, params, request, "1.0")
    invocation = run._invoke_sync(integration["uri"], event, f"api {request.method} {request.path}")
    if isinstance(invocation, Response):
        return gateway_response(
            run, api, request, route=route, kind="THROTTLED", status=429, message="Too Many Requests"
        )
    if invocation.failed:
        return gateway_response(
            run, api, request, route=route, kind="DEFAULT_5XX", status=502, message="Internal server error"
        )
    return proxy_response(invocation.result, "1.0")


def _sqs_integration(run: LocalRun, api: Api, route: Route, params: dict[str, str], request: Request) -> Response:
    integration = route.integration.inputs if route.integration else {}
    content_type = request.headers.get("content-type", "application/json").split(";")[0]
    templates = integration.get("requestTemplates") or {}
    template = templates.get(content_type) or templates.get("application/json")
    if template is None:
        return gateway_response(
            run, api, request, route=route, kind="UNSUPPORTED_MEDIA_TYPE", status=415, message="Unsupported Media Type"
        )
    headers = {k.title() if k.islower() else k: v for k, v in request.headers.items()}
    form = render(
        template, input_=Input(request.text, params, request.query, headers), context=_context(api, request, route)
    )
    queue_path = str(integration["uri"]).split(":sqs:path/", 1)[1]
    status, body = run._post_sqs_form(queue_path, form, integration.get("credentials"))
    return _integration_response(run, api, route, request, status=status, body=body)


def _lambda_integration(run: LocalRun, api: Api, route: Route, params: dict[str, str], request: Request) -> Response:
    """A non-proxy Lambda integration: the payload its request template renders, invoked as its
    ``X-Amz-Invocation-Type`` header says. An ``Event`` invoke is queued (Lambda answers 202 at
    once, and ``settle`` runs it with the function's retries); a synchronous one answers as the
    integration response its result (or its error message) selects."""
    integration = route.integration.inputs if route.integration else {}
    content_type = request.headers.get("content-type", "application/json").split(";")[0]
    templates = integration.get("requestTemplates") or {}
    template = templates.get(content_type) or templates.get("application/json")
    headers = {k.title() if k.islower() else k: v for k, v in request.headers.items()}
    payload = (
        render(
            template, input_=Input(request.text, params, request.query, headers), context=_context(api, request, route)
        )
        if template
        else request.text
    )

    event = json.loads(payload) if payload.strip() else {}
    kind = str((integration.get("requestParameters") or {}).get("integration.request.header.X-Amz-Invocation-Type", ""))
    if kind.strip("'") == "Event":
        run.invoke_async(function_arn(str(integration["uri"])), event)
        return _integration_response(run, api, route, request, status=202, body="", selector="")
    invocation = run._invoke_sync(str(integration["uri"]), event, f"api {request.method} {request.path}")
    if isinstance(invocation, Response):
        return gateway_response(
            run, api, request, route=route, kind="THROTTLED", status=429, message="Too Many Requests"
        )
    if invocation.failed:
        error = invocation.error if isinstance(invocation.error, dict) else {}
        message = str(error.get("errorMessage") or "Unhandled")
        return _integration_response(run, api, route, request, status=200, body=json.dumps(error), selector=message)
    return _integration_response(run, api, route, request, status=200, body=json.dumps(invocation.result), selector="")


def _integration_response(
    run: LocalRun, api: Api, route: Route, request: Request, *, status: int, body: str, selector: str | None = None
) -> Response:
    """``selector`` is what the patterns match: the backend's status for an AWS service, the
    function's error message for Lambda (empty when it did not fail)."""
    method = route.method_resource.inputs if route.method_resource else {}
    candidates = [
        r.inputs
        for r in run.graph.of_type("aws:apigateway/integrationResponse:IntegrationResponse")
        if r.inputs.get("restApi") == api.api.outputs["id"]
        and r.inputs.get("resourceId") == method.get("resourceId")
        and r.inputs.get("httpMethod") == method.get("httpMethod")
    ]
    # A non-proxy integration picks the response whose pattern matches the backend's status; the
    # one without a pattern is the default for every other status.
    chosen = next(
        (
            c
            for c in candidates
            if c.get("selectionPattern")
            and re.fullmatch(c["selectionPattern"], str(status) if selector is None else selector)
        ),
        None,
    )
    chosen = chosen or next((c for c in candidates if not c.get("selectionPattern")), None)
    if chosen is None:
        return gateway_response(
            run, api, request, route=route, kind="DEFAULT_5XX", status=500, message="Internal server error"
        )
    template = (chosen.get("responseTemplates") or {}).get("application/json")
    rendered = (
        render(template, input_=Input(body, {}, {}, {}), context=_context(api, request, route)) if template else body
    )
    return Response(int(chosen["statusCode"]), {"content-type": "application/json"}, rendered.encode())
