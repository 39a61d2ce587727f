"""The AsyncJobWorkflow handlers: the job API (submit, status, result, cancel), the starter that
drains the start queue, the webhook dispatcher, and a sample worker (a report renderer).

Each module's ``lambda_handler`` is thin over plain functions that tests call directly; the
shared pieces (configuration, API events, forward-only status writes) live in ``common``.
"""
