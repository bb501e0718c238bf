"""Many writers at once against PostgreSQL: consecutive numbers, no gap, no fork."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from audit.models import AuditEntry, AuditHead
from audit.selectors import log_size
from audit.services import audit_record, checkpoint_create
from audit.verification import audit_log_verify

WRITERS = 8
PER_WRITER = 40


def _writer(number: int, barrier: threading.Barrier, errors: list) -> None:
    try:
        barrier.wait()
        for i in range(PER_WRITER):
            try:
                with transaction.atomic():
                    audit_record(
                        actor=f"writer:{number}", action="bench.append", target=f"t:{number}:{i}", detail={"i": i}
                    )
                    if i % 10 == 9:
                        raise RuntimeError("roll back this one")
            except RuntimeError:
                pass
    except Exception as exc:  # pragma: no cover - reported below
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gap_free_sequence_numbers():
    barrier = threading.Barrier(WRITERS)
    errors: list = []
    threads = [threading.Thread(target=_writer, args=(n, barrier, errors)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    checkpoints = [checkpoint_create() for _ in range(3)]  # checkpoints while appending
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    committed = WRITERS * (PER_WRITER - PER_WRITER // 10)
    assert log_size() == committed
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(committed))
    assert AuditHead.objects.get().size == committed
    per_writer = {}
    for actor, target in AuditEntry.objects.order_by("seq").values_list("actor", "target"):
        per_writer.setdefault(actor, []).append(int(target.rsplit(":", 1)[1]))
    # Each writer's entries appear in the order it wrote them.
    assert all(v == sorted(v) for v in per_writer.values())
    assert sorted(len(v) for v in per_writer.values()) == [PER_WRITER - PER_WRITER // 10] * WRITERS
    checkpoint_create()
    report = audit_log_verify()
    assert report.ok, report.problems
    assert report.checkpoints_checked == len(checkpoints) + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_first_writers_of_an_empty_log_get_zero_to_three():
    assert AuditHead.objects.get().size == 0
    barrier = threading.Barrier(4)
    errors: list = []

    def first(n: int) -> None:
        try:
            barrier.wait()
            audit_record(actor="system", action="a.b", target=f"t:{n}")
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert log_size() == 4
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == [0, 1, 2, 3]
    assert connection.vendor == "postgresql"
