from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class IndicatorsConfig(AppConfig):
    name = "lien.indicators"
    label = "indicators"
    verbose_name = "Indicateurs et tableaux de bord"

    def ready(self) -> None:
        from lien.indicators.engine import forget_ids
        from lien.referentiel.models import REFERENCE_MODELS

        for model in REFERENCE_MODELS.values():
            post_save.connect(forget_ids, sender=model, dispatch_uid=f"ids-{model}")
            post_delete.connect(forget_ids, sender=model, dispatch_uid=f"ids-d-{model}")
