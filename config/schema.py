"""OpenAPI schema generation tweaks.

API views declare their serializers as nested ``InputSerializer`` /
``OutputSerializer`` classes; the schema names those after the view
(``UserListCreateInput``) so components stay unique.

Every operation documents the error statuses it can really answer, derived
once here from what the view does (its authentication, permission classes,
parameters, body and parsers) rather than repeated on every view; a status a
view declares itself with ``extend_schema(responses=...)`` is kept as it is.
Statuses only a view's own code can raise (409, 413, 429, 503, a service's
403) stay declared on that view.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer; use it in ``extend_schema(responses=...)``."""

    error = serializers.CharField(help_text="Stable machine-readable code, e.g. `consent_required`.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    # config.exceptions adds the field-by-field messages to validation errors:
    # an object keyed by field name (a list when the input itself was a list).
    fields = serializers.JSONField(
        required=False, help_text="On `invalid`: the messages per input field, as DRF reports them."
    )

    class Meta:
        ref_name = "Error"


def _restricts_by_role(permission: object, method: str) -> bool:
    """Whether ``permission`` can refuse an authenticated caller for lack of a role (403).

    Role classes (``accounts.permissions.HasRole``) carry the ``roles`` they
    require, for every method; a class restricting only some methods names
    them in ``role_restricted_methods``.  Duck-typed: this kernel imports no app.
    """
    restricted = getattr(permission, "role_restricted_methods", None)
    if restricted is not None:
        return method in restricted
    return bool(getattr(permission, "roles", ()))


_DERIVED_DESCRIPTIONS = {
    400: "Invalid input: the body or a parameter breaks a rule (`fields` names them).",
    401: "No credentials, or credentials that are wrong or revoked.",
    403: "The account does not hold the role this operation requires.",
    404: "No such record, or none the caller may see.",
    415: "The body's Content-Type is not one this operation parses.",
}


# Operations are grouped in the docs by who uses them, from the first path segment
# after /api/v1/; the order and descriptions are SPECTACULAR_SETTINGS["TAGS"].
_TAG_BY_SEGMENT = {
    "auth": "auth",
    "me": "auth",
    "users": "accounts",
    "consent": "consent",
    "collection": "collection",
    "access": "requests",
    "audit": "audit",
}


def tag_for_path(path: str) -> str:
    """The docs group of an API path ("/api/v1/collection/batches" -> "collection")."""
    segment = path.split("/api/v1/", 1)[-1].split("/", 1)[0]
    return _TAG_BY_SEGMENT.get(segment, "other")


class AutoSchema(BaseAutoSchema):
    def get_tags(self) -> list[str]:
        return [tag_for_path(self.path)]

    def derived_error_statuses(self) -> set[int]:
        """The error statuses DRF itself answers for this operation, whatever the view's code does."""
        statuses: set[int] = set()
        method = self.method.upper()
        if any(requirement for requirement in self.get_auth()):
            statuses.add(401)
        if any(_restricts_by_role(permission, method) for permission in self.view.get_permissions()):
            statuses.add(403)
        parameters = [p for p in self._get_parameters() if p.get("in") in ("query", "path")]
        has_body = method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        if has_body or any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        # DRF parses the body with the view's parsers and answers 415 for any
        # other Content-Type; a view without parsers reads the body itself.
        if has_body and self.view.get_parsers():
            statuses.add(415)
        if any(p["in"] == "path" for p in parameters):
            statuses.add(404)
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in sorted(self.derived_error_statuses()):
            # A view's own declaration wins: it may describe the error better.
            if str(code) not in responses:
                response = OpenApiResponse(ErrorSerializer, description=_DERIVED_DESCRIPTIONS[code])
                responses[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        return dict(sorted(responses.items()))

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
