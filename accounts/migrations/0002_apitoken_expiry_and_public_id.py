"""API tokens expire and have a public id.

Existing tokens get ``created_at + 30 days`` (the default lifetime) and a
fresh random public id.  The columns are added nullable and filled here, and
made required and unique in 0003: on PostgreSQL a table cannot be altered in
the transaction that updated its rows while deferred constraint checks wait.
"""

import uuid
from datetime import timedelta

from django.db import migrations, models

EXISTING_TOKEN_LIFETIME = timedelta(days=30)


def fill(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in ApiToken.objects.all().only("pk", "created_at"):
        ApiToken.objects.filter(pk=token.pk).update(
            public_id=uuid.uuid4(), expires_at=token.created_at + EXISTING_TOKEN_LIFETIME
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apitoken",
            options={"ordering": ["-created_at", "-pk"]},
        ),
        migrations.AddField(
            model_name="apitoken",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
