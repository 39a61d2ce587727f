"""Step Functions task ``PushResult`` (``lambda:invoke.waitForTaskToken``): park the workflow's
task token on the job item; if a client already subscribed, release the workflow at once.

The workflow then waits until ``subscribe`` sends the task success, or its HeartbeatSeconds or
TimeoutSeconds pass and it falls back to polling. Errors raised here carry their class name to
the state machine's Catch (``$.push_error.Error``).
"""

from __future__ import annotations

from typing import Any

from ..resilience.observability import logger
from .deps import PushDeps, deps_from_env, release_workflow
from .store import is_conditional_failure

__all__ = ["PushNotRequested", "lambda_handler", "park"]


class PushNotRequested(Exception):
    """The job is unknown or was submitted without push: nobody can subscribe to it."""


def park(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    job_id, task_token = event.get("job_id"), event.get("task_token")
    if not isinstance(job_id, str) or not job_id or not isinstance(task_token, str) or not task_token:
        raise ValueError(f"park needs job_id and task_token, got keys {sorted(event)}")
    try:
        job = deps.jobs.park(job_id, task_token)
    except Exception as error:
        if is_conditional_failure(error):
            raise PushNotRequested(f"job {job_id!r} is unknown or did not ask for push") from None
        raise
    released = "push_subscribed_at" in job and release_workflow(deps, job, deps.clock())
    logger.info("task token parked", extra={"job_id": job_id, "released_at_once": released})
    return {"job_id": job_id, "parked": True, "released": released}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return park(event, deps_from_env())
