"""The API's follow-up writes, reports, social watch, collective actions, shifts and jobs:
the pages' forms and services (same rules, same journal), field-named errors, the same
roles as the pages, pagination and filters."""

import datetime

import pytest
from django.utils import timezone

from lien.core.models import AuditEvent, Role
from lien.followup.models import (
    CollectiveAction,
    Observation,
    Referral,
    Situation,
    TechnicalReport,
)
from lien.logbook.models import Shift
from tests.exchange.conftest import CALLBACK, CONTACT, NAMES, assert_error_shape
from tests.factories import make_membership
from tests.jobs.factories import make_jobs

pytestmark = pytest.mark.django_db


def fields(response) -> set:
    return {e["field"] for e in assert_error_shape(response)["errors"]}


def journaled(obj, action="create") -> bool:
    return AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).exists()


# --- situations -------------------------------------------------------------------------------


def situation_body(world, **extra) -> dict:
    return {
        "service": str(world["service_a"].pk),
        "kind": "deferred",
        "initials": "M. D.",
        "domain": "habitat-social",
        "category": "nuisances-sonores",
        "commune": "59512",
        "qpv": "QX05901D",
        "summary": "Bruit la nuit au 3e étage",
        "parties": ["voisin du 2e", "bailleur"],
        **extra,
    }


def test_open_and_close_a_situation(world, api):
    client = api(world["m"]["mediator"], "write")
    response = client.post("/api/suivis/", situation_body(world))
    assert response.status_code == 201, response.content
    created = response.json()
    situation = Situation.objects.get(pk=created["id"])
    assert created["reference"].startswith("S-") and created["is_nominative"] is False
    assert [p.label for p in situation.parties.order_by("pk")] == ["voisin du 2e", "bailleur"]
    assert journaled(situation)
    closing = client.post(f"/api/suivis/{situation.pk}/cloture/", {"outcome": "apaise-resolu"})
    assert closing.status_code == 200, closing.content
    assert closing.json()["status"] == "closed"
    assert closing.json()["closing_outcome"] == "apaise-resolu"
    # Already closed: the service's refusal, as a 422.
    again = client.post(f"/api/suivis/{situation.pk}/cloture/", {"outcome": "apaise-resolu"})
    assert "déjà clos" in assert_error_shape(again, 422)["errors"][0]["message"]


def test_situation_rules_name_the_field(world, api):
    client = api(world["m"]["coordinator"], "write")
    cases = {
        "domain": {"domain": "inconnu"},
        "commune": {"commune": "00000"},
        "qpv": {"commune": "59350"},  # the QPV is in Roubaix, not Lille
        "summary": {"summary": "Appeler Jean Dupont au 06 12 34 56 78"},
        "kind": {"kind": "autre"},
        "names": {"names": NAMES},  # a nominative follow-up opens on the page only
    }
    for field, change in cases.items():
        response = client.post("/api/suivis/", situation_body(world, **change))
        assert response.status_code == 422, (field, response.status_code)
        assert field in fields(response), (field, response.json())
    assert Situation.objects.filter(summary__startswith="Appeler").count() == 0
    # The screened text is kept once confirmed, as on the page.
    confirmed = situation_body(
        world, summary="Appeler Jean Dupont au 06 12 34 56 78", text_confirmed=True
    )
    assert client.post("/api/suivis/", confirmed).status_code == 201


def test_withdrawing_consent_erases_names(world, api):
    situation = world["followup_a"]["situation"]
    response = api(world["m"]["coordinator"], "write").post(
        f"/api/suivis/{situation.pk}/retrait-consentement/"
    )
    assert response.status_code == 200
    assert NAMES not in response.content.decode() and CONTACT not in response.content.decode()
    situation.refresh_from_db()
    assert (situation.names, situation.contact, situation.is_nominative) == ("", "", False)


def test_next_steps_and_agreements_follow_the_situation(world, api):
    from lien.followup.models import Agreement, NextStep
    from lien.notifications.models import Notification

    situation = world["followup_a"]["situation"]
    base = f"/api/suivis/{situation.pk}"
    client = api(world["m"]["mediator"], "write")
    colleague = world["m"]["mediator2"].user
    body = {"text": "Rappeler le bailleur", "due_on": "2026-01-15", "assignee": colleague.pk}
    step = client.post(f"{base}/etapes/", body)
    assert step.status_code == 201, step.content
    assert step.json()["assignee_id"] == colleague.pk and step.json()["done_on"] is None
    stored = NextStep.objects.get(uid=step.json()["id"])
    assert journaled(stored)
    assert Notification.objects.filter(recipient=colleague, kind="next_step").exists()
    # The page's rules, each naming its field.
    outsider = world["m"]["mediator_b"].user.pk
    cases = {
        "assignee": {"text": "Étape", "due_on": "2026-01-15", "assignee": outsider},
        "text": {"text": "Appeler Jean Dupont au 06 12 34 56 78", "due_on": "2026-01-15",
                 "assignee": colleague.pk},
        "due_on": {"text": "Étape", "due_on": "15/01/2026", "assignee": colleague.pk},
    }  # fmt: skip
    for field, body in cases.items():
        response = client.post(f"{base}/etapes/", body)
        assert response.status_code == 422 and field in fields(response), (field, response.json())
    done = client.post(f"{base}/etapes/{stored.uid}/faite/")
    assert done.status_code == 200 and done.json()["done_on"] == timezone.localdate().isoformat()
    again = client.post(f"{base}/etapes/{stored.uid}/faite/")
    assert "déjà faite" in assert_error_shape(again, 422)["errors"][0]["message"]
    listing = client.get(f"{base}/etapes/").json()
    assert str(stored.uid) in {s["id"] for s in listing}

    agreement = client.post(f"{base}/accords/", {"text": "Pas de bruit après 22 h",
                                                 "agreed_on": "2026-01-10",
                                                 "review_on": "2026-02-10"})  # fmt: skip
    assert agreement.status_code == 201, agreement.content
    assert agreement.json()["held"] is None
    backwards = client.post(f"{base}/accords/", {"text": "Accord", "agreed_on": "2026-02-10",
                                                 "review_on": "2026-01-10"})  # fmt: skip
    assert "review_on" in fields(backwards)
    uid = agreement.json()["id"]
    reviewed = client.post(f"{base}/accords/{uid}/bilan/", {"held": True})
    assert reviewed.status_code == 200 and reviewed.json()["held"] is True
    assert Agreement.objects.get(uid=uid).reviewed_on == timezone.localdate()
    assert journaled(Agreement.objects.get(uid=uid), "update")
    assert uid in {a["id"] for a in client.get(f"{base}/accords/").json()}
    # A step of another situation is not reached through this one.
    other = world["followup_b"]["situation"]
    assert client.get(f"/api/suivis/{other.pk}/etapes/").status_code == 404
    # Read tokens read; funders and partners have no follow-up at all.
    assert api(world["m"]["coordinator"]).get(f"{base}/accords/").status_code == 200
    assert api(world["m"]["coordinator"]).post(f"{base}/accords/", {}).status_code == 403
    assert api(world["m"]["funder"]).get(f"{base}/etapes/").status_code == 403


def test_a_meeting_of_the_situation_is_logged_as_an_intervention(world, api):
    from lien.followup.models import SituationMeeting

    situation = world["followup_a"]["situation"]
    base = f"/api/suivis/{situation.pk}/rencontres/"
    client = api(world["m"]["mediator"], "write")
    when = (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    body = {"started_at": when, "duration_minutes": 45, "form": "round_table",
            "people_met": 4, "outcome": "accord-obtenu", "note": "Table ronde"}  # fmt: skip
    response = client.post(base, body)
    assert response.status_code == 201, response.content
    logged = response.json()
    assert (logged["commune"], logged["domain"]) == (situation.commune.code, situation.domain.code)
    assert (logged["form"], logged["people_met"]) == ("round_table", 4)
    assert logged["outcome"] == "accord-obtenu"
    assert SituationMeeting.objects.filter(situation=situation,
                                           intervention_id=logged["id"]).exists()  # fmt: skip
    assert [m["id"] for m in client.get(base).json()] == [logged["id"]]
    # The entry page's rules, each naming its field; a flagged note needs the confirmation.
    cases = {
        "outcome": {**body, "outcome": "inconnue"},
        "duration_minutes": {**body, "duration_minutes": 0},
        "started_at": {**body, "started_at": "05/01/2026"},
        "note": {**body, "note": "Mme Durand malade, 06 12 34 56 78"},
    }
    for field, bad in cases.items():
        answer = client.post(base, bad)
        assert answer.status_code == 422 and field in fields(answer), (field, answer.json())
    assert client.post(base, {**cases["note"], "text_confirmed": True}).status_code == 201
    # A closed follow-up takes no more meeting.
    client.post(f"/api/suivis/{situation.pk}/cloture/", {"outcome": "apaise-resolu"})
    closed = client.post(base, body)
    assert "clos" in assert_error_shape(closed, 422)["errors"][0]["message"]


# --- referrals --------------------------------------------------------------------------------


def test_a_referral_is_sent_then_answered_by_its_partner(world, api):
    situation = world["followup_a"]["situation"]
    body = {
        "service": str(world["service_a"].pk),
        "partner": str(world["partner_org"].pk),
        "theme": "emploi",
        "commune": "59512",
        "person": "M. D.",
        "request": "Inscription à une formation",
        "situation": str(situation.pk),
    }
    response = api(world["m"]["mediator"], "write").post("/api/orientations/", body)
    assert response.status_code == 201, response.content
    referral = Referral.objects.get(pk=response.json()["id"])
    assert referral.situation == situation and referral.status == "sent"
    assert referral.callback == ""  # no contact detail goes through the API
    partner = api(world["m"]["partner"], "write")
    path = f"/api/orientations/{referral.pk}/reponse/"
    # Refusal needs its reason; "done" is not possible before acceptance.
    assert "refusal_reason" in fields(partner.post(path, {"status": "refused"}))
    assert "status" in fields(partner.post(path, {"status": "done", "result": "solved"}))
    accepted = partner.post(path, {"status": "accepted"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert CALLBACK not in accepted.content.decode()
    done = partner.post(path, {"status": "done", "result": "solved"})
    assert done.json()["status"] == "done" and done.json()["result"] == "solved"
    # The structure does not answer its own referral; an unknown field is refused.
    structure = api(world["m"]["coordinator"], "write")
    assert_error_shape(structure.post(path, {"status": "accepted"}), 403)
    assert "extra" in fields(partner.post(path, {"status": "accepted", "extra": 1}))


# --- dysfunction reports ----------------------------------------------------------------------


def report_body(world, **extra) -> dict:
    return {
        "service": str(world["service_a"].pk),
        "category": "lighting",
        "commune": "59512",
        "qpv": "QX05901D",
        "place_type": "hall-immeuble",
        "address": "12 rue de Lille, hall B",
        "latitude": 50.69,
        "longitude": 3.18,
        "description": "Éclairage du hall en panne",
        **extra,
    }


def test_report_lifecycle_duplicates_routing_and_answer(world, api):
    mediator = api(world["m"]["mediator"], "write")
    first = mediator.post("/api/signalements/", report_body(world))
    assert first.status_code == 201, first.content
    report = TechnicalReport.objects.get(pk=first.json()["id"])
    assert first.json()["status"] == "unrouted" and first.json()["has_photo"] is False
    assert journaled(report)
    # The same lamp again: the page's duplicate check, confirmed by not_duplicate.
    duplicate = mediator.post("/api/signalements/", report_body(world))
    assert "not_duplicate" in fields(duplicate)
    assert (
        mediator.post("/api/signalements/", report_body(world, not_duplicate=True)).status_code
        == 201
    )
    # Only the coordination routes it; only the body it is routed to answers.
    route = f"/api/signalements/{report.pk}/transmission/"
    body = {"organisation": str(world["funder_a"].pk)}
    assert_error_shape(mediator.post(route, body), 403)
    routed = api(world["m"]["coordinator"], "write").post(route, body)
    assert routed.status_code == 200 and routed.json()["routed_to"]["id"] == str(
        world["funder_a"].pk
    )
    funder = api(world["m"]["funder"], "write")
    answer = f"/api/signalements/{report.pk}/reponse/"
    assert "response" in fields(funder.post(answer, {"status": "rejected"}))
    assert funder.post(answer, {"status": "acknowledged"}).json()["status"] == "acknowledged"
    assert "status" in fields(funder.post(answer, {"status": "acknowledged"}))
    assert funder.post(answer, {"status": "resolved"}).json()["status"] == "resolved"
    # The funder lists what it was sent, nothing else.
    listed = api(world["m"]["funder"]).get("/api/signalements/").json()
    assert [r["id"] for r in listed["results"]] == [str(report.pk)]
    assert_error_shape(api(world["m"]["steering"]).get("/api/signalements/"), 403)


def test_report_errors_name_the_field(world, api):
    client = api(world["m"]["mediator"], "write")
    cases = {
        "category": {"category": "volcan"},
        "place_type": {"place_type": "inconnu"},
        "longitude": {"longitude": None},  # a point needs both coordinates
        "latitude": {"latitude": 91},
        "service": {"service": str(world["service_b"].pk)},
        "description": {"description": ""},
    }
    for field, change in cases.items():
        response = client.post("/api/signalements/", report_body(world, **change))
        assert field in fields(response), (field, response.json())


# --- social watch -----------------------------------------------------------------------------


def test_observations_are_written_then_shared(world, api):
    body = {
        "service": str(world["service_a"].pk),
        "sector": "QX05901D",
        "observed_on": timezone.localdate().isoformat(),
        "level": "vigilance",
        "categories": ["regroupements"],
        "text": "Regroupements en soirée près du parc",
        "shared_with": [str(world["funder_a"].pk)],
    }
    client = api(world["m"]["mediator"], "write")
    response = client.post("/api/veille-sociale/", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["sector"]["code"] == "QX05901D" and created["categories"] == ["regroupements"]
    assert journaled(Observation.objects.get(pk=created["id"]))
    assert "sector" in fields(client.post("/api/veille-sociale/", {**body, "sector": "62041"}))
    assert "categories" in fields(
        client.post("/api/veille-sociale/", {**body, "categories": ["x"]})
    )
    funder = api(world["m"]["funder"]).get("/api/veille-sociale/", {"level": "vigilance"})
    assert [o["id"] for o in funder.json()["results"]] == [created["id"]]
    assert api(world["m"]["partner"]).get("/api/veille-sociale/").json()["count"] == 0


# --- collective actions -----------------------------------------------------------------------


def test_collective_actions_are_created_corrected_and_filtered(world, api):
    client = api(world["m"]["mediator"], "write")
    body = {
        "service": str(world["service_a"].pk),
        "kind": "awareness",
        "title": "Atelier voisinage",
        "held_on": "2026-03-12",
        "duration_minutes": 90,
        "commune": "59512",
        "residents": 12,
        "partners": [str(world["partner_org"].pk)],
    }
    assert "residents" in fields(client.post("/api/actions-collectives/", {**body, "residents": 0}))
    response = client.post("/api/actions-collectives/", body)
    assert response.status_code == 201, response.content
    action = CollectiveAction.objects.get(pk=response.json()["id"])
    path = f"/api/actions-collectives/{action.pk}/"
    patched = client.patch(path, {"title": "Atelier voisinage (2)", "young_people": 4})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["title"], patched.json()["young_people"]) == ("Atelier voisinage (2)", 4)
    assert patched.json()["residents"] == 12 and len(patched.json()["partners"]) == 1
    assert journaled(action, "update")
    assert "duration_minutes" in fields(client.patch(path, {"duration_minutes": 0}))
    listing = client.get("/api/actions-collectives/", {"start": "2026-03-01", "end": "2026-03-31"})
    assert [a["id"] for a in listing.json()["results"]] == [str(action.pk)]
    assert client.get("/api/actions-collectives/", {"start": "2026-04-01"}).json()["count"] == 0
    assert_error_shape(api(world["m"]["funder"]).get("/api/actions-collectives/"), 403)


# --- shifts -----------------------------------------------------------------------------------


def test_shifts_are_planned_by_the_coordination(world, api):
    mediator = world["m"]["mediator"]
    start = (timezone.localtime() + datetime.timedelta(days=1)).replace(hour=14, minute=0)
    body = {
        "kind": "patrol",
        "service": str(world["service_a"].pk),
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "commune": "59512",
        "place_type": "espace-public",
        "mediators": [mediator.user_id],
    }
    assert_error_shape(api(mediator, "write").post("/api/tournees/", body), 403)
    coordinator = api(world["m"]["coordinator"], "write")
    response = coordinator.post("/api/tournees/", body)
    assert response.status_code == 201, response.content
    shift = Shift.objects.get(pk=response.json()["id"])
    assert response.json()["mediators"] == [mediator.user_id]
    path = f"/api/tournees/{shift.pk}/"
    assert "ends_at" in fields(coordinator.patch(path, {"ends_at": body["starts_at"]}))
    patched = coordinator.patch(path, {"note": "Passer par la médiathèque"})
    assert patched.json()["note"] == "Passer par la médiathèque"
    kept = datetime.datetime.fromisoformat(patched.json()["starts_at"])
    assert kept == start.replace(second=0, microsecond=0)
    # A mediator sees the shifts they are on, as on the page.
    assert api(mediator).get("/api/tournees/").json()["count"] == 1
    assert api(world["m"]["mediator2"]).get("/api/tournees/").json()["count"] == 0


# --- jobs -------------------------------------------------------------------------------------


def test_jobs_are_read_by_the_coordination_without_names(world, api):
    records = make_jobs(world["service_a"], funder=world["funder_a"])
    make_jobs(world["service_b"], funder=world["funder_a"])  # another structure's
    client = api(world["m"]["coordinator"])
    posts = client.get("/api/emplois/postes/").json()
    assert [p["id"] for p in posts["results"]] == [str(records["post"].pk)]
    detail = client.get(f"/api/emplois/postes/{records['post'].pk}/")
    assert detail.status_code == 200
    contracts = client.get("/api/emplois/contrats/")
    assert [c["id"] for c in contracts.json()["results"]] == [str(records["contract"].pk)]
    fundings = client.get("/api/emplois/financements/").json()["results"]
    assert [f["id"] for f in fundings] == [str(records["funding"].pk)]
    trainings = client.get("/api/emplois/formations/").json()["results"]
    assert [t["id"] for t in trainings] == [str(records["training"].pk)]
    person = records["mediator"]
    for path in ("/api/emplois/contrats/", "/api/emplois/formations/"):
        text = client.get(path).content.decode()
        assert person.last_name not in text and person.first_name not in text
    for key in ("mediator", "funder", "partner", "steering"):
        assert_error_shape(api(world["m"][key]).get("/api/emplois/postes/"), 403)
    assert "end" in fields(
        client.get("/api/emplois/contrats/", {"start": "2026-05-01", "end": "2026-01-01"})
    )


# --- pagination, filters, unknown addresses -----------------------------------------------------


def test_pagination_and_filters_of_the_new_lists(world, api):
    client = api(world["m"]["mediator"], "write")
    for day in range(1, 4):
        body = report_body(world, not_duplicate=True, description=f"Panne {day}")
        assert client.post("/api/signalements/", body).status_code == 201
    page = client.get("/api/signalements/", {"page_size": 2, "page": 2}).json()
    assert (page["count"], page["pages"], len(page["results"])) == (3, 2, 1)
    assert client.get("/api/signalements/", {"commune": "62041"}).json()["count"] == 0
    assert client.get("/api/signalements/", {"category": "roads"}).json()["count"] == 0
    assert "page_size" in fields(client.get("/api/signalements/", {"page_size": 501}))
    assert "status" in fields(client.get("/api/signalements/", {"status": "lost"}))


def test_unknown_addresses_and_methods_answer_json(world, api):
    client = api(world["m"]["mediator"])
    missing = assert_error_shape(client.get("/api/nulle-part/"), 404)
    assert "/api/nulle-part/" in missing["detail"]
    no_slash = assert_error_shape(client.get("/api/signalements"), 404)
    assert "/api/signalements/" in no_slash["detail"]
    assert_error_shape(client.post("/api/inconnu/x", {}), 404)
    # The tokens page (HTML, under /api/) keeps Django's slash redirect.
    assert client.client.get("/api/jetons").headers["Location"] == "/api/jetons/"
    wrong = client.client.delete("/api/signalements/", headers=client.headers)
    assert_error_shape(wrong, 405)
    assert "GET" in wrong["Allow"]


def test_roles_without_a_structure_never_write_follow_up(world, api):
    funder = api(world["m"]["funder"], "write")
    for path in ("/api/suivis/", "/api/orientations/", "/api/signalements/"):
        assert funder.post(path, {}).status_code in (403, 422)
    # A well-formed body: refused by role, never written.
    assert_error_shape(funder.post("/api/suivis/", situation_body(world)), 403)
    assert not Situation.objects.filter(summary="Bruit la nuit au 3e étage").exists()
    make_membership(Role.MEDIATOR, structure=world["b"])  # B has its own team, unaffected


def test_the_new_lists_cost_the_same_queries_for_one_record_or_many(world, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.test_permission_matrix import make_shift

    client = api(world["m"]["coordinator"])
    paths = [
        "/api/signalements/",
        "/api/veille-sociale/",
        "/api/actions-collectives/",
        "/api/tournees/",
        "/api/emplois/postes/",
        "/api/emplois/contrats/",
        "/api/emplois/financements/",
        "/api/emplois/formations/",
    ]

    def counts():
        found = {}
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            found[path] = len(queries)
        return found

    service = world["service_a"]
    author = world["m"]["coordinator"].user

    def add_records():
        common = {"structure": world["a"], "service": service, "created_by": author}
        TechnicalReport.objects.create(
            **common, category="lighting", commune=world["a"].commune, description="Panne",
            routed_to=world["funder_a"], status="sent",
        )  # fmt: skip
        observation = Observation.objects.create(
            **common, sector=world["a"].commune, level="info", text="Calme"
        )
        observation.shared_with.add(world["funder_a"])
        action = CollectiveAction.objects.create(
            **common, kind="awareness", title="Atelier", held_on=timezone.localdate(),
            commune=world["a"].commune, residents=3,
        )  # fmt: skip
        action.partners.add(world["partner_org"])
        make_shift(service).mediators.add(author)
        make_jobs(service, funder=world["funder_a"])

    add_records()
    counts()  # the token's last use is recorded once a minute: not in the figures
    one = counts()
    for _ in range(3):
        add_records()
    assert counts() == one
