"""Give next steps, agreements and routing rules a random public identifier for their
URLs, so that no tenant-scoped record is addressed by a guessable sequential id."""

import uuid

from django.db import migrations, models

MODELS = ("nextstep", "agreement", "routingrule")


def fill_uids(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("followup", name)
        for row in model.objects.filter(uid__isnull=True).only("pk"):
            row.uid = uuid.uuid4()
            row.save(update_fields=["uid"])


class Migration(migrations.Migration):
    dependencies = [("followup", "0001_initial")]

    operations = [
        *[
            migrations.AddField(model_name=name, name="uid", field=models.UUIDField(null=True))
            for name in MODELS
        ],
        migrations.RunPython(fill_uids, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                model_name=name,
                name="uid",
                field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
            )
            for name in MODELS
        ],
    ]
