"""Secrets and parameters fetched once and cached with an expiry, never on every invocation.

Thin over Powertools parameters (loaded on first use, not at import): values are cached per
execution environment for ``max_age_s`` (default 300 s), so a rotated secret is picked up within
five minutes while a warm environment makes one call per five minutes instead of one per request.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_MAX_AGE_S", "get_parameter", "get_secret"]

DEFAULT_MAX_AGE_S = 300


def get_parameter(name: str, *, max_age_s: int = DEFAULT_MAX_AGE_S, decrypt: bool = True) -> Any:
    """An SSM parameter, cached for ``max_age_s``."""
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415

    return parameters.get_parameter(name, max_age=max_age_s, decrypt=decrypt)


def get_secret(name: str, *, max_age_s: int = DEFAULT_MAX_AGE_S, transform: str | None = None) -> Any:
    """A Secrets Manager secret (``transform='json'`` to parse it), cached for ``max_age_s``."""
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415

    return parameters.get_secret(name, max_age=max_age_s, transform=transform)  # type: ignore[arg-type]
