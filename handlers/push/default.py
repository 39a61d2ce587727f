"""``$default``: every frame no route matched gets a JSON error saying why, on the socket."""

from __future__ import annotations

from typing import Any

from .protocol import FrameError, error_answer, parse_frame

__all__ = ["default"]


def default(event: dict[str, Any]) -> dict[str, Any]:
    try:
        parse_frame(event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")))
    except FrameError as error:
        return error_answer(error)
    # A well-formed subscribe reaches the subscribe route; one here means the route is missing.
    return error_answer(FrameError("unrouted", "this action is not served on this socket"))
