"""Accounts in the Django admin, read-only.

Accounts and roles change only through the accounts console and API, whose
services write the audit entry; the admin site must not be a way around them.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.admin_readonly import ReadOnlyModelAdmin
from accounts.models import User, UserRole


class UserRoleInline(admin.TabularInline):
    model = UserRole
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ReadOnlyModelAdmin, BaseUserAdmin):
    inlines = [UserRoleInline]
    list_display = ("username", "email", "department", "is_active")
    fieldsets = BaseUserAdmin.fieldsets + (("Organisation", {"fields": ("department",)}),)
