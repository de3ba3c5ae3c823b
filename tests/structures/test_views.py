import pytest

from lien.core.models import AuditEvent, Role
from lien.structures.models import Service
from tests.factories import DomainFactory, ProjectStageFactory, ServiceFactory, make_membership

pytestmark = pytest.mark.django_db


def test_my_structure_redirects_to_own_structure(territories, login):
    coordinator = make_membership(Role.COORDINATOR)
    response = login(coordinator).get("/ma-structure/")
    assert response.status_code == 302
    assert str(coordinator.structure.pk) in response.headers["Location"]


def test_structure_page_lists_services_and_offers_edit_to_coordination(territories, login):
    service = ServiceFactory(name="Médiation de proximité")
    coordinator = make_membership(Role.COORDINATOR, structure=service.structure)
    mediator = make_membership(Role.MEDIATOR, structure=service.structure)
    page = login(coordinator).get(f"/structures/{service.structure.pk}/")
    assert page.status_code == 200
    assert "Médiation de proximité" in page.content.decode()
    assert "Modifier la structure" in page.content.decode()
    page = login(mediator).get(f"/structures/{service.structure.pk}/")
    assert "Modifier la structure" not in page.content.decode()
    assert login(mediator).get(f"/structures/{service.structure.pk}/modifier/").status_code == 403


def test_editing_the_structure_with_bad_input_names_the_field(territories, login):
    coordinator = make_membership(Role.COORDINATOR)
    client = login(coordinator)
    response = client.post(
        f"/structures/{coordinator.structure.pk}/modifier/",
        {"name": "", "afnor_status": "certified", "correction_window_days": "-3"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ce champ est obligatoire" in body
    assert "date de certification" in body or "correction" in body
    assert not AuditEvent.objects.filter(action="update").exists()


def test_creating_a_service_through_the_page(territories, login):
    coordinator = make_membership(Role.COORDINATOR)
    domain, stage = DomainFactory(), ProjectStageFactory()
    client = login(coordinator)
    url = f"/structures/{coordinator.structure.pk}/dispositifs/nouveau/"
    form = {
        "name": "Médiation de nuit",
        "domains": [domain.pk],
        "territories": "59512, QX05901D",
        "stage": stage.pk,
        "starts_on": "2026-01-01",
        "is_active": "on",
    }
    bad = client.post(url, {**form, "territories": "59512, 99999, QZ"})
    assert bad.status_code == 200
    assert "99999, QZ" in bad.content.decode()
    assert Service.objects.count() == 0

    bad_dates = client.post(url, {**form, "ends_on": "2025-01-01"})
    assert "La date de fin doit suivre la date de début" in bad_dates.content.decode()

    good = client.post(url, form)
    assert good.status_code == 302
    service = Service.objects.get()
    assert {t.code for t in service.territories.all()} == {"59512", "QX05901D"}
    assert service.structure == coordinator.structure


def test_structure_list_query_count_does_not_grow(
    territories, login, django_assert_max_num_queries
):
    admin = make_membership(Role.ADMIN)
    for _ in range(5):
        ServiceFactory()
    client = login(admin)
    with django_assert_max_num_queries(8):
        assert client.get("/structures/").status_code == 200
