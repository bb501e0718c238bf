"""OpenAPI schema generation tweaks.

API views declare their serializers as nested ``InputSerializer`` /
``OutputSerializer`` classes; the schema names those after the view
(``UserListCreateInput``) so components stay unique.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer; use it in ``extend_schema(responses=...)``."""

    error = serializers.CharField(help_text="Stable machine-readable code, e.g. `consent_required`.")
    detail = serializers.CharField(help_text="What went wrong, for people.")

    class Meta:
        ref_name = "Error"


class AutoSchema(BaseAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname and not getattr(getattr(serializer, "Meta", None), "ref_name", None):
            outer = qualname.split(".")[0].removesuffix("Api")
            if not name.startswith(outer):
                name = outer + name
        return name


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, from `POST /api/v1/auth/token`.",
        }
