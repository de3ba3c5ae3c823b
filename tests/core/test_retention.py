"""Retention rules and `apply_retention`: each rule acts on what is past its period and on
nothing else, --dry-run only counts, the journal gets one event per rule that acted, the
report lists every rule, and a failing rule does not stop the others."""

import datetime
import io
import uuid
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.base import TaskResultStatus

from lien.core import retention
from lien.core.models import AuditAction, AuditEvent, Role
from lien.exchange import exports
from lien.followup import services
from lien.followup.models import Referral, ReportStatus, Situation, TechnicalReport
from lien.notifications.models import Notification
from lien.referentiel.models import Domain, Outcome, RequestTheme
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.factories import OrganisationFactory, ServiceFactory, UserFactory, make_membership

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)

# What each rule acts on in the `records` fixture; the signed links expire by themselves.
EXPECTED = {
    "sessions": 1,
    "login_attempts": 3,  # one of each: attempt, access log, failure log
    "totp_setups": 1,
    "account_links": 0,
    "situations": 1,
    "referral_callbacks": 1,
    "referral_links": 0,
    "report_photos": 1,
    "notifications_read": 1,
    "job_results": 2,  # one succeeded, one failed
    "import_files": 1,  # an import uploaded 32 days ago (files kept 30)
    "structure_exports": 1,  # exports
}
ACTING = {code for code, count in EXPECTED.items() if count}


def _situation(world, **extra):
    situation = services.situation_create(
        actor=world.mediator,
        data={
            "service": world.service,
            "kind": "deferred",
            "initials": "M. D.",
            "domain": Domain.objects.get(code="habitat-social"),
            "commune": world.roubaix,
            "summary": "Conflit d'usage du parking.",
        },
    )
    services.situation_close(
        actor=world.mediator,
        situation=situation,
        outcome=Outcome.objects.get(code="apaise-resolu"),
    )
    Situation.objects.filter(pk=situation.pk).update(**extra)
    return situation.pk


def _referral(world, closed_at):
    referral = services.referral_create(
        actor=world.mediator,
        data={
            "service": world.service,
            "partner": world.partner_organisation,
            "theme": RequestTheme.objects.get(code="prestations-sociales"),
            "commune": world.roubaix,
            "person": "Mme K.",
            "request": "Dossier de prestations bloqué depuis deux mois.",
            "callback": "06 12 34 56 78",
            "callback_consent": True,
        },
    )
    services.referral_answer(
        actor=world.partner, referral=referral, to="refused", refusal_reason="Hors champ"
    )
    Referral.objects.filter(pk=referral.pk).update(closed_at=closed_at)
    return referral.pk


def _report(world, closed_at):
    report = services.report_create(
        actor=world.mediator,
        data={
            "service": world.service,
            "category": "lighting",
            "commune": world.roubaix,
            "description": "Trois lampadaires éteints le long de l'allée.",
        },
        photo=ContentFile(b"\xff\xd8\xff pas vraiment une photo", name="p.jpg"),
    )
    TechnicalReport.objects.filter(pk=report.pk).update(
        status=ReportStatus.RESOLVED, closed_at=closed_at
    )
    return report.pk


def _axes_rows(username, attempt_time):
    common = {
        "user_agent": "navigateur",
        "ip_address": "192.0.2.1",
        "username": username,
        "http_accept": "*/*",
        "path_info": "/connexion/",
    }
    AccessAttempt.objects.create(**common, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**common)
    AccessFailureLog.objects.create(**common)
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(username=username).update(attempt_time=attempt_time)


def _job(status, finished_at):
    return DBTaskResult.objects.create(
        status=status,
        finished_at=finished_at,
        run_after=timezone.now(),
        args_kwargs={"args": [], "kwargs": {"to": ["personne@example.org"], "body": "lien"}},
        task_path="lien.notifications.tasks.deliver_external_email",
        backend_name="default",
    ).pk


@pytest.fixture
def world(territories, settings, tmp_path):
    referentiel_load()
    settings.MEDIA_ROOT = tmp_path
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    partner_organisation = OrganisationFactory(kind=OrganisationKind.PARTNER)
    return SimpleNamespace(
        service=service,
        roubaix=territories["roubaix"],
        mediator=make_membership(Role.MEDIATOR, structure=service.structure),
        partner_organisation=partner_organisation,
        partner=make_membership(Role.PARTNER, organisation=partner_organisation),
    )


@pytest.fixture
def records(world, settings, tmp_path):
    """For each rule that acts, one record past its period ("old") and one inside it
    ("recent"), with the default periods of settings.LIEN_RETENTION. "Old" is two days
    past the period: periods count from local midnight, and a summer date is one hour
    off a winter evening's (a run at 23:00 in December would keep a record of period + 1
    days)."""
    now = timezone.now()
    today = timezone.localdate()
    user = UserFactory()
    r = SimpleNamespace()

    Session.objects.create(session_key="a" * 32, session_data="x", expire_date=now - 2 * DAY)
    Session.objects.create(session_key="b" * 32, session_data="x", expire_date=now + DAY)

    _axes_rows("ancien@example.org", now - 182 * DAY)
    _axes_rows("recent@example.org", now - 10 * DAY)

    r.old_device = TOTPDevice.objects.create(user=user, name="ancien", confirmed=False).pk
    r.recent_device = TOTPDevice.objects.create(user=user, name="récent", confirmed=False).pk
    r.confirmed_device = TOTPDevice.objects.create(user=user, name="confirmé", confirmed=True).pk
    TOTPDevice.objects.filter(pk__in=[r.old_device, r.confirmed_device]).update(
        created_at=now - 3 * DAY
    )

    r.old_situation = _situation(world, purge_on=today - DAY)
    r.recent_situation = _situation(world)  # purge planned 12 months after closing

    r.old_referral = _referral(world, closed_at=now - 32 * DAY)
    r.recent_referral = _referral(world, closed_at=now - 5 * DAY)

    r.old_report = _report(world, closed_at=now - 367 * DAY)
    r.recent_report = _report(world, closed_at=now - 10 * DAY)
    r.old_photo = TechnicalReport.objects.get(pk=r.old_report).photo.name
    r.recent_photo = TechnicalReport.objects.get(pk=r.recent_report).photo.name

    def notification(created_at, read_at):
        return Notification.objects.create(
            recipient=user, kind="test", title="t", created_at=created_at, read_at=read_at
        ).pk

    r.old_read = notification(now - 182 * DAY, now - 181 * DAY)
    r.recent_read = notification(now - 10 * DAY, now - 9 * DAY)
    r.old_unread = notification(now - 400 * DAY, None)

    r.old_jobs = [
        _job(TaskResultStatus.SUCCEEDED, now - 32 * DAY),
        _job(TaskResultStatus.FAILED, now - 40 * DAY),
    ]
    r.recent_job = _job(TaskResultStatus.SUCCEEDED, now - 5 * DAY)
    r.waiting_job = _job(TaskResultStatus.READY, None)

    # imports: the files of an import uploaded 32 days ago (kept 30), and of yesterday's.
    from lien.exchange.models import ImportJob
    from tests.test_permission_matrix import make_import_job

    coordinator = make_membership(Role.COORDINATOR, structure=world.service.structure)
    for name, age in (("old_import", 32 * DAY), ("recent_import", DAY)):
        job = make_import_job(coordinator)
        ImportJob.objects.filter(pk=job.pk).update(created_at=now - age)
        setattr(r, name, job.pk)

    # exports: a full structure export asked 9 days ago (kept 7), and one of yesterday.
    settings.LIEN_EXPORT_ROOT = tmp_path / "exports"
    structure_id = world.service.structure_id
    for name, age in (("old_export", 9 * DAY), ("recent_export", DAY)):
        export_id = str(uuid.uuid4())
        exports._write_state(
            structure_id, export_id, id=export_id, structure_id=str(structure_id),
            requested_at=(now - age).isoformat(), state="done",
        )  # fmt: skip
        exports.archive_path(structure_id, export_id).write_bytes(b"PK")
        setattr(r, name, exports.archive_path(structure_id, export_id))
    return r


def kept(r) -> dict[str, tuple[bool, bool]]:
    """For each acting rule: (is the old record still as it was, is the recent one)."""

    def axes_kept(username):
        return all(
            model.objects.filter(username=username).exists()
            for model in (AccessAttempt, AccessLog, AccessFailureLog)
        )

    def situation_kept(pk):
        return Situation.objects.get(pk=pk).summary != services.PURGED

    def photo_kept(pk, name):
        return TechnicalReport.objects.get(pk=pk).photo.name == name

    def import_kept(pk):
        from lien.exchange.models import ImportJob

        job = ImportJob.objects.get(pk=pk)  # the row stays, as the journal's witness
        return bool(job.file and job.report) and job.file.storage.exists(job.file.name)

    def jobs_kept(pks):
        return DBTaskResult.objects.filter(pk__in=pks).count() == len(pks)

    assert TOTPDevice.objects.filter(pk=r.confirmed_device).exists()
    assert Notification.objects.filter(pk=r.old_unread).exists()
    assert DBTaskResult.objects.filter(pk=r.waiting_job).exists()
    return {
        "sessions": (
            Session.objects.filter(pk="a" * 32).exists(),
            Session.objects.filter(pk="b" * 32).exists(),
        ),
        "login_attempts": (axes_kept("ancien@example.org"), axes_kept("recent@example.org")),
        "totp_setups": (
            TOTPDevice.objects.filter(pk=r.old_device).exists(),
            TOTPDevice.objects.filter(pk=r.recent_device).exists(),
        ),
        "situations": (situation_kept(r.old_situation), situation_kept(r.recent_situation)),
        "referral_callbacks": (
            Referral.objects.get(pk=r.old_referral).callback != "",
            Referral.objects.get(pk=r.recent_referral).callback != "",
        ),
        "report_photos": (
            photo_kept(r.old_report, r.old_photo),
            photo_kept(r.recent_report, r.recent_photo),
        ),
        "notifications_read": (
            Notification.objects.filter(pk=r.old_read).exists(),
            Notification.objects.filter(pk=r.recent_read).exists(),
        ),
        "job_results": (jobs_kept(r.old_jobs), jobs_kept([r.recent_job])),
        "import_files": (import_kept(r.old_import), import_kept(r.recent_import)),
        "structure_exports": (r.old_export.exists(), r.recent_export.exists()),
    }


def run(*args) -> str:
    out = io.StringIO()
    call_command("apply_retention", *args, stdout=out)
    return out.getvalue()


def retention_notes() -> list[str]:
    return sorted(
        AuditEvent.objects.filter(action=AuditAction.RETENTION).values_list("note", flat=True)
    )


def test_every_app_declares_its_rules():
    assert [rule.code for rule in retention.rules()] == list(EXPECTED)


def test_each_rule_acts_past_its_period_and_only_there(records):
    outcomes = retention.retention_apply()
    assert {o.rule.code: (o.count, o.error) for o in outcomes} == {
        code: (count, "") for code, count in EXPECTED.items()
    }
    assert kept(records) == dict.fromkeys(ACTING, (False, True))
    situation = Situation.objects.get(pk=records.old_situation)
    assert situation.names == "" and situation.contact == ""
    # A second run finds nothing left to do.
    assert all(o.count == 0 for o in retention.retention_apply())


def test_a_photo_file_is_deleted_once_the_transaction_commits(
    records, django_capture_on_commit_callbacks
):
    assert default_storage.exists(records.old_photo)
    with django_capture_on_commit_callbacks(execute=True):
        run()
    assert not default_storage.exists(records.old_photo)
    assert default_storage.exists(records.recent_photo)


def test_dry_run_counts_and_changes_nothing(records, django_capture_on_commit_callbacks):
    dry = retention.retention_apply(dry_run=True)
    assert {o.rule.code: o.count for o in dry} == EXPECTED
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out = run("--dry-run")
    assert "simulation" in out
    assert callbacks == []
    assert kept(records) == dict.fromkeys(ACTING, (True, True))
    assert default_storage.exists(records.old_photo)
    assert retention_notes() == []


def test_the_journal_gets_one_event_per_rule_that_acted(records):
    run()
    by_code = {rule.code: rule for rule in retention.rules()}
    assert retention_notes() == sorted(
        f"{by_code[code].kind} : {EXPECTED[code]} enregistrement(s)" for code in ACTING
    )
    event = AuditEvent.objects.filter(action=AuditAction.RETENTION).first()
    assert event.actor_id is None and event.object_type == ""
    run()  # nothing left: no new event
    assert len(retention_notes()) == len(ACTING)


def test_the_report_lists_every_rule_with_its_count(records):
    out = run()
    lines = out.splitlines()
    for rule in retention.rules():
        [line] = [line for line in lines if line.startswith(rule.kind + " ")]
        cells = [cell.strip() for cell in line.split(" | ")]
        assert cells == [rule.kind, rule.describe(), str(EXPECTED[rule.code])]
    assert "anonymisés 12 mois après la clôture (réglable par structure)" in out
    assert "expiration par signature : valables 45 jours" in out
    assert "expiration par signature : valables 7 jours" in out


def test_periods_come_from_the_settings(records, settings):
    settings.LIEN_RETENTION = {**settings.LIEN_RETENTION, "notifications_read_days": 5}
    outcomes = {o.rule.code: o for o in retention.retention_apply()}
    assert outcomes["notifications_read"].count == 2
    assert outcomes["notifications_read"].rule.describe() == "supprimées 5 jours après leur envoi"


def test_a_failing_rule_is_reported_and_the_others_still_run(records, monkeypatch):
    purge = services.situations_purge

    def broken(*, today=None):
        purge(today=today)  # acts, then fails: what it did is rolled back
        raise RuntimeError("disque plein")

    monkeypatch.setattr(services, "situations_purge", broken)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 règle"):
        call_command("apply_retention", stdout=out)
    report = out.getvalue()
    [line] = [line for line in report.splitlines() if line.startswith("Suivis de situation")]
    assert line.endswith("| ÉCHEC")
    assert "Suivis de situation (données nominatives) : RuntimeError: disque plein" in report
    state = kept(records)
    assert state.pop("situations") == (True, True)
    assert state == dict.fromkeys(ACTING - {"situations"}, (False, True))
    assert len(retention_notes()) == len(ACTING) - 1
    assert not any(note.startswith("Suivis de situation") for note in retention_notes())
