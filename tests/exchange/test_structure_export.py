"""The full export of a structure's data: a ZIP of every record type, the structure's rows
only, for its coordination only, journaled as an export and a nominative read."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from lien.core.models import AuditAction, AuditEvent, Role
from lien.exchange import exports
from lien.followup.models import Situation
from tests.factories import make_membership
from tests.test_permission_matrix import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LIEN_EXPORT_ROOT = tmp_path / "exports"
    return build_world()


def _login(client, membership):
    client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
    session = client.session
    session["lien_membership_id"] = str(membership.pk)
    session.save()
    return client


def _archive(client, export_id) -> zipfile.ZipFile:
    response = client.get(reverse("exports:structure_export_download", args=[export_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _rows(archive, name) -> list[dict]:
    text = archive.read(name).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_coordinator_exports_every_record_type_of_their_structure_only(world, client):
    coordinator = world["actors"]["coordinator(A)"]
    situation = world["objects_a"]["situation"]
    Situation.objects.filter(pk=situation.pk).update(
        is_nominative=True, names="Jeanne Nominative", contact="06 00 00 00 00",
        consent_on=situation.opened_on,
    )  # fmt: skip
    _login(client, coordinator)
    before = AuditEvent.objects.count()
    response = client.post(reverse("exports:structure_export_list"))
    assert response.status_code == 302
    export_id = response.url.rstrip("/").split("/")[-1]
    journal = AuditEvent.objects.order_by("at", "id")[before:]
    assert {e.action for e in journal} == {AuditAction.EXPORT, AuditAction.READ}
    assert all(e.structure_id == coordinator.structure_id for e in journal)

    page = client.get(response.url)
    assert page.status_code == 200
    assert "Télécharger l'archive ZIP" in page.content.decode()

    archive = _archive(client, export_id)
    names = set(archive.namelist())
    assert names == {r.file for r in exports.RECORD_TYPES} | {"manifest.json", "LISEZMOI.txt"}
    everything = b"".join(archive.read(n) for n in names).decode("utf-8")
    for secret in world["secrets"]:
        assert secret not in everything
    assert str(world["objects_b"]["intervention"].pk) not in everything
    # The structure's own rows are there, names included (its own nominative data).
    [row] = _rows(archive, "suivis.csv")
    assert row["reference"] == situation.reference and row["names"] == "Jeanne Nominative"
    [row] = _rows(archive, "interventions.csv")
    assert row["id"] == str(world["objects_a"]["intervention"].pk)
    assert row["mediators"]  # many-to-many as ids
    [row] = _rows(archive, "personnes-employees.csv")
    assert row["last_name"] == world["objects_a"]["mediator"].last_name
    assert "link_nonce" not in _rows(archive, "mises-en-relation.csv")[0]
    assert _rows(archive, "partenaires.csv")  # the referral's partner, the funder
    # The social-utility evaluation leaves with the structure too, and only A's.
    [row] = _rows(archive, "evaluations.csv")
    assert row["id"] == str(world["objects_a"]["evaluation"].pk)
    assert str(world["objects_b"]["evaluation"].pk) not in everything
    manifest = json.loads(archive.read("manifest.json"))
    described = {item["fichier"]: item for item in manifest["fichiers"]}
    assert described["suivis.csv"]["nominatif"] is True
    assert described["suivis.csv"]["lignes"] == 1
    assert {"nom": "names", "libelle": "noms des personnes", "type": "texte"} in described[
        "suivis.csv"
    ]["colonnes"]
    assert "suivis.csv" in archive.read("LISEZMOI.txt").decode()
    # Each download is journaled.
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, note__contains=export_id).exists()


def test_only_the_structures_coordination_sees_its_exports(world, client):
    own = exports.structure_export_request(actor=world["actors"]["coordinator(A)"])
    detail = reverse("exports:structure_export_detail", args=[own["id"]])
    download = reverse("exports:structure_export_download", args=[own["id"]])
    listing = reverse("exports:structure_export_list")
    for key in ("mediator(A)", "funder(A)", "partner", "steering(62)"):
        _login(client, world["actors"][key])
        for url in (listing, detail, download):
            assert client.get(url).status_code == 403, (key, url)
        assert client.post(listing).status_code == 403
    other = make_membership(Role.COORDINATOR, structure=world["objects_b"]["structure"])
    _login(client, other)
    assert client.get(detail).status_code == 404
    assert client.get(download).status_code == 404
    assert own["id"] not in client.get(listing).content.decode()


def test_progress_page_polls_while_the_export_runs(world, client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    coordinator = world["actors"]["coordinator(A)"]
    state = exports.structure_export_request(actor=coordinator)
    assert state["state"] == "pending"
    _login(client, coordinator)
    url = reverse("exports:structure_export_detail", args=[state["id"]])
    body = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in body and "<progress" in body
    assert (
        client.get(reverse("exports:structure_export_download", args=[state["id"]])).status_code
        == 404
    )
    exports.structure_export_build(structure_id=state["structure_id"], export_id=state["id"])
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in partial and "Télécharger l'archive ZIP" in partial


def test_a_failed_build_says_so_and_leaves_no_archive(world, monkeypatch):
    coordinator = world["actors"]["coordinator(A)"]
    broken = exports.RecordType("casse.csv", "Cassé", Situation, "champ_inexistant")
    monkeypatch.setattr(exports, "RECORD_TYPES", [*exports.RECORD_TYPES[:2], broken])
    state = exports.structure_export_request(actor=coordinator)
    state = exports.read_state(coordinator.structure_id, state["id"])
    assert state["state"] == "failed" and state["error"]
    assert not exports.archive_path(coordinator.structure_id, state["id"]).exists()
    assert not list(exports.export_root().glob(f"{coordinator.structure_id}/*.part"))
