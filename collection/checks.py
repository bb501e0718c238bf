"""Deployment check: a production service needs its master key before it accepts data.

Without one every upload would fail closed with 503; ``check --deploy``
says so before the first employee's client does.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def master_key_configured(app_configs, **kwargs):
    from collection.crypto import MasterKeyUnavailable, master_key

    if settings.MASTER_KEY_AUTOCREATE:
        return []
    try:
        master_key()
    except MasterKeyUnavailable as exc:
        return [
            checks.Error(
                str(exc),
                hint='Generate one with: python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"',
                id="collection.E001",
            )
        ]
    return []
