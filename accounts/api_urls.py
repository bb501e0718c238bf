from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token", api.AuthTokenCreateApi.as_view(), name="auth-token"),
    path("auth/tokens", api.ApiTokenListApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<uuid:token_id>", api.ApiTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("me", api.MeApi.as_view(), name="me"),
    path("users", api.UserListCreateApi.as_view(), name="users"),
    path("users/<str:username>", api.UserUpdateApi.as_view(), name="user"),
]
