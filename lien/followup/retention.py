"""Follow-up's retention rules (applied by `manage.py apply_retention`, see lien.core.retention)."""

import datetime
from functools import partial

from django.db import transaction

from lien.core import audit
from lien.core.models import AuditAction
from lien.core.retention import RetentionRule, cutoff, expiry_by_signature, period
from lien.followup import links, services
from lien.followup.models import TechnicalReport
from lien.structures.models import Structure


def _photos_due(today: datetime.date):
    return TechnicalReport.objects.exclude(photo="").filter(
        closed_at__lt=cutoff(today, period("report_photos_days"))
    )


def report_photos_erase(today: datetime.date) -> int:
    """A photo may show people: it is deleted a while after the report closed (resolved or
    rejected); the report itself stays. The row is cleared in the transaction and the file
    deleted once it commits, so a rollback never leaves a row pointing to nothing."""
    count = 0
    for report in _photos_due(today).select_related("commune"):
        with transaction.atomic():
            name = report.photo.name
            storage = report.photo.storage
            report.photo = ""
            report.save(update_fields=["photo"])
            audit.record(
                action=AuditAction.UPDATE,
                obj=report,
                before={"photo": name},
                after={"photo": ""},
                note=f"Photo effacée {period('report_photos_days')} jours après la clôture",
            )
            transaction.on_commit(partial(storage.delete, name), robust=True)
        count += 1
    return count


def _default_months() -> int:
    return Structure._meta.get_field("situation_retention_months").default


RULES = [
    RetentionRule(
        code="situations",
        kind="Suivis de situation (données nominatives)",
        statement=lambda: (
            f"anonymisés {_default_months()} mois après la clôture (réglable par structure), "
            "ou 24 mois plus tard s'ils restent ouverts ; les comptages restent"
        ),
        apply=lambda today: services.situations_purge(today=today),
        count=lambda today: services.situations_due_for_purge(today).count(),
    ),
    RetentionRule(
        code="referral_callbacks",
        kind="Coordonnées de rappel des mises en relation",
        statement=f"effacées {services.CALLBACK_KEPT_DAYS} jours après la clôture",
        apply=lambda today: services.referrals_forget_callbacks(today=today),
        count=lambda today: services.referrals_callbacks_due(today).count(),
    ),
    expiry_by_signature(
        code="referral_links",
        kind="Liens signés de réponse des partenaires",
        statement=lambda: (
            f"expiration par signature : valables {links.max_age_seconds() // 86400} jours, "
            "révoqués par un nouveau lien ou la clôture ; rien n'est conservé"
        ),
    ),
    RetentionRule(
        code="report_photos",
        kind="Photos des signalements techniques",
        statement=lambda: (
            f"fichier supprimé {period('report_photos_days')} jours après la clôture du signalement"
        ),
        apply=report_photos_erase,
        count=lambda today: _photos_due(today).count(),
    ),
]
