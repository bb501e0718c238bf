"""The audit log in the Django admin: visible to auditors, never editable, by anybody."""

from django.contrib import admin

from accounts.admin_readonly import ReadOnlyModelAdmin
from accounts.models import Role
from audit.models import AuditCheckpoint, AuditEntry


class _ReadOnlyAdmin(ReadOnlyModelAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        # The same rule as the auditor console: reading the log takes the auditor
        # role; being staff (an administrator) is not enough.
        return bool(request.user.is_active and request.user.is_staff and request.user.has_role(Role.AUDITOR))

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)


@admin.register(AuditEntry)
class AuditEntryAdmin(_ReadOnlyAdmin):
    list_display = ("seq", "ts", "actor", "action", "target")
    list_filter = ("action",)
    search_fields = ("actor", "action", "target")
    date_hierarchy = "ts"
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(_ReadOnlyAdmin):
    list_display = ("id", "size", "root_hash", "timestamp", "kid")
