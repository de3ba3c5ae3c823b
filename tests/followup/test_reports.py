"""Dysfunction reports: routing by the structure's rules, duplicates nearby, photos checked
and stripped, the body's queue and its status machine, the median time to fix; social
watch shared with chosen partners; collective actions."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from lien.followup import services
from lien.followup.models import (
    REPORT_TRANSITIONS,
    Observation,
    ReportStatus,
    TechnicalReport,
)
from lien.followup.photos import clean_photo
from lien.followup.routing import likely_duplicates, route
from lien.indicators import engine
from lien.notifications.models import Notification
from lien.referentiel.models import PlaceType
from lien.territories.models import Territory

pytestmark = pytest.mark.django_db


def t(code, level="commune"):
    return Territory.objects.get(level=level, code=code)


def rule(team, organisation, territory, category="", place_type=None):
    return services.routing_rule_create(
        actor=team["coordinator"],
        data={"category": category, "territory": territory, "place_type": place_type,
              "organisation": organisation},
    )  # fmt: skip


def report(team, **overrides):
    data = {
        "service": team["service"],
        "category": "lighting",
        "commune": t("59512"),
        "qpv": None,
        "place_type": None,
        "address": "",
        "latitude": None,
        "longitude": None,
        "description": "Trois lampadaires éteints le long de l'allée.",
    }
    data.update(overrides)
    photo = data.pop("photo", None)
    return services.report_create(actor=team["mediator"], data=data, photo=photo)


# --- routing --------------------------------------------------------------------------------


def test_the_most_specific_rule_wins(team):
    hall = PlaceType.objects.get(code="hall-immeuble")
    rule(team, team["city"], t("200093201", "epci"))  # MEL, any category
    rule(team, team["landlord"], t("QX05901D", "qpv"), place_type=hall)  # its buildings
    transport = rule(team, team["caf"], t("59512"), category="roads")  # (a body for roads)
    where = {"structure": team["structure"], "commune": t("59512")}
    # Lighting in the street of Roubaix: the city (the EPCI-wide rule).
    assert route(**where, category="lighting") == team["city"]
    # Lighting in a building hall of the QPV: the landlord (type of place beats category).
    assert (
        route(**where, category="lighting", qpv=t("QX05901D", "qpv"), place_type=hall)
        == (team["landlord"])
    )
    # Roads in Roubaix: the category-specific rule beats the wider any-category one.
    assert route(**where, category="roads") == team["caf"]
    # Outside every rule's territory (Arras): nobody, the coordination will choose.
    assert route(structure=team["structure"], commune=t("62041"), category="lighting") is None
    # A rule withdrawn no longer routes; another structure's rules never apply.
    services.routing_rule_deactivate(actor=team["coordinator"], rule=transport)
    assert route(**where, category="roads") == team["city"]
    assert route(structure=team["structure_b"], commune=t("59512"), category="lighting") is None


def test_a_routed_report_reaches_the_body_which_answers(team, login):
    rule(team, team["city"], t("59512"))
    created = report(team)
    assert created.status == ReportStatus.SENT and created.routed_to == team["city"]
    assert Notification.objects.filter(recipient=team["city_member"].user).count() == 1
    inbox = login(team["city_member"]).get(reverse("followup:report_inbox"))
    assert "Éclairage" in inbox.content.decode()
    assert (
        login(team["landlord_member"])
        .get(reverse("followup:report_detail", args=[created.pk]))
        .status_code
        == 404
    )
    client = login(team["city_member"])
    url = reverse("followup:report_detail", args=[created.pk])
    response = client.post(url, {"status": ReportStatus.REJECTED, "response": ""})
    assert "Expliquez pourquoi" in response.content.decode()
    client.post(url, {"status": ReportStatus.ACKNOWLEDGED, "response": "Équipe prévenue"})
    client.post(url, {"status": ReportStatus.RESOLVED, "response": "Ampoules changées"})
    created.refresh_from_db()
    assert created.status == ReportStatus.RESOLVED and created.response == "Ampoules changées"
    notes = Notification.objects.filter(recipient=team["mediator"].user, kind="report_answered")
    assert notes.count() == 2
    page = login(team["mediator"]).get(url).content.decode()
    assert "Résolu" in page and "Ampoules changées" in page


ALL = list(ReportStatus)


@pytest.mark.parametrize(("start", "target"), [(a, b) for a in ALL for b in ALL if a != b])
def test_every_report_transition_is_allowed_or_refused(team, start, target):
    rule(team, team["city"], t("59512"))
    created = report(team)
    TechnicalReport.objects.filter(pk=created.pk).update(status=start)
    created.refresh_from_db()
    if target in (ReportStatus.UNROUTED, ReportStatus.SENT):
        return  # reached by creation and routing, not by the body's answer
    if target in REPORT_TRANSITIONS[start]:
        services.report_answer(actor=team["city_member"], report=created, to=target, response="ok")
        created.refresh_from_db()
        assert created.status == target
    else:
        with pytest.raises(ValidationError):
            services.report_answer(
                actor=team["city_member"], report=created, to=target, response="ok"
            )


def test_only_the_body_answers_and_the_coordination_routes_what_no_rule_covers(team, login):
    created = report(team)
    assert created.status == ReportStatus.UNROUTED and created.routed_to is None
    with pytest.raises(PermissionDenied):
        services.report_answer(actor=team["city_member"], report=created, to="acknowledged")
    with pytest.raises(PermissionDenied):
        services.report_route(actor=team["mediator"], report=created, organisation=team["city"])
    login(team["coordinator"]).post(
        reverse("followup:report_route", args=[created.pk]), {"organisation": team["city"].pk}
    )
    created.refresh_from_db()
    assert created.status == ReportStatus.SENT and created.routed_to == team["city"]
    with pytest.raises(PermissionDenied):
        services.report_answer(actor=team["landlord_member"], report=created, to="acknowledged")


def test_median_time_to_fix(team):
    rule(team, team["city"], t("59512"))
    now = timezone.now()
    for days in (1, 3, 10):
        created = report(team)
        services.report_answer(actor=team["city_member"], report=created, to="resolved")
        TechnicalReport.objects.filter(pk=created.pk).update(
            reported_at=now - datetime.timedelta(days=days), closed_at=now
        )
    report(team)  # still open: not in the median
    month = timezone.localdate().replace(day=1)
    start = engine.add_months(month, -1)
    perimeter = engine.Perimeter(start=start, end=month, structure_ids=(str(team["structure"].pk),))
    assert engine.measure_value("technical_reports", perimeter) == 4
    assert engine.measure_value("technical_reports_fixed", perimeter) == 3
    assert engine.measure_value("median_fix_days", perimeter) == Decimal("3.0")


# --- duplicates -----------------------------------------------------------------------------


def test_likely_duplicates_nearby_are_suggested_before_saving(team, login):
    first = report(team, latitude=Decimal("50.69000"), longitude=Decimal("3.18000"))
    report(team, category="waste")  # another category: not a duplicate
    near = {"structure": team["structure"], "category": "lighting", "commune": t("59512")}
    # 50 m away: a duplicate; 1 km away: not.
    assert likely_duplicates(
        **near, latitude=Decimal("50.69045"), longitude=Decimal("3.18000")
    ) == [first]
    assert (
        likely_duplicates(**near, latitude=Decimal("50.69900"), longitude=Decimal("3.18000")) == []
    )
    client = login(team["mediator"])
    data = {
        "service": team["service"].pk, "category": "lighting", "commune": "59512", "qpv": "",
        "place_type": "", "address": "", "latitude": "50.69010", "longitude": "3.18010",
        "description": "Lampadaire éteint devant l'école.",
    }  # fmt: skip
    response = client.post(reverse("followup:report_create"), data)
    assert response.status_code == 200
    assert "Signalements semblables" in response.content.decode()
    assert TechnicalReport.objects.count() == 2
    response = client.post(reverse("followup:report_create"), {**data, "not_duplicate": "on"})
    assert response.status_code == 302
    assert TechnicalReport.objects.count() == 3


# --- photos ---------------------------------------------------------------------------------


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (3000, 1500), "orange")
    exif = Image.Exif()
    exif[0x010F] = "TelephoneDeTest"  # Make
    exif[0x0131] = "LogicielSecret"  # Software
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_is_stripped_of_metadata_and_resized(team, login):
    upload = SimpleUploadedFile("IMG_0001.jpg", jpeg_with_exif(), content_type="image/jpeg")
    clean = clean_photo(upload)
    data = clean.read()
    assert b"TelephoneDeTest" not in data and b"LogicielSecret" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and max(image.size) == 2000
        assert not image.getexif()
    rule(team, team["city"], t("59512"))
    upload = SimpleUploadedFile("IMG_0002.jpg", jpeg_with_exif(), content_type="image/jpeg")
    created = report(team, photo=clean_photo(upload))
    url = reverse("followup:report_photo", args=[created.pk])
    response = login(team["city_member"]).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"TelephoneDeTest" not in b"".join(response.streaming_content)
    assert "no-store" in response["Cache-Control"]
    for other in ("landlord_member", "mediator_b", "partner"):
        assert login(team[other]).get(url).status_code == 404
    assert (
        "/media/"
        not in login(team["mediator"])
        .get(reverse("followup:report_detail", args=[created.pk]))
        .content.decode()
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.jpg", b"", "pas une image"),
        ("photo.jpg", b"MZ\x90\x00 not a picture at all", "pas une image"),
        ("photo.jpg", b"<?php echo 1; ?>", "pas une image"),
        ("../../etc/passwd.jpg", b"root:x:0:0", "pas une image"),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused(name, content, message):
    with pytest.raises(ValidationError) as error:
        clean_photo(SimpleUploadedFile(name, content, content_type="image/jpeg"))
    assert message in str(error.value)


def test_other_image_types_and_heavy_files_are_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    with pytest.raises(ValidationError) as error:
        clean_photo(SimpleUploadedFile("a.gif", out.getvalue()))
    assert "GIF" in str(error.value)
    heavy = SimpleUploadedFile("big.jpg", b"0" * (8 * 1024 * 1024 + 1))
    with pytest.raises(ValidationError) as error:
        clean_photo(heavy)
    assert "8 Mo" in str(error.value)


def test_the_report_form_refuses_a_fake_photo_and_stores_nothing(team, login):
    response = login(team["mediator"]).post(
        reverse("followup:report_create"),
        {
            "service": team["service"].pk, "category": "waste", "commune": "59512",
            "description": "Dépôt sauvage.",
            "photo": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\nbroken", "image/png"),
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "pas une image lisible" in response.content.decode()
    assert not TechnicalReport.objects.exists()


# --- social watch and collective actions ------------------------------------------------------


def test_observations_are_shared_with_chosen_partners_only(team, login):
    client = login(team["mediator"])
    response = client.post(
        reverse("followup:observation_create"),
        {"service": team["service"].pk, "sector": t("QX05901D", "qpv").pk,
         "observed_on": timezone.localdate().isoformat(), "level": "vigilance",
         "text": "Regroupements tardifs en hausse près du city-stade.",
         "shared_with": [team["caf"].pk]},
    )  # fmt: skip
    assert response.status_code == 302
    observation = Observation.objects.get()
    assert Notification.objects.filter(recipient=team["partner"].user, kind="observation").exists()
    timeline = login(team["partner"]).get(
        reverse("followup:observation_list"), {"secteur": observation.sector_id}
    )
    assert "Regroupements tardifs" in timeline.content.decode()
    for other in ("other_partner", "mediator_b", "city_member"):
        page = login(team[other]).get(reverse("followup:observation_list"))
        assert "Regroupements tardifs" not in page.content.decode()


def test_collective_actions_count_participants_by_audience(team, login):
    response = login(team["mediator"]).post(
        reverse("followup:collective_action_create"),
        {"service": team["service"].pk, "kind": "awareness", "title": "Atelier voisinage",
         "held_on": timezone.localdate().isoformat(), "duration_minutes": 90,
         "commune": "59512", "qpv": "QX05901D", "residents": 12, "young_people": 5,
         "professionals": 2, "institutions": 1, "partners": [team["caf"].pk]},
    )  # fmt: skip
    assert response.status_code == 302
    month = timezone.localdate().replace(day=1)
    perimeter = engine.Perimeter(start=month, end=month, territory=t("QX05901D", "qpv"))
    assert engine.measure_value("collective_actions", perimeter) == 1
    assert engine.measure_value("participants", perimeter) == 20
    empty = login(team["mediator"]).post(
        reverse("followup:collective_action_create"),
        {"service": team["service"].pk, "kind": "awareness", "title": "Vide",
         "held_on": timezone.localdate().isoformat(), "duration_minutes": 90,
         "commune": "59512", "residents": 0, "young_people": 0, "professionals": 0,
         "institutions": 0},
    )  # fmt: skip
    assert "au moins un participant" in empty.content.decode()
