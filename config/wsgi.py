"""The WSGI application for gunicorn (``gunicorn config.wsgi``).

A server process started without ``DJANGO_SETTINGS_MODULE`` runs the
production settings, which refuse to start without their secrets and with
DEBUG on: a forgotten variable fails loudly instead of serving in debug mode.
Local development sets ``DJANGO_SETTINGS_MODULE=config.settings.dev``
(``make run`` does).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
