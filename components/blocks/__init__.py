"""Building blocks: the shapes several components create, each written once.

Each block is a function that creates plain children of the component that calls it (through
its ``_child``, so tags, ``parent=self``, names ``<name>-<suffix>`` and the user's ``transform``
apply as to any other child). None is a component of its own: a block adds no level to the
resource tree, so a program's graph is the same whether a component uses the block or not.

- ``queues``: a dead-letter queue, a queue that redrives to it, a queue policy letting one
  service send on behalf of one source;
- ``mappings``: an SQS event source mapping with partial batch responses;
- ``alarms``: the DLQ depth alarm and the API Gateway alarm table;
- ``api_logs``: an API's access log group and the access log format of each flavour.
"""

from __future__ import annotations

from .alarms import AlarmSpec, api_gateway_alarms, dlq_depth_alarm, statistic_args
from .api_logs import access_log_format, access_log_group
from .mappings import sqs_mapping
from .queues import dead_letter_queue, queue_with_dlq, service_may_send

__all__ = [
    "AlarmSpec",
    "access_log_format",
    "access_log_group",
    "api_gateway_alarms",
    "dead_letter_queue",
    "dlq_depth_alarm",
    "queue_with_dlq",
    "service_may_send",
    "sqs_mapping",
    "statistic_args",
]
