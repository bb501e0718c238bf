#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    # A developer's tool: without DJANGO_SETTINGS_MODULE it uses the development
    # settings (DEBUG on).  Server processes (config.wsgi, config.celery) default
    # to production instead, so a forgotten variable never serves in debug mode.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
