"""The environment the reference handlers read, declared as the library declares its own
(``resilient_serverless.handlers.resilience.contract``): the stack tests check every function of
every reference stack against it.

Import-light (cold start): the library's contract module is the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from resilient_serverless.handlers.resilience import contract as library

ORDERS_TABLE: Final = library.Var("ORDERS_TABLE", doc="the orders table")

CONTRACTS: Final[dict[str, tuple[library.Var, ...]]] = {
    "app.handlers.orders": (ORDERS_TABLE,),
    "app.handlers.ingest": (ORDERS_TABLE, *library.CONTRACTS["handlers.resilience.priority"]),
}


def contract_for(handler_or_module: str) -> tuple[library.Var, ...] | None:
    """The variables of a reference module, or of the module of a ``module.function`` handler."""
    return CONTRACTS.get(handler_or_module) or CONTRACTS.get(handler_or_module.rpartition(".")[0])


def read_module(module: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The typed values of a reference module's variables, from ``os.environ`` unless ``env``."""
    import os  # noqa: PLC0415 (already imported by the interpreter: costs nothing)

    return library.read(CONTRACTS[module], os.environ if env is None else env, module=module)
