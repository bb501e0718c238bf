"""Celery tasks of the erasure app: thin wrappers that load by id and call a service.

The beat schedule (``config/settings/base.py``) runs the sweep and retention.
"""

from __future__ import annotations

from celery import shared_task

from erasure.receipts import deletion_receipt_issue
from erasure.services import erasure_request_carry_out, erasure_requests_process, retention_enforce

# Delivery: acknowledged after the task ran (CELERY_TASK_ACKS_LATE), and put back
# on the queue when the process running it dies (reject_on_worker_lost), so a
# crash mid-erasure leads to another run, never to a lost request.  Running
# twice is safe: the database says what is pending (see erasure.services).
# A failure (the database gone for a moment) is retried with backoff; after
# the last retry the periodic sweep still finds the request pending.
_RELIABLE: dict = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(name="erasure.tasks.erase_subject_task", **_RELIABLE)
def erase_subject_task(request_id: str) -> bool:
    """Carry out one erasure request as soon as it is recorded; idempotent."""
    return erasure_request_carry_out(request_id=request_id)


@shared_task(name="erasure.tasks.issue_deletion_receipt_task", **_RELIABLE)
def issue_deletion_receipt_task(request_id: str) -> bool:
    """Sign the receipt of a request whose completion has committed; idempotent (one receipt per request)."""
    return deletion_receipt_issue(request_id=request_id) is not None


@shared_task(name="erasure.tasks.process_erasures_task", acks_late=True, reject_on_worker_lost=True)
def process_erasures_task() -> int:
    """Periodic sweep: anything pending (a lost message, a failed attempt) is done here."""
    return erasure_requests_process()


@shared_task(name="erasure.tasks.enforce_retention_task")
def enforce_retention_task() -> dict[str, int]:
    """Periodic: delete captured data past its category's retention."""
    return retention_enforce()


@shared_task(name="erasure.tasks.flag_overdue_erasures_task")
def flag_overdue_erasures_task() -> dict[str, int]:
    """Periodic watchdog: flag requests due within the hour or overdue, once per state."""
    from erasure.services import erasure_overdue_flag  # kept beside the task: the import block above is shared

    return erasure_overdue_flag()
