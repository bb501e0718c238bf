"""How capture clients authenticate: ``Device <secret>`` for tokens, ``Bearer <token>`` for uploads.

Neither yields a user account: a capture client acts for a pseudonymous
subject, so ``request.user`` is a small principal object.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from accounts.models import Role
from collection.models import Device
from collection.services import device_authenticate
from collection.tokens import CaptureClaims, TokenInvalid, token_verify


class _Principal:
    is_authenticated = True
    is_anonymous = False
    is_active = True
    username = ""

    def has_role(self, *roles: str) -> bool:
        return False


class DevicePrincipal(_Principal):
    def __init__(self, device: Device):
        self.device = device


class CapturePrincipal(_Principal):
    def __init__(self, claims: CaptureClaims, subject_id: int):
        self.claims = claims
        self.subject_id = subject_id


def _credential(request, keyword: str) -> str | None:
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() != keyword.lower().encode():
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed(f"Use 'Authorization: {keyword} <value>' with exactly one value.")
    try:
        return header[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("The credential contains invalid characters.") from None


class DeviceSecretAuthentication(authentication.BaseAuthentication):
    keyword = "Device"

    def authenticate(self, request):
        secret = _credential(request, self.keyword)
        if secret is None:
            return None
        device = device_authenticate(secret)
        if device is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked device.")
        return DevicePrincipal(device), device

    def authenticate_header(self, request) -> str:
        return self.keyword


class CaptureTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        token = _credential(request, self.keyword)
        if token is None:
            return None
        try:
            claims = token_verify(token)
        except TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        # A revoked device loses its live tokens at once.  Removing the
        # employee role or disabling the account revokes the devices too; the
        # account is checked here as well, so a token never outlives either.
        subject_id = (
            Device.objects.filter(
                pk=claims.device_id,
                revoked_at__isnull=True,
                employee__is_active=True,
                employee__roles__role=Role.EMPLOYEE,
                employee__subject__pseudonym=claims.subject,
            )
            .values_list("employee__subject__pk", flat=True)
            .first()
        )
        if subject_id is None:
            raise exceptions.AuthenticationFailed("The device of this token is revoked or unknown.")
        return CapturePrincipal(claims, subject_id), claims

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="collection"'


class IsDevice(BasePermission):
    message = "Authenticate with 'Authorization: Device <device_secret>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, DevicePrincipal)


class IsCaptureClient(BasePermission):
    message = "Authenticate with 'Authorization: Bearer <collection token>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, CapturePrincipal)


class DeviceSecretScheme(OpenApiAuthenticationExtension):
    target_class = "collection.authentication.DeviceSecretAuthentication"
    name = "deviceSecret"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <device_secret>`, from `POST /api/v1/collection/devices`.",
        }


class CaptureTokenScheme(OpenApiAuthenticationExtension):
    target_class = "collection.authentication.CaptureTokenAuthentication"
    name = "captureToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT (EdDSA, typ capture+jwt)",
            "description": "A collection token from `POST /api/v1/collection/tokens`.",
        }
