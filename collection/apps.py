from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "collection"
    verbose_name = "Collection"

    def ready(self) -> None:
        from collection import checks  # noqa: F401  (registers the deployment check)
