"""Accounts API: token sign-in, the current user, and account administration."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import IsAdmin
from accounts.selectors import api_tokens_for_owner, user_for_admin, users_for_admin
from accounts.services import api_token_create, api_token_revoke, login_attempt, user_create, user_update
from audit.timestamps import rfc3339
from config.schema import ErrorSerializer

__all__ = ["ErrorSerializer"]  # other apps import it from here too


class AuthTokenCreateApi(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <token>``)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField(help_text="The token stops working then; sign in again for a new one.")

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 429: ErrorSerializer},
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = login_attempt(request=request, **data.validated_data)
        issued = api_token_create(user=user)
        return Response(
            {"token": issued.value, "expires_at": rfc3339(issued.token.expires_at)}, status=status.HTTP_201_CREATED
        )


class ApiTokenOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="Names the token; it does not authenticate.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute.")


class ApiTokenListApi(APIView):
    """Your own API tokens (never their values): when each was issued, expires and was last used."""

    @extend_schema(responses={200: ApiTokenOutputSerializer(many=True), 401: ErrorSerializer})
    def get(self, request):
        return Response(ApiTokenOutputSerializer(api_tokens_for_owner(actor=request.user), many=True).data)


class ApiTokenRevokeApi(APIView):
    """Revoke one of your own API tokens; it stops working at once."""

    @extend_schema(responses={204: None, 401: ErrorSerializer, 404: ErrorSerializer})
    def delete(self, request, token_id):
        api_token_revoke(actor=request.user, public_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    department = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    is_active = serializers.BooleanField()

    def to_representation(self, instance):
        return {
            "username": instance.username,
            "email": instance.email,
            "department": instance.department,
            "roles": sorted(instance.role_set),
            "is_active": instance.is_active,
        }


class MeApi(APIView):
    """The signed-in account and the roles it holds."""

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)


class UserListCreateApi(APIView):
    """Administrators list and create accounts."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
        email = serializers.EmailField(required=False, default="")
        department = serializers.CharField(required=False, default="", max_length=100, allow_blank=True)
        roles = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False)
        password = serializers.CharField(required=False, max_length=256, trim_whitespace=False)

    @extend_schema(responses={200: UserOutputSerializer(many=True)})
    def get(self, request):
        return Response(UserOutputSerializer(users_for_admin(actor=request.user), many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: UserOutputSerializer, 400: ErrorSerializer, 409: ErrorSerializer}
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(actor=request.user, **data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserUpdateApi(APIView):
    """Administrators change an account's roles or disable it."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        roles = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(
        request=InputSerializer, responses={200: UserOutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer}
    )
    def patch(self, request, username: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_for_admin(actor=request.user, username=username)
        user = user_update(actor=request.user, user=user, **data.validated_data)
        return Response(UserOutputSerializer(user).data)
