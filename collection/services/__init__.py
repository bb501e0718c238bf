"""Collection use cases, one module per sub-domain.

``devices``    enrol, revoke and authenticate capture devices; issue their collection tokens
``ingestion``  validate, police and store an uploaded batch
``my_data``    an employee's own data: summary and decrypted export
``storage``    a subject's data key, and crypto-shredding

Import from here; the modules are an implementation detail.
"""

from __future__ import annotations

from collection.services.devices import (
    IssuedToken,
    device_authenticate,
    device_enroll,
    device_revoke,
    devices_revoke_all,
    token_issue,
)
from collection.services.ingestion import IngestResult, batch_ingest
from collection.services.my_data import my_data_export, my_data_summary, subject_events
from collection.services.storage import (
    erasure_cutoff_for,
    erasure_cutoff_record,
    subject_ciphertext_delete,
    subject_data_erase,
    subject_key_destroy,
)

__all__ = [
    "IngestResult",
    "IssuedToken",
    "batch_ingest",
    "device_authenticate",
    "device_enroll",
    "device_revoke",
    "erasure_cutoff_for",
    "erasure_cutoff_record",
    "devices_revoke_all",
    "my_data_export",
    "my_data_summary",
    "subject_ciphertext_delete",
    "subject_data_erase",
    "subject_events",
    "subject_key_destroy",
    "token_issue",
]
