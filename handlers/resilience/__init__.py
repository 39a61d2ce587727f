"""The handler-side resilience library: bounded clients, retries with full-jitter backoff under
a time budget, a circuit breaker, cached parameters, and Powertools observability.

Import the submodule you need (``from .resilience.backoff import retry``): each one loads only
what it uses, which keeps cold starts short.
"""
