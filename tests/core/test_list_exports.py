"""Every list page exports exactly its rows: same filters, same visibility, all pages.

A matrix over the roles of structure A (and a funder, a partner, a steering member): who
may open a list may download it, and the file never holds a row of structure B; who may
not open it may not download it either. Each download is journaled.
"""

import csv
import io
import uuid

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from lien.core.models import AuditAction, AuditEvent
from lien.followup.models import Situation
from lien.logbook.models import Intervention
from lien.structures.models import OrganisationKind
from tests.factories import OrganisationFactory
from tests.test_permission_matrix import build_world

pytestmark = pytest.mark.django_db

STRUCTURE = {"mediator(A)", "coordinator(A)"}
EVERYONE = {"mediator(A)", "coordinator(A)", "funder(A)", "partner", "steering(62)"}
#: (route, extra query) → the actors who may open the page (and so download it).
LISTS = {
    ("logbook:my_entries", ""): STRUCTURE,
    ("logbook:team_log", ""): {"coordinator(A)"},
    ("logbook:shift_list", ""): STRUCTURE,
    ("followup:situation_list", "etat=tous"): STRUCTURE,
    ("followup:referral_list", ""): STRUCTURE,
    ("followup:report_list", ""): STRUCTURE,
    ("followup:referral_inbox", "etat=tous"): {"partner"},
    ("followup:report_inbox", ""): {"funder(A)", "partner"},
    ("followup:observation_list", ""): STRUCTURE | {"funder(A)", "partner"},
    ("followup:collective_action_list", ""): STRUCTURE,
    ("jobs:post_list", ""): STRUCTURE | {"funder(A)"},
    ("jobs:post_list", "tableau=financements"): STRUCTURE | {"funder(A)"},
    ("jobs:mediator_list", ""): STRUCTURE,
    ("jobs:training_list", ""): STRUCTURE,
    ("jobs:training_list", "tableau=analyses"): STRUCTURE,
    ("structures:structure_list", ""): EVERYONE,
    ("structures:organisation_list", ""): EVERYONE,
    ("evaluation:evaluation_list", ""): EVERYONE - {"partner"},
    ("evaluation:evaluation_list", "tableau=enquetes"): EVERYONE - {"partner"},
    ("steering:generated_report_list", ""): {"coordinator(A)", "steering(62)"},
    ("imports:import_list", ""): {"coordinator(A)"},
}
#: What structure A's coordinator finds in each file: the control that the test can fail.
OWN_ROWS = {
    "logbook:team_log": "Dispositif Alpha",
    "logbook:shift_list": "Tournée de Dispositif Alpha",
    "followup:situation_list": "M. X.",
    "followup:referral_list": "Partenaire Bêta",
    "followup:report_list": "Panne",
    "followup:collective_action_list": "Atelier",
    "jobs:post_list": "Poste de Dispositif Alpha",
    "jobs:mediator_list": "Secret-Dispositif Alpha",
    "jobs:training_list": "Gestion des conflits",
    "structures:structure_list": "Structure Alpha",
    "evaluation:evaluation_list": "Dispositif Alpha",
    "steering:generated_report_list": "Dispositif Alpha — Financeur Alpha",
    "imports:import_list": "historique.csv",
}


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


def _csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8")[1:]), delimiter=";"))


def _xlsx(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("actor", sorted(EVERYONE))
def test_each_list_exports_what_its_page_shows_and_nothing_of_another_structure(
    world, client, actor
):
    _login(client, world["actors"][actor])
    failures = []
    for (name, extra), allowed in LISTS.items():
        url = reverse(name) + "?" + extra
        page = client.get(url)
        before = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()
        for fmt in ("csv", "xlsx"):
            response = client.get(f"{url}&export={fmt}")
            if actor not in allowed:
                if response.status_code != page.status_code or response.status_code == 200:
                    failures.append(f"{name} {fmt}: {response.status_code} (refusé attendu)")
                continue
            if response.status_code != 200:
                failures.append(f"{name} {fmt}: {response.status_code}")
                continue
            rows = _csv(response) if fmt == "csv" else _xlsx(response)
            text = "\n".join(";".join(str(c) for c in row if c is not None) for row in rows)
            leaked = [secret for secret in world["secrets"] if secret in text]
            if leaked:
                failures.append(f"{name} {fmt} montre {leaked}")
            own = OWN_ROWS.get(name)
            if (
                actor == "coordinator(A)"
                and own
                and not extra.startswith("tableau")
                and (own not in text)
            ):
                failures.append(f"{name} {fmt} ne montre pas « {own} »")
        journaled = AuditEvent.objects.filter(action=AuditAction.EXPORT).count() - before
        if journaled != (2 if actor in allowed else 0):
            failures.append(f"{name}: {journaled} exports journalisés")
    assert not failures, f"{actor} :\n" + "\n".join(failures)


def test_an_export_has_every_row_of_the_filter_not_one_page(world, client):
    for n in range(55):
        OrganisationFactory(name=f"Partenaire n°{n:02}", kind=OrganisationKind.PARTNER)
    OrganisationFactory(name='=HYPERLINK("http://x")', kind=OrganisationKind.PARTNER)
    _login(client, world["actors"]["mediator(A)"])
    url = reverse("structures:organisation_list")
    page = client.get(url, {"q": "Partenaire n°"})
    assert len(page.context["page"].object_list) == 50
    assert 'export=csv" download' in page.content.decode()
    assert "q=Partenaire" in page.context["export_query"]
    # The next page keeps the search (one pagination include for every list).
    next_link = f'href="?{page.context["export_query"]}&amp;page=2" rel="next"'
    assert next_link in page.content.decode()
    rows = _csv(client.get(url, {"q": "Partenaire n°", "export": "csv"}))
    assert rows[0][:2] == ["Identifiant", "Nom"]
    assert len(rows) == 1 + 55
    assert {r[1] for r in rows[1:]} == {f"Partenaire n°{n:02}" for n in range(55)}
    every = _csv(client.get(url, {"export": "csv"}))
    assert [r[1] for r in every if "HYPERLINK" in r[1]] == ['\'=HYPERLINK("http://x")']


def test_filters_select_the_exported_rows(world, client):
    _login(client, world["actors"]["coordinator(A)"])
    url = reverse("followup:situation_list")
    assert len(_csv(client.get(url, {"etat": "open", "export": "csv"}))) == 2
    assert len(_csv(client.get(url, {"etat": "closed", "export": "csv"}))) == 1  # header
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("at")
    assert "etat=closed" in event.note and event.structure_id == world["objects_a"]["structure"].pk


def test_situations_leave_without_names_and_staff_exports_are_journaled_as_reads(world, client):
    situation = world["objects_a"]["situation"]
    Situation.objects.filter(pk=situation.pk).update(
        is_nominative=True, names="Jeanne Nominative", contact="06 12 34 56 78",
        consent_on=situation.opened_on,
    )  # fmt: skip
    _login(client, world["actors"]["coordinator(A)"])
    reads = AuditEvent.objects.filter(action=AuditAction.READ)
    before = reads.count()
    rows = _csv(client.get(reverse("followup:situation_list"), {"export": "csv"}))
    text = repr(rows)
    assert situation.reference in text
    assert "Jeanne Nominative" not in text and "06 12 34 56 78" not in text
    assert reads.count() == before  # pseudonymous columns only: not a nominative read
    _csv(client.get(reverse("jobs:mediator_list"), {"export": "csv"}))
    assert reads.count() == before + 1
    assert "personnes employées" in reads.latest("at").note


def test_a_bad_format_shows_the_page(world, client):
    _login(client, world["actors"]["coordinator(A)"])
    response = client.get(reverse("logbook:team_log"), {"export": "pdf"})
    assert response.status_code == 200 and "text/html" in response["Content-Type"]


def test_a_body_exports_the_reports_routed_to_it(world, client):
    _login(client, world["actors"]["funder(A)"])
    rows = _csv(client.get(reverse("followup:report_inbox"), {"export": "csv"}))
    assert rows[0][0] == "Signalé par"
    assert [r[0] for r in rows[1:]] == ["Structure Alpha"]


def test_an_export_reads_by_chunks_without_one_query_per_row(
    world, client, django_assert_max_num_queries
):
    model = world["objects_a"]["intervention"]
    mediators = list(model.mediators.all())

    def add(n):
        for _ in range(n):
            copy = Intervention.objects.get(pk=model.pk)
            copy.pk = None
            copy.id = uuid.uuid4()
            copy._state.adding = True
            copy.save()
            copy.mediators.set(mediators)

    add(3)
    _login(client, world["actors"]["coordinator(A)"])
    url = reverse("logbook:team_log")
    with django_assert_max_num_queries(14) as few:
        few_rows = _csv(client.get(url, {"export": "csv"}))
    add(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        many_rows = _csv(client.get(url, {"export": "csv"}))
    assert len(many_rows) == len(few_rows) + 20 == 1 + 4 + 20


def test_surveys_export_with_their_answer_count_and_lists_keep_paging(world, client):
    from tests.evaluation.factories import make_responses, make_survey

    service = world["objects_a"]["service"]
    make_responses(world["objects_a"]["survey"], [4, 5, 3])
    for n in range(51):
        make_survey(service, title=f"Enquête n°{n:02}")
    _login(client, world["actors"]["coordinator(A)"])
    url = reverse("evaluation:evaluation_list")
    rows = _csv(client.get(url, {"export": "csv", "tableau": "enquetes"}))
    assert rows[0] == ["Identifiant", "Enquête", "Dispositif", "Public", "Ouverture", "Clôture",
                       "Réponses"]  # fmt: skip
    assert len(rows) == 1 + 52
    answers = {r[1]: r[6] for r in rows[1:]}
    assert answers["Enquête Dispositif Alpha"] == "3" and answers["Enquête n°00"] == "0"
    # The page shows 50 surveys; its second page keeps the other parameters, once each.
    page = client.get(url, {"page_enquetes": "2", "page": "1"})
    assert len(page.context["surveys_page"].object_list) == 2
    assert page.context["export_query"] == ""
    assert 'href="?page_enquetes=1" rel="prev"' in page.content.decode()
    # Funders see final evaluations only and never the surveys' list, in a file either.
    _login(client, world["actors"]["funder(A)"])
    assert len(_csv(client.get(url, {"export": "csv", "tableau": "enquetes"}))) == 1
