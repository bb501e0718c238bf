from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token", api.AuthTokenCreateApi.as_view(), name="auth-token"),
    path("me", api.MeApi.as_view(), name="me"),
    path("users", api.UserListCreateApi.as_view(), name="users"),
    path("users/<str:username>", api.UserUpdateApi.as_view(), name="user"),
]
