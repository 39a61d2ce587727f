"""Operating a deployed stack from the command line: its dead-letter queues (list, peek, redrive
at a bounded rate) and its failed Standard workflow executions (redrive).

The stack is read from ``pulumi stack export`` JSON (the user's file, or the Pulumi CLI when it is
installed); AWS is called with the environment's credentials. Clients are arguments, so tests
pass moto's, or a Stubber's where moto lacks the operation.
"""

from __future__ import annotations

from .stack import DeadLetterQueue, OperateError, StackInventory, StateMachine, load_inventory

__all__ = ["DeadLetterQueue", "OperateError", "StackInventory", "StateMachine", "load_inventory"]
