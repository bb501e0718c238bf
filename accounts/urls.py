from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.logout_view, name="logout"),
    path("accounts/users", views.admin_users, name="admin_users"),
    path("accounts/users/new", views.admin_user_create, name="admin_user_create"),
    path(
        "accounts/users/<str:username>/password-link", views.admin_user_password_link, name="admin_user_password_link"
    ),
    path("accounts/users/<str:username>/disable", views.admin_user_disable, name="admin_user_disable"),
    path("accounts/users/<str:username>/enable", views.admin_user_enable, name="admin_user_enable"),
    path("accounts/users/<str:username>/remove-roles", views.admin_user_remove_roles, name="admin_user_remove_roles"),
    path("accounts/set-password/<str:uidb64>/<str:token>", views.set_password, name="set_password"),
]
