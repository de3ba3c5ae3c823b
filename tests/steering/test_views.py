"""Steering pages: who opens them, and a whole round from agreement to decision."""

import pytest
from django.urls import reverse

from lien.steering.models import Decision, Experiment, FrameworkAgreement, SteeringMeeting
from tests.steering.test_observatory import hire

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("actor", "status"),
    [("steering", 200), ("admin", 200), ("coordinator", 403), ("mediator", 403),
     ("city_member", 403)],
)  # fmt: skip
def test_only_steering_and_admin_open_the_steering_pages(steering, login, actor, status):
    client = login(steering[actor])
    assert client.get(reverse("steering:framework_list")).status_code == status
    detail = reverse("steering:framework_detail", kwargs={"pk": steering["agreement"].pk})
    assert client.get(detail).status_code in ((200,) if status == 200 else (403, 404))


def test_steering_of_another_territory_gets_404_on_the_regions_agreement(steering, login):
    client = login(steering["steering_62"])
    detail = reverse("steering:framework_detail", kwargs={"pk": steering["agreement"].pk})
    assert client.get(detail).status_code == 404
    assert "Plan régional" not in client.get(reverse("steering:framework_list")).content.decode()


def test_a_steering_round_from_agreement_to_decision(steering, login):
    client = login(steering["steering"])
    response = client.post(
        reverse("steering:framework_create"),
        {"title": "Convention du Nord", "territory": "59", "starts_on": "2026-01-01",
         "ends_on": "2028-12-31", "job_target": "200", "other_signatories": "",
         "objectives": ""},
    )  # fmt: skip
    agreement = FrameworkAgreement.objects.get(title="Convention du Nord")
    assert response.status_code == 302 and agreement.territory.code == "59"
    response = client.post(
        reverse("steering:experiment_create", kwargs={"framework_pk": agreement.pk}),
        {"name": "Emplois mutualisés", "site": "L'Alma", "territory": "59512",
         "pooling_model": "employers_group", "stage": agreement.pk and _stage(),
         "status": "running", "starts_on": "2026-02-01", "notes": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Experiment.objects.get().territory.code == "59512"
    # A site outside the agreement's territory is refused with a message.
    response = client.post(
        reverse("steering:experiment_create", kwargs={"framework_pk": agreement.pk}),
        {"name": "Hors champ", "site": "Arras", "territory": "62041",
         "pooling_model": "employers_group", "stage": _stage(), "status": "running",
         "starts_on": "2026-02-01"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "hors du périmètre" in response.content.decode()
    client.post(
        reverse("steering:meeting_create", kwargs={"framework_pk": agreement.pk}),
        {"held_on": "2026-06-15", "kind": "steering", "other_participants": "",
         "summary": "Point d'étape."},
    )  # fmt: skip
    meeting = SteeringMeeting.objects.get(agreement=agreement)
    client.post(
        reverse("steering:decision_create", kwargs={"meeting_pk": meeting.pk}),
        {"text": "Recenser les postes", "owner": "Mission d'appui", "due_on": "2026-01-31",
         "status": "open", "follow_up": ""},
    )  # fmt: skip
    decision = Decision.objects.get()
    page = client.get(reverse("steering:meeting_detail", kwargs={"pk": meeting.pk}))
    body = page.content.decode()
    assert "Recenser les postes" in body and "en retard" in body
    later = client.post(
        reverse("steering:meeting_create", kwargs={"framework_pk": agreement.pk}),
        {"held_on": "2026-12-10", "kind": "steering"},
    )
    assert later.status_code == 302
    # The next meeting shows what became of the previous one's decisions.
    next_page = client.get(later.url).content.decode()
    assert "Suite des décisions de la réunion du 15/06/2026" in next_page
    assert "Recenser les postes" in next_page
    client.post(
        reverse("steering:decision_edit", kwargs={"pk": decision.pk}),
        {"text": decision.text, "owner": decision.owner, "due_on": "2026-01-31",
         "status": "done", "follow_up": "Fait."},
    )  # fmt: skip
    decision.refresh_from_db()
    assert decision.status == "done" and decision.closed_on is not None


def _stage():
    from lien.referentiel.models import ProjectStage

    return str(ProjectStage.objects.get(code="demarrage").pk)


def test_the_observatory_page_shows_the_target_and_suppresses_small_counts(steering, login):
    import datetime

    for _ in range(2):
        hire(steering["service"], datetime.date(2024, 5, 1))
    detail = reverse("steering:framework_detail", kwargs={"pk": steering["agreement"].pk})
    body = login(steering["steering"]).get(detail).content.decode()
    assert "Observatoire des emplois" in body
    assert '<progress id="target-progress"' in body
    assert "&lt; 5" in body and "secret statistique" in body
    admin_body = login(steering["admin"]).get(detail).content.decode()
    assert "<dt>Total</dt><dd>2</dd>" in admin_body


def test_the_agreements_and_the_observatory_download_as_displayed(steering, login):
    import csv
    import datetime
    import io

    from openpyxl import load_workbook

    from lien.core.models import AuditEvent

    for _ in range(3):
        hire(steering["service"], datetime.date(2024, 5, 1))
    client = login(steering["steering"])
    listing = client.get(reverse("steering:framework_list"), {"export": "csv"})
    text = b"".join(listing.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["Identifiant", "Convention", "Territoire"]
    assert rows[1][1] == "Plan régional"
    detail = reverse("steering:framework_detail", kwargs={"pk": steering["agreement"].pk})
    body = client.get(detail, {"export": "csv"}).content.decode("utf-8-sig")
    assert "Emplois par type de contrat" in body
    assert "Total;< 5" in body and ";3" not in body  # three jobs: suppressed in the file too
    workbook = load_workbook(io.BytesIO(client.get(detail, {"export": "xlsx"}).content))
    assert len(workbook.sheetnames) == 7  # target, 4 breakdowns, the quarters, the targets
    assert AuditEvent.objects.filter(action="export", note__startswith="observatoire").exists()
    # Someone else's agreement cannot be downloaded either.
    other = login(steering["steering_62"]).get(detail, {"export": "csv"})
    assert other.status_code == 404


def test_the_agreement_page_shows_each_target_beside_its_value_since_it_began(steering, login):
    import datetime

    from django.utils import timezone

    from lien.indicators.models import IndicatorDefinition
    from lien.indicators.services import indicators_load
    from lien.steering import services
    from tests.indicators.test_dashboards import entry

    indicators_load()
    service, agreement = steering["service"], steering["agreement"]
    people = IndicatorDefinition.objects.get(code="personnes-rencontrees")
    services.agreement_target_set(
        actor=steering["steering"], agreement=agreement, indicator=people, value=500,
        note="Cible annuelle",
    )  # fmt: skip
    when = timezone.localtime() - datetime.timedelta(hours=1)
    entry(service.structure, steering["mediator"], service, commune="59512", when=when, people=3)
    detail = reverse("steering:framework_detail", kwargs={"pk": agreement.pk})
    body = login(steering["steering"]).get(detail).content.decode()
    row = body[body.index('<th scope="row">Personnes rencontrées</th>') :].split("</tr>")[0]
    assert "500" in row and "Cible annuelle" in row
    assert "&lt; 5" in row  # 3 people: a small count, seen from outside the structure
    assert f"de 01/2024 à {timezone.localdate():%m/%Y}" in body
    admin_row = login(steering["admin"]).get(detail).content.decode()
    assert '<td class="num">3</td>' in admin_row.split("Personnes rencontrées</th>")[1][:400]
    for _ in range(3):
        entry(service.structure, steering["mediator"], service, commune="59512", when=when)
    body = login(steering["steering"]).get(detail).content.decode()
    assert '<td class="num">9</td>' in body.split("Personnes rencontrées</th>")[1][:400]
    # The download carries the same table.
    text = login(steering["steering"]).get(detail, {"export": "csv"}).content.decode("utf-8-sig")
    assert "Personnes rencontrées;500 personnes;9;Cible annuelle" in text
    # An agreement that has not begun shows its targets without a value.
    later = FrameworkAgreement.objects.create(
        territory=agreement.territory, title="Plan suivant", job_target=5,
        starts_on=timezone.localdate() + datetime.timedelta(days=400),
        ends_on=timezone.localdate() + datetime.timedelta(days=1200),
    )  # fmt: skip
    services.agreement_target_set(
        actor=steering["steering"], agreement=later, indicator=people, value=100, note=""
    )
    url = reverse("steering:framework_detail", kwargs={"pk": later.pk})
    body = login(steering["steering"]).get(url).content.decode()
    assert "pas encore commencé" in body
    assert '<td class="num">—</td>' in body.split("Personnes rencontrées</th>")[1][:400]
