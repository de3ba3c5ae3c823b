import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from lien.core.models import Role
from lien.logbook.models import Intervention, Shift
from tests.factories import make_membership

pytestmark = pytest.mark.django_db


def as_post(data):
    """The sync payload as the HTML form posts it (lists become repeated keys)."""
    form = {k: v for k, v in data.items() if k not in {"access_requests"} and v is not None}
    for item in data.get("access_requests", []):
        form[f"request_{item['theme']}"] = item["count"]
    return form


def test_entry_page_logs_and_comes_back_for_the_next(team, payload, login):
    client = login(team["mediator"])
    page = client.get("/journal-de-bord/saisir/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="activity-fields"' in body
    assert "Présence active de proximité" in body
    response = client.post("/journal-de-bord/saisir/", as_post(payload()))
    assert response.status_code == 302
    assert Intervention.objects.count() == 1


def test_entry_page_repeats_the_last_entry(team, payload, login):
    client = login(team["mediator"])
    client.post(
        "/journal-de-bord/saisir/",
        as_post(payload(activity_type="presence-active", timing="", form="")),
    )
    form = client.get("/journal-de-bord/saisir/").context["form"]
    assert form.initial["activity_type"] == "presence-active"
    assert form.initial["commune"] == "59512"
    assert form.initial["mediators"] == [team["partner_mediator"].user_id]


def test_entry_page_shows_errors_by_field_and_keeps_the_input(team, payload, login):
    client = login(team["mediator"])
    response = client.post(
        "/journal-de-bord/saisir/", as_post(payload(people_met=-2, note="appeler le 0612345678"))
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "numéro de téléphone" in body
    assert "supérieure ou égale à 0" in body
    assert "appeler le 0612345678" in body  # nothing typed is lost
    assert Intervention.objects.count() == 0


def test_entry_from_a_shift_is_prefilled(team, login):
    start = timezone.now().replace(hour=9, minute=0)
    shift = Shift.objects.create(
        structure=team["structure"],
        service=team["service"],
        kind="patrol",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        commune=team["service"].structure.commune,
        place_label="Secteur Alma",
    )
    shift.mediators.set([team["mediator"].user, team["partner_mediator"].user])
    client = login(team["mediator"])
    page = client.get(f"/journal-de-bord/saisir/?tournee={shift.pk}")
    assert "Secteur Alma" in page.content.decode()
    assert page.context["form"].initial["shift"] == shift.pk
    assert client.get("/journal-de-bord/saisir/?tournee=pas-un-uuid").status_code == 200


def test_correcting_an_entry_through_the_page(team, payload, login):
    client = login(team["mediator"])
    client.post("/journal-de-bord/saisir/", as_post(payload()))
    entry = Intervention.objects.get()
    page = client.get(f"/journal-de-bord/{entry.pk}/corriger/")
    assert page.status_code == 200
    response = client.post(
        f"/journal-de-bord/{entry.pk}/corriger/", {**as_post(payload(people_met=6)), "version": 1}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.people_met, entry.version) == (6, 2)
    stale = client.post(
        f"/journal-de-bord/{entry.pk}/corriger/", {**as_post(payload(people_met=8)), "version": 1}
    )
    assert "modifiée par quelqu" in stale.content.decode()


def test_team_log_filters_and_exports(team, payload, login):
    mediator = login(team["mediator"])
    mediator.post("/journal-de-bord/saisir/", as_post(payload()))
    mediator.post(
        "/journal-de-bord/saisir/",
        as_post(
            payload(activity_type="presence-active", timing="", form="", domain="espaces-publics")
        ),
    )
    coordinator = login(team["coordinator"])
    everything = coordinator.get("/journal-de-bord/equipe/")
    assert everything.context["totals"]["count"] == 2
    filtered = coordinator.get("/journal-de-bord/equipe/?activity_type=presence-active")
    assert filtered.context["totals"]["count"] == 1
    bad = coordinator.get("/journal-de-bord/equipe/?start=2026-02-30&territory=ZZZ")
    assert bad.status_code == 200
    csv = coordinator.get("/journal-de-bord/equipe/?export=csv&activity_type=presence-active")
    text = b"".join(csv.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffIdentifiant;Date;")
    assert text.count("\n") == 2
    xlsx = coordinator.get("/journal-de-bord/equipe/?export=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet.max_row == 3


def test_team_log_is_for_coordination(team, login):
    assert login(team["mediator"]).get("/journal-de-bord/equipe/").status_code == 403


def test_team_log_query_count_does_not_grow_with_rows(
    team, payload, login, django_assert_max_num_queries
):
    mediator = login(team["mediator"])
    for _ in range(12):
        mediator.post("/journal-de-bord/saisir/", as_post(payload()))
    coordinator = login(team["coordinator"])
    with django_assert_max_num_queries(16):
        coordinator.get("/journal-de-bord/equipe/")


def test_coordinator_plans_a_shift_and_mediator_sees_it_today(team, login):
    coordinator = login(team["coordinator"])
    today = timezone.localdate()
    response = coordinator.post(
        "/tournees/nouvelle/",
        {
            "kind": "patrol",
            "service": team["service"].pk,
            "starts_at": f"{today}T14:00",
            "ends_at": f"{today}T18:00",
            "commune": "59512",
            "place_label": "Quartier de l'Épeule",
            "mediators": [team["mediator"].user_id, team["partner_mediator"].user_id],
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    page = login(team["mediator"]).get("/tournees/")
    assert "Quartier de l&#x27;Épeule" in page.content.decode()
    assert login(team["mediator"]).get("/tournees/nouvelle/").status_code == 403


def test_shift_form_rejects_end_before_start(team, login):
    coordinator = login(team["coordinator"])
    response = coordinator.post(
        "/tournees/nouvelle/",
        {
            "kind": "permanence",
            "service": team["service"].pk,
            "starts_at": "2026-11-20T14:00",
            "ends_at": "2026-11-20T13:00",
            "commune": "59512",
            "mediators": [team["mediator"].user_id],
        },
    )
    assert response.status_code == 200
    assert "La fin doit suivre le début" in response.content.decode()


def test_other_roles_have_no_logbook(team, login):
    for role in (Role.FUNDER, Role.PARTNER, Role.STEERING):
        client = login(make_membership(role))
        assert client.get("/journal-de-bord/saisir/").status_code == 403
