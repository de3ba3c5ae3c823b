from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class LogbookConfig(AppConfig):
    name = "lien.logbook"
    label = "logbook"
    verbose_name = "Journal de bord (interventions, tournées)"

    def ready(self) -> None:
        from lien.logbook.forms import forget_vocabularies
        from lien.referentiel.models import REFERENCE_MODELS

        for model in REFERENCE_MODELS.values():
            post_save.connect(forget_vocabularies, sender=model, dispatch_uid=f"vocab-{model}")
            post_delete.connect(forget_vocabularies, sender=model, dispatch_uid=f"vocab-d-{model}")
