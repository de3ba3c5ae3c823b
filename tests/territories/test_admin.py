import pytest
from django.urls import reverse

from lien.core.models import AuditEvent
from lien.territories.models import Level, Territory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user, backend="lien.core.auth.EmailBackend")
    return client


def test_changelist_filters_and_searches_without_accents(admin_client, territories):
    url = reverse("admin:territories_territory_changelist")
    response = admin_client.get(url, {"level": Level.COMMUNE, "q": "roubaix"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [territories["roubaix"]]
    response = admin_client.get(url, {"q": "demonstration"})
    assert list(response.context["cl"].result_list) == [territories["qpv"]]


def test_closure_table_is_not_editable(admin_client):
    assert admin_client.get("/admin/territories/territoryancestor/").status_code == 404


def test_an_edit_in_the_admin_rebuilds_the_closure(admin_client, territories):
    arras, mel = territories["arras"], territories["mel"]
    assert not Territory.objects.within(mel).filter(pk=arras.pk).exists()
    response = admin_client.post(
        reverse("admin:territories_territory_change", args=[arras.pk]),
        {
            "level": Level.COMMUNE,
            "code": arras.code,
            "name": "Arras",
            "parent": mel.pk,
            "secondary_parents": str(territories["pdc"].pk),
            "population": "41000",
            "geometry": "null",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Territory.objects.within(mel).filter(pk=arras.pk).exists()
    assert Territory.objects.within(territories["pdc"]).filter(pk=arras.pk).exists()
    # The commune keeps to its own département, not the MEL's.
    assert not Territory.objects.within(territories["nord"]).filter(pk=arras.pk).exists()
    arras.refresh_from_db()
    assert arras.path == "/32/59/200093201/62041/"
    assert AuditEvent.objects.filter(action="update", object_id=str(arras.pk)).exists()


def test_a_new_qpv_in_the_admin_is_within_its_communes(admin_client, territories):
    response = admin_client.post(
        reverse("admin:territories_territory_add"),
        {
            "level": Level.QPV,
            "code": "QX05902D",
            "name": "Autre quartier (démonstration)",
            "parent": territories["lille"].pk,
            "secondary_parents": str(territories["roubaix"].pk),
            "is_demo": "on",
            "geometry": "null",
        },
    )
    assert response.status_code == 302
    qpv = Territory.objects.get(code="QX05902D")
    assert Territory.objects.within(territories["roubaix"]).filter(pk=qpv.pk).exists()
    assert qpv.search_name == "autre quartier demonstration"
