"""Celery tasks of the erasure app: thin wrappers that load by id and call a service.

The beat schedule (``config/settings/base.py``) runs the sweep and retention.
"""

from __future__ import annotations

from celery import shared_task

from erasure.receipts import deletion_receipt_issue
from erasure.services import erasure_request_carry_out, erasure_requests_process, retention_enforce


@shared_task(name="erasure.tasks.erase_subject_task", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def erase_subject_task(request_id: str) -> bool:
    """Carry out one erasure request as soon as it is recorded; idempotent."""
    return erasure_request_carry_out(request_id=request_id)


@shared_task(
    name="erasure.tasks.issue_deletion_receipt_task", autoretry_for=(Exception,), retry_backoff=True, max_retries=5
)
def issue_deletion_receipt_task(request_id: str) -> bool:
    """Sign the receipt of a request whose completion has committed; idempotent (one receipt per request)."""
    return deletion_receipt_issue(request_id=request_id) is not None


@shared_task(name="erasure.tasks.process_erasures_task")
def process_erasures_task() -> int:
    """Periodic sweep: anything pending (a lost message, a failed attempt) is done here."""
    return erasure_requests_process()


@shared_task(name="erasure.tasks.enforce_retention_task")
def enforce_retention_task() -> dict[str, int]:
    """Periodic: delete captured data past its category's retention."""
    return retention_enforce()
