from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Data access: requests, grants and dataset exports"
