"""Retention rules: how long each kind of record is kept, and what happens to it then.

Each app declares its rules in its own `retention.py` module (`RULES = [RetentionRule(…)]`);
`rules()` finds them with `autodiscover_modules("retention")`, so core never imports the
other apps. `manage.py apply_retention` (daily, from cron) calls `retention_apply`, which
runs every rule in its own transaction and journals what each one did; the command prints
the whole catalogue, so that its report is also the list of what Lien keeps and for how
long. Periods are in `settings.LIEN_RETENTION` (from the environment) unless a rule says
otherwise.

Some things expire by themselves: a signed link or a token carries its own date and is
refused after it, and nothing is stored to erase. They are listed as rules too (`expiry
by signature`), acting on nothing, so that the catalogue is complete.
"""

import datetime
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django_otp.plugins.otp_totp.models import TOTPDevice

from lien.core import audit
from lien.core.models import AuditAction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionRule:
    """One kind of record and what becomes of it.

    `apply(today)` acts and returns how many records it acted on; `count(today)` returns
    how many `apply` would act on, without changing anything (for `--dry-run`). Both get
    the local date of the run. `statement` is a text, or a function returning one when it
    quotes a setting (read at each run, not at import).
    """

    code: str
    kind: str
    statement: str | Callable[[], str]
    apply: Callable[[datetime.date], int]
    count: Callable[[datetime.date], int]

    def describe(self) -> str:
        return self.statement() if callable(self.statement) else self.statement


def _nothing(today: datetime.date) -> int:
    return 0


def expiry_by_signature(*, code: str, kind: str, statement: Callable[[], str]) -> RetentionRule:
    """A rule for what expires by itself (signed links, tokens): it acts on nothing."""
    return RetentionRule(
        code=code,
        kind=kind,
        statement=statement,
        apply=_nothing,
        count=_nothing,
    )


def period(key: str) -> int:
    """A retention period in days, from `settings.LIEN_RETENTION`."""
    return int(settings.LIEN_RETENTION[key])


def cutoff(today: datetime.date, days: int) -> datetime.datetime:
    """Midnight (local time) `days` days before `today`: what is older was kept `days`
    days at least."""
    return timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time())
    )


def delete_rows(*querysets) -> int:
    """Delete the rows selected and count them (not the rows deleted by cascade)."""
    total = 0
    for queryset in querysets:
        _, per_model = queryset.delete()
        total += per_model.get(queryset.model._meta.label, 0)
    return total


def rules() -> list[RetentionRule]:
    """Every app's rules, in the order of INSTALLED_APPS."""
    autodiscover_modules("retention")
    found: list[RetentionRule] = []
    for app_config in apps.get_app_configs():
        module = sys.modules.get(f"{app_config.name}.retention")
        found.extend(
            rule for rule in getattr(module, "RULES", ()) if isinstance(rule, RetentionRule)
        )
    codes = [rule.code for rule in found]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ImproperlyConfigured(f"Règles de conservation en double : {', '.join(duplicates)}")
    return found


@dataclass(frozen=True)
class Outcome:
    rule: RetentionRule
    count: int = 0
    error: str = ""


def retention_apply(*, today: datetime.date | None = None, dry_run: bool = False) -> list[Outcome]:
    """Apply every rule, each in its own transaction with its journal event (one
    `retention` event per rule that acted on something). A rule that fails is rolled back
    and reported; the others still run. With `dry_run`, only count."""
    today = today or timezone.localdate()
    outcomes = []
    for rule in rules():
        try:
            if dry_run:
                count = rule.count(today)
            else:
                with transaction.atomic():
                    count = rule.apply(today)
                    if count:
                        audit.record(
                            action=AuditAction.RETENTION,
                            note=f"{rule.kind} : {count} enregistrement(s)",
                        )
        except Exception as exc:  # one rule's failure must not stop the others
            logger.exception("Règle de conservation %s en échec", rule.code)
            outcomes.append(Outcome(rule=rule, error=f"{type(exc).__name__}: {exc}"))
        else:
            outcomes.append(Outcome(rule=rule, count=count))
    return outcomes


# --- core's own rules ----------------------------------------------------------------------


def _expired_sessions(today: datetime.date):
    # What `clearsessions` removes, up to the start of the day of the run.
    return Session.objects.filter(expire_date__lt=cutoff(today, 0))


def _login_records(today: datetime.date):
    limit = cutoff(today, period("login_attempts_days"))
    return [
        model.objects.filter(attempt_time__lt=limit)
        for model in (AccessAttempt, AccessLog, AccessFailureLog)
    ]


TOTP_SETUP_KEPT_DAYS = 1


def _abandoned_totp_setups(today: datetime.date):
    # A device without a creation date predates the column (an older django-otp): old enough.
    return TOTPDevice.objects.filter(confirmed=False).filter(
        Q(created_at__lt=cutoff(today, TOTP_SETUP_KEPT_DAYS)) | Q(created_at__isnull=True)
    )


def _days(seconds: int) -> int:
    return seconds // 86400


RULES = [
    RetentionRule(
        code="sessions",
        kind="Sessions de connexion expirées",
        statement=lambda: (
            "supprimées le lendemain de leur expiration (une session dure "
            f"{settings.SESSION_COOKIE_AGE // 3600} h au plus)"
        ),
        apply=lambda today: delete_rows(_expired_sessions(today)),
        count=lambda today: _expired_sessions(today).count(),
    ),
    RetentionRule(
        code="login_attempts",
        kind="Tentatives et journaux de connexion (adresse IP, identifiant)",
        statement=lambda: f"supprimés {period('login_attempts_days')} jours après la tentative",
        apply=lambda today: delete_rows(*_login_records(today)),
        count=lambda today: sum(queryset.count() for queryset in _login_records(today)),
    ),
    RetentionRule(
        code="totp_setups",
        kind="Mises en place de double authentification abandonnées",
        statement=(
            f"appareil TOTP non confirmé supprimé {TOTP_SETUP_KEPT_DAYS} jour après sa création"
        ),
        apply=lambda today: delete_rows(_abandoned_totp_setups(today)),
        count=lambda today: _abandoned_totp_setups(today).count(),
    ),
    expiry_by_signature(
        code="account_links",
        kind="Liens d'invitation et de choix du mot de passe",
        statement=lambda: (
            "expiration par signature : valables "
            f"{_days(settings.PASSWORD_RESET_TIMEOUT)} jours, une seule fois ; rien n'est "
            "conservé"
        ),
    ),
]
