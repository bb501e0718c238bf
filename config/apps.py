"""The site itself as an app, so start-up work has a home outside the settings.

Settings only describe; loading them creates nothing.  The embedded defaults
(a SQLite file, a filesystem Celery broker, static files under ``var/``) need
a few local folders, which ``ready()`` makes once Django is set up: in the web
server, in every management command, and in the Celery worker and beat (whose
Django fixup sets Django up before they touch the broker).
"""

from __future__ import annotations

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


def local_dirs() -> list[Path]:
    """Folders the configured embedded backends write into and do not create themselves."""
    dirs = [Path(settings.STATIC_ROOT)]  # whitenoise warns on every start while it is missing
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]) not in ("", ":memory:"):
        dirs.append(Path(database["NAME"]).parent)  # sqlite3 creates the file, not its folder
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # kombu's filesystem transport creates none of its folders except the control one, and that without parents.
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        dirs.extend(Path(options[key]) for key in ("data_folder_in", "data_folder_out", "processed_folder"))
        dirs.append(Path(options["control_folder"]))
    return dirs


class SiteConfig(AppConfig):
    name = "config"
    label = "site"
    verbose_name = "Site configuration"

    def ready(self) -> None:
        for folder in local_dirs():
            folder.mkdir(parents=True, exist_ok=True)
