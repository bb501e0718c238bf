"""Sensitive actions get a checkpoint seconds after they commit, not at the next periodic one."""

from __future__ import annotations

import pytest
from django.db import transaction

from access.models import Export
from audit.models import AuditCheckpoint, AuditEntry
from audit.services import audit_record, checkpoint_after_commit
from erasure.models import ErasureRequest
from erasure.services import erasure_request_carry_out, erasure_request_create
from tests.access.conftest import (  # noqa: F401  (fixtures, registered by being named here)
    _master_key,
    approve,
    capture,
    captured,
    employees,
    enroll,
    frozen,
    granted,
    submit,
)
from tests.collection.conftest import consenting, subject  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_a_dataset_export_leads_to_a_checkpoint_covering_its_audit_entry(
    granted,  # noqa: F811  (the fixture imported above)
    api_as,
    rita,
    django_capture_on_commit_callbacks,
):
    assert not AuditCheckpoint.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(rita).get(f"/api/v1/access/grants/{granted['id']}/export")
        assert response.status_code == 200
        b"".join(response.streaming_content)
    export = Export.objects.get()
    assert AuditEntry.objects.get(seq=export.audit_seq).action == "dataset.exported"
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.size > export.audit_seq


def test_a_completed_erasure_leads_to_a_checkpoint_covering_its_audit_entry(
    consenting,  # noqa: F811  (the fixtures imported above)
    subject,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    request = erasure_request_create(employee=consenting)
    assert not AuditCheckpoint.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure_request_carry_out(request_id=request.pk) is True
    assert ErasureRequest.objects.get(pk=request.pk).status == ErasureRequest.Status.DONE
    done = AuditEntry.objects.get(action="erasure.completed")
    assert AuditCheckpoint.objects.get().size > done.seq


def test_nothing_is_scheduled_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        audit_record(actor="system", action="a.b", target="t:1")
        checkpoint_after_commit()
        raise RuntimeError("the change fails")
    assert callbacks == [] and not AuditCheckpoint.objects.exists()


def test_a_burst_of_requests_makes_one_checkpoint(settings, monkeypatch, django_capture_on_commit_callbacks):
    from audit import tasks

    scheduled: list[dict] = []
    monkeypatch.setattr(tasks.make_checkpoint_task, "apply_async", lambda **kwargs: scheduled.append(kwargs))
    settings.AUDIT_CHECKPOINT_ON_DEMAND_DELAY_SECONDS = 7
    for i in range(5):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            audit_record(actor="system", action="a.b", target=f"t:{i}")
            checkpoint_after_commit()
    assert scheduled == [{"countdown": 7}]
    # Once the scheduled one starts, the next sensitive action asks for another.
    checkpoint = tasks.make_checkpoint_task()
    assert AuditCheckpoint.objects.get(pk=checkpoint).size == 5
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        audit_record(actor="system", action="a.b", target="t:5")
        checkpoint_after_commit()
    assert scheduled == [{"countdown": 7}, {"countdown": 7}]


def test_a_broker_outage_does_not_fail_the_committed_action(monkeypatch, django_capture_on_commit_callbacks):
    from audit import tasks

    def down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.make_checkpoint_task, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        audit_record(actor="system", action="a.b", target="t:1")
        checkpoint_after_commit()
    assert AuditEntry.objects.get().action == "a.b"
    monkeypatch.undo()
    # The flag was cleared, so the next action asks again (and, eager here, gets its checkpoint).
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        audit_record(actor="system", action="a.b", target="t:2")
        checkpoint_after_commit()
    assert AuditCheckpoint.objects.get().size == 2
