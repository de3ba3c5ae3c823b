"""Trainings and practice-review sessions: the structure's own, written by its coordination."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from lien.jobs import services
from lien.jobs.models import PracticeReview, Training

D = datetime.date


def training_data(**overrides):
    data = {
        "kind": "vae",
        "title": "Titre professionnel de médiateur social",
        "body": "AFPA",
        "hours": Decimal("24"),
        "starts_on": D(2026, 1, 5),
        "ends_on": D(2026, 3, 31),
        "qualification_obtained": "TP médiateur social accès aux droits et services",
    }
    data.update(overrides)
    return data


def test_a_training_is_recorded_for_a_person_of_the_structure(jobs):
    training = services.training_create(
        actor=jobs["coordinator"], mediator=jobs["a"]["mediator"], data=training_data()
    )
    assert training.get_kind_display() == "validation des acquis de l'expérience (VAE)"
    with pytest.raises(ValidationError) as exc:
        services.training_update(
            actor=jobs["coordinator"], training=training, data={"ends_on": D(2025, 12, 31)}
        )
    assert "doit suivre son début" in " ".join(exc.value.messages)


@pytest.mark.parametrize("actor", ["mediator", "coordinator_b", "city_member", "steering"])
def test_only_the_coordination_records_trainings_and_reviews(jobs, actor):
    with pytest.raises(PermissionDenied):
        services.training_create(
            actor=jobs[actor], mediator=jobs["a"]["mediator"], data=training_data()
        )
    with pytest.raises(PermissionDenied):
        services.practice_review_create(
            actor=jobs[actor],
            structure=jobs["structure"],
            data={"held_on": D(2026, 2, 1), "facilitator": "X"},
        )


def test_a_review_gathers_the_structures_own_people(jobs):
    review = services.practice_review_create(
        actor=jobs["coordinator"],
        structure=jobs["structure"],
        data={"held_on": D(2026, 2, 1), "facilitator": "Psychologue", "duration_minutes": 90},
        attendees=[jobs["a"]["mediator"]],
    )
    assert list(review.attendees.all()) == [jobs["a"]["mediator"]]
    with pytest.raises(ValidationError) as exc:
        services.practice_review_update(
            actor=jobs["coordinator"], review=review, data={},
            attendees=[jobs["b"]["mediator"]],
        )  # fmt: skip
    assert "attendees" in exc.value.message_dict


def test_trainings_are_seen_by_the_structure_only(jobs, login):
    assert set(Training.objects.visible_to(jobs["coordinator"])) == {jobs["a"]["training"]}
    assert not Training.objects.visible_to(jobs["city_member"]).exists()
    assert not PracticeReview.objects.visible_to(jobs["steering"]).exists()
    client = login(jobs["coordinator"])
    page = client.get(reverse("jobs:training_list"))
    assert page.status_code == 200
    assert jobs["a"]["mediator"].full_name in page.content.decode()
    assert jobs["b"]["mediator"].last_name not in page.content.decode()
    for name in ("training_edit", "practice_review_edit"):
        url = reverse(f"jobs:{name}", kwargs={"pk": jobs["b"][name.removesuffix("_edit")].pk})
        assert client.get(url).status_code == 404
    assert login(jobs["city_member"]).get(reverse("jobs:training_list")).status_code == 403


def test_a_training_moves_only_to_a_person_of_the_same_structure(jobs):
    training = jobs["a"]["training"]
    with pytest.raises(ValidationError) as exc:
        services.training_update(
            actor=jobs["coordinator"], training=training, data={"mediator": jobs["b"]["mediator"]}
        )
    assert "mediator" in exc.value.message_dict
