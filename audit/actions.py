"""Every action the audit log records, by one name each.

Services pass these to ``audit_record``; the console and the employee's
"who accessed data about you" show the labels.  The values are part of the
log's contract with auditors' tools: never rename one, add a new one.
"""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    # Accounts and roles
    ACCOUNT_CREATE = "account.create", "Account created"
    ACCOUNT_ROLES = "account.roles", "Roles changed"
    ACCOUNT_ENABLE = "account.enable", "Account enabled"
    ACCOUNT_DISABLE = "account.disable", "Account disabled"
    API_TOKEN_REVOKE = "account.api_token_revoke", "API token revoked"
    ACCOUNT_PASSWORD_LINK = "account.password_link", "Set-password link issued"
    ACCOUNT_PASSWORD_SET = "account.password_set", "Password set with a one-time link"
    # Consent, one per kind of consent event
    CONSENT_GRANTED = "consent.granted", "Consent given"
    CONSENT_WITHDRAWN = "consent.withdrawn", "Consent withdrawn"
    CONSENT_EXPIRED = "consent.expired", "Consent expired"
    CONSENT_SUPERSEDED = "consent.superseded", "Consent ended by a new notice"
    CONSENT_EXCLUSIONS_CHANGED = "consent.exclusions_changed", "Excluded applications changed"
    # Governance of capture
    NOTICE_CREATED = "notice.created", "Notice drafted"
    NOTICE_UPDATED = "notice.updated", "Notice draft changed"
    NOTICE_PUBLISHED = "notice.published", "Notice published"
    ALLOWLIST_ADDED = "allowlist.added", "Application allowed"
    ALLOWLIST_UPDATED = "allowlist.updated", "Allowed application changed"
    ALLOWLIST_REMOVED = "allowlist.removed", "Application removed from the allowlist"
    RETENTION_CHANGED = "retention.changed", "Retention rules changed"
    CONSENT_RATES_RELEASED = "consent.rates_released", "Consent rates released (noised aggregates)"
    KEY_ROTATE = "key.rotate", "Signing key rotated"
    # Capture devices
    DEVICE_ENROLL = "device.enroll", "Capture device enrolled"
    DEVICE_REVOKE = "device.revoke", "Capture device revoked"
    # Reads of captured data
    DATA_SUMMARY_VIEW = "collection.summary_view", "Own data summary viewed"
    DATA_EXPORT = "collection.data_export", "Own data downloaded"
    # Erasure
    ERASURE_REQUESTED = "erasure.requested", "Erasure requested"
    ERASURE_KEY_DESTROYED = "collection.erase.key_destroyed", "Data key destroyed"
    ERASURE_CIPHERTEXT_DELETED = "collection.erase.ciphertext_deleted", "Encrypted data deleted"
    ERASURE_COMPLETED = "erasure.completed", "Erasure completed"
    RETENTION_PURGED = "collection.retention.purged", "Data past retention deleted"
    # Data access
    DATA_REQUEST_SUBMITTED = "data_request.submitted", "Dataset requested"
    DATA_REQUEST_REVIEWED = "data_request.reviewed", "Dataset request approved by one officer, waiting for a second"
    DATA_REQUEST_APPROVED = "data_request.approved", "Dataset request approved"
    DATA_REQUEST_REJECTED = "data_request.rejected", "Dataset request rejected"
    DATA_REQUEST_EXPIRED = "data_request.expired", "Dataset request expired undecided"
    GRANT_CREATED = "grant.created", "Dataset grant created"
    GRANT_REVOKED = "grant.revoked", "Dataset grant revoked"
    GRANT_EXPIRED = "grant.expired", "Dataset grant expired"
    DATASET_EXPORTED = "dataset.exported", "Dataset exported"
    WITHDRAWALS_ACKNOWLEDGED = "grant.withdrawals_acknowledged", "Withdrawals acknowledged by the dataset holder"

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a recorded action; an unknown one (from an older release) is shown as recorded."""
        try:
            return cls(value).label
        except ValueError:
            return value
