"""Erasure requests as they are made: by a withdrawal with erasure, in one transaction with it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from audit.models import AuditEntry
from consent.models import ConsentEvent, ConsentReceipt, ConsentState
from consent.services import consent_grant, consent_withdraw, subject_for_employee
from erasure.models import ErasureRequest
from erasure.services import consent_withdraw_with_erasure

pytestmark = pytest.mark.django_db


def test_withdrawing_the_last_category_with_erasure_erases_every_category(alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    consent_withdraw(employee=alice, categories=["keystrokes"])
    event, request = consent_withdraw_with_erasure(employee=alice, categories=["mouse"])
    assert event.categories == ["mouse"] and event.erasure_requested
    # Nothing is held any more: the request covers the categories withdrawn earlier too.
    assert request.categories == [] and request.event_id == event.id and request.reason == "withdrawal"


def test_a_withdrawal_with_erasure_is_not_recorded_when_its_request_cannot_be(
    alice, notice, allowlist, settings, django_capture_on_commit_callbacks
):
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    # A deadline before the request: the database refuses the request (erasure_due_after_request).
    settings.ERASURE_DUE_DAYS = -1
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(IntegrityError):
        consent_withdraw_with_erasure(employee=alice)
    assert callbacks == [], "no erasure task is started"
    state = ConsentState.objects.get(subject=subject_for_employee(alice))
    assert sorted(state.granted) == ["keystrokes", "mouse"] and state.epoch == 1
    assert list(ConsentEvent.objects.values_list("kind", flat=True)) == ["granted"]
    assert ConsentReceipt.objects.count() == 1
    assert not ErasureRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__in=["consent.withdrawn", "erasure.requested"]).exists()
