"""Imports: encodings, separators, XLSX, mapping, dry run, all-or-nothing commit, reports.

Every malformed file gets a clear message and writes nothing: the tables' row counts are
snapshotted before and compared after.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from lien.core.models import AuditAction, AuditEvent, Role
from lien.exchange.imports import services
from lien.exchange.models import ImportJob, ImportKind, ImportState
from lien.indicators import rollups
from lien.indicators.models import ActivityCube
from lien.jobs.models import Post
from lien.logbook.models import Intervention, Source
from lien.referentiel.models import ActivityType
from lien.referentiel.services import referentiel_load
from lien.structures.models import Organisation, Structure
from tests.factories import ServiceFactory, make_membership, make_territories

HEADER = "date;heure;commune;activité;domaine;durée;personnes;issue;qpv"
ROWS = [
    "2025-03-04;14:30;59512;gestion-conflits;habitat-social;20;2;apaise-resolu;QX05901D",
    "05/03/2025;09:00;59350;Présence active de proximité;espaces-publics;45;3;;",
    "2025-03-06;;59512;veille-sociale;Habitat social;;;;",
]


@pytest.fixture
def place(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    referentiel_load()
    territories = make_territories()
    service = ServiceFactory(name="Médiation de proximité")
    coordinator = make_membership(Role.COORDINATOR, structure=service.structure)
    return {"service": service, "structure": service.structure, "coordinator": coordinator,
            "territories": territories}  # fmt: skip


def counts() -> dict[str, int]:
    return {
        "interventions": Intervention.objects.count(),
        "organisations": Organisation.objects.count(),
        "posts": Post.objects.count(),
        "structures": Structure.objects.count(),
        "cubes": ActivityCube.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def csv_bytes(lines, *, sep=";", encoding="utf-8") -> bytes:
    return ("\r\n".join(line.replace(";", sep) for line in lines) + "\r\n").encode(encoding)


def run_import(place, content: bytes, *, name="historique.csv", kind=ImportKind.INTERVENTIONS,
               mapping=None, actor=None) -> ImportJob:  # fmt: skip
    """Upload, map (the guessed mapping unless given), dry run; commit if nothing is refused."""
    actor = actor or place["coordinator"]
    job = services.import_job_create(actor=actor, kind=kind, upload=upload(name, content))
    services.import_job_map(actor=actor, job=job, mapping=mapping or job.mapping)
    job.refresh_from_db()
    if job.state == ImportState.VALIDATED:
        services.import_job_commit(actor=actor, job=job)
        job.refresh_from_db()
    return job


# --- what is accepted ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "sep"),
    [("utf-8", ";"), ("utf-8-sig", ";"), ("cp1252", ";"), ("utf-8", ","), ("cp1252", ",")],
)
def test_csv_encodings_and_separators_import_every_row(place, encoding, sep):
    job = run_import(place, csv_bytes([HEADER, *ROWS], sep=sep, encoding=encoding))
    assert job.state == ImportState.DONE, (job.error, job.rejects_preview)
    assert job.rows_created == 3
    assert job.delimiter == sep
    assert job.headers[3] == "activité"  # the accent survived the decoding
    rows = Intervention.objects.filter(structure=place["structure"]).order_by("started_at")
    assert [r.source for r in rows] == [Source.IMPORT] * 3
    first = rows[0]
    assert first.started_at.astimezone(datetime.UTC) == datetime.datetime(
        2025, 3, 4, 13, 30, tzinfo=datetime.UTC
    )
    assert (first.duration_minutes, first.people_met, first.qpv.code) == (20, 2, "QX05901D")
    assert rows[1].activity_type.code == "presence-active"  # by label, any case
    assert rows[2].domain.code == "habitat-social"
    assert (rows[2].duration_minutes, rows[2].people_met) == (15, 1)  # the defaults


def test_xlsx_import_reads_dates_and_numbers_as_the_sheet_types_them(place):
    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Commune (code INSEE)", "Activité", "Domaine", "Durée (minutes)"])
    naive = datetime.datetime(2025, 1, 2, 10, 15)  # noqa: DTZ001 — a spreadsheet has no zone
    sheet.append([naive, 59512, "gestion-conflits",
                  "habitat-social", 30])  # fmt: skip
    sheet.append([datetime.date(2025, 1, 3), "59350", "veille-sociale", "espaces-publics", 10.0])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run_import(place, buffer.getvalue(), name="historique.xlsx")
    assert job.state == ImportState.DONE, (job.error, job.rejects_preview)
    assert job.file_format == "xlsx"
    assert sorted(Intervention.objects.values_list("duration_minutes", flat=True)) == [10, 30]


def test_notes_keep_their_special_characters(place):
    note = "Deux lignes\tavec « guillemets », un \\ et ; séparateur\nfin"
    quoted = '"' + note.replace('"', '""') + '"'
    lines = ["date;commune;activité;domaine;remarque",
             f"2025-03-04;59512;veille-sociale;habitat-social;{quoted}"]  # fmt: skip
    job = run_import(place, csv_bytes(lines))
    assert job.state == ImportState.DONE, job.rejects_preview
    assert Intervention.objects.get().note == note


def test_rollups_add_up_with_entries_already_there(place):
    """A second import into the same months and places adds to the cubes' existing rows."""
    assert run_import(place, csv_bytes([HEADER, *ROWS[:2]])).state == ImportState.DONE
    same_keys = ROWS[0].replace("14:30", "16:00").replace(";20;2;", ";30;5;")
    job = run_import(place, csv_bytes([HEADER, same_keys, ROWS[2]]))
    assert job.state == ImportState.DONE, job.rejects_preview
    assert Intervention.objects.count() == 4
    assert all(not lines for lines in rollups.differences().values())
    cube = ActivityCube.objects.get(
        commune_id=place["territories"]["roubaix"].pk,
        activity_type_id=ActivityType.objects.get(code="gestion-conflits").pk,
    )
    assert (cube.interventions, cube.people_met, cube.minutes) == (2, 7, 50)


def test_commit_updates_the_rollups_and_journals_one_event(place):
    before = counts()
    job = run_import(place, csv_bytes([HEADER, *ROWS]))
    assert job.state == ImportState.DONE
    assert all(not lines for lines in rollups.differences().values())
    assert AuditEvent.objects.count() == before["audit"] + 1
    event = AuditEvent.objects.get(action=AuditAction.LOAD, object_type="exchange.ImportJob")
    assert event.after["created"] == 3
    assert event.structure_id == place["structure"].pk
    assert AuditEvent.objects.filter(object_type="logbook.Intervention").count() == 0


def test_mediators_are_named_by_email_or_unique_full_name(place):
    structure = place["structure"]
    awa = make_membership(Role.MEDIATOR, structure=structure)
    awa.user.full_name, awa.user.email = "Awa Diallo", "awa@exemple.fr"
    awa.user.save()
    gone = make_membership(Role.MEDIATOR, structure=structure)  # left the structure since
    gone.is_active = False
    gone.save()
    twins = [make_membership(Role.MEDIATOR, structure=structure) for _ in range(2)]
    for twin in twins:
        twin.user.full_name = "Karim Benali"
        twin.user.save()
    outsider = make_membership(Role.MEDIATOR)  # another structure's mediator
    head = "date;commune;activité;domaine;médiateurs"
    good = [head,
            "2025-03-04;59512;veille-sociale;habitat-social;AWA@exemple.fr | " + gone.user.email,
            "2025-03-05;59512;veille-sociale;habitat-social;awa diallo",
            "2025-03-06;59512;veille-sociale;habitat-social;"]  # fmt: skip
    row = "2025-03-0{};59512;veille-sociale;habitat-social;{}"
    bad = [head, row.format(4, "Karim Benali"), row.format(5, f"{outsider.user.email}|x@y.fr")]
    before = counts()
    job = run_import(place, csv_bytes(bad))
    assert job.state == ImportState.REJECTED and counts() == before
    reasons = {(r["line"], r["column"]): r["reason"] for r in job.rejects_preview}
    assert reasons.keys() == {(2, "E"), (3, "E")}, job.rejects_preview
    assert "plusieurs membres s'appellent « Karim Benali »" in reasons[(2, "E")]
    assert reasons[(3, "E")] == (
        f"« {outsider.user.email} » n'est pas membre de la structure ; "
        "« x@y.fr » n'est pas membre de la structure"
    )
    job = run_import(place, csv_bytes(good))
    assert job.mapping["mediators"] == "médiateurs"  # guessed from the header
    assert job.state == ImportState.DONE, job.rejects_preview
    rows = Intervention.objects.order_by("started_at")
    assert [sorted(u.pk for u in r.mediators.all()) for r in rows] == [
        sorted([awa.user_id, gone.user_id]),
        [awa.user_id],
        [],
    ]


def test_mapping_is_guessed_from_headers_and_required_fields_are_enforced(place):
    actor = place["coordinator"]
    job = services.import_job_create(
        actor=actor, kind=ImportKind.INTERVENTIONS, upload=upload("a.csv", csv_bytes([HEADER]))
    )
    assert job.mapping["started_at"] == "date"
    assert job.mapping["commune"] == "commune"
    assert job.mapping["activity_type"] == "activité"
    mapping = dict(job.mapping)
    del mapping["domain"]
    with pytest.raises(services.ValidationError) as exc:
        services.import_job_map(actor=actor, job=job, mapping=mapping)
    assert "Domaine" in str(exc.value.message_dict["domain"])


# --- malformed files: a clear report, nothing written ------------------------------------------


BAD_FILES = {
    "empty": (b"", "vide (0 octet)"),
    "binary": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image PNG"),
    "random-binary": (bytes(range(256)) * 8, "octets binaires"),
    "utf16": ("date;commune\n".encode("utf-16"), "UTF-16"),
    "not-utf8-nor-cp1252": (
        b"date;commune\n2025-01-01;59\x81350\n",
        "ni en UTF-8 ni en Windows-1252",
    ),
    "header-only-then-broken-xlsx": (b"PK\x03\x04garbage" * 10, "XLSX est illisible"),
    "duplicate-headers": (b"date;date\n2025-01-01;2025-01-02\n", "apparaît deux fois"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unreadable_file_is_refused_at_upload_and_writes_nothing(place, case):
    content, message = BAD_FILES[case]
    before = counts()
    jobs_before = ImportJob.objects.count()
    with pytest.raises(services.ValidationError) as exc:
        services.import_job_create(
            actor=place["coordinator"],
            kind=ImportKind.INTERVENTIONS,
            upload=upload("x.csv", content),
        )
    assert message in " ".join(exc.value.message_dict["file"])
    assert counts() == before
    assert ImportJob.objects.count() == jobs_before


def test_encoding_broken_halfway_fails_the_dry_run_and_writes_nothing(place):
    good = csv_bytes([HEADER, *ROWS * 3000])  # more than the 64 KiB that decide the encoding
    content = good + "2025-03-04;;59512;gestion-conflits;habitat-social;;;;\n".encode("cp1252")
    content += b"2025-03-04;;59512;\xe9;habitat-social;;;;\n"
    before = counts()
    job = run_import(place, content)
    assert job.state == ImportState.FAILED
    assert "Encodage incohérent vers la ligne" in job.error
    assert counts() == before


def test_header_without_rows_is_reported(place):
    before = counts()
    job = run_import(place, csv_bytes([HEADER]))
    assert job.state == ImportState.FAILED
    assert "aucune ligne de données" in job.error
    assert counts() == before


def test_missing_required_column_is_named(place):
    header = "date;commune;activité"  # no domain column
    job = services.import_job_create(
        actor=place["coordinator"], kind=ImportKind.INTERVENTIONS,
        upload=upload("a.csv", csv_bytes([header, "2025-01-01;59512;veille-sociale"])),
    )  # fmt: skip
    with pytest.raises(services.ValidationError) as exc:
        services.import_job_map(actor=place["coordinator"], job=job, mapping=job.mapping)
    assert "« Domaine » est obligatoire" in str(exc.value)
    assert Intervention.objects.count() == 0


def rejects(job) -> list[tuple]:
    return [(r["line"], r["column"], r["value"], r["reason"]) for r in job.rejects_preview]


def test_unknown_codes_dates_out_of_range_and_duplicates_are_each_reported(place):
    tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    lines = [
        HEADER,
        ROWS[0],
        "2025-03-04;10:00;99999;gestion-conflits;habitat-social;;;;",  # unknown commune
        "2025-03-04;10:00;59512;jonglage;habitat-social;;;;",  # unknown activity
        "1999-12-31;10:00;59512;veille-sociale;habitat-social;;;;",  # before 2000
        f"{tomorrow:%d/%m/%Y};10:00;59512;veille-sociale;habitat-social;;;;",  # future
        "2025-02-30;10:00;59512;veille-sociale;habitat-social;;;;",  # no such day
        "2025-03-04;10:00;59512;veille-sociale;habitat-social;900;;;",  # too long
        ROWS[0],  # duplicate of line 2
        "2025-03-04;10:00;59350;veille-sociale;habitat-social;;;;QX05901D",  # QPV not in Lille
    ]
    before = counts()
    job = run_import(place, csv_bytes(lines))
    assert job.state == ImportState.REJECTED
    assert (job.rows_read, job.rows_valid, job.rows_rejected) == (9, 1, 8)
    found = rejects(job)
    assert (3, "C", "99999", "commune (code INSEE) inconnu·e") in found
    assert (4, "D", "jonglage", "activité inconnu·e") in found
    assert any(r[0] == 5 and r[1] == "A" and "hors de la plage" in r[3] for r in found)
    assert any(r[0] == 6 and "hors de la plage" in r[3] for r in found)
    assert any(r[0] == 7 and "date impossible" in r[3] for r in found)
    assert (8, "F", "900", "doit être compris entre 1 et 720") in found
    assert any(r[0] == 9 and "doublon de la ligne 2" in r[3] for r in found)
    assert any(r[0] == 10 and r[1] == "I" and "ne couvre pas" in r[3] for r in found)
    assert counts() == before
    with pytest.raises(services.ValidationError):
        services.import_job_commit(actor=place["coordinator"], job=job)
    assert counts() == before


def test_duplicate_of_an_existing_row_is_refused(place):
    assert run_import(place, csv_bytes([HEADER, *ROWS])).state == ImportState.DONE
    before = counts()
    job = run_import(place, csv_bytes([HEADER, ROWS[1]]))
    assert job.state == ImportState.REJECTED
    assert "existe déjà" in job.rejects_preview[0]["reason"]
    assert counts() == before


def test_full_report_is_downloadable_with_every_rejected_cell(place, client):
    lines = [HEADER] + [
        f"2025-03-04;10:00;{90000 + i};jonglage;habitat-social;;;;" for i in range(150)
    ]
    job = run_import(place, csv_bytes(lines))
    assert job.rows_rejected == 150
    assert len(job.rejects_preview) == 100  # the page shows the first 100 cells
    client.force_login(place["coordinator"].user)
    response = client.get(reverse("imports:import_report", kwargs={"pk": job.pk}))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert body[0] == "ligne;colonne;champ;valeur;motif"
    assert len(body) == 1 + 300  # two refused cells per line
    assert body[1].startswith("2;C;Commune (code INSEE) (commune);90000;")


def test_flagged_notes_are_listed_and_kept_only_once_confirmed(place, client):
    """Names, phone numbers or health in an imported note: the entry pages' screening, with
    the same choice — correct the file, or confirm and keep the text as it is."""
    row = "2025-03-0{};59512;veille-sociale;habitat-social;{}"
    lines = ["date;commune;activité;domaine;remarque",
             row.format(4, "Rappeler au 06 12 34 56 78"),
             row.format(5, "Hall calme, rien à signaler"),
             row.format(6, "Il est sous traitement pour dépression")]  # fmt: skip
    actor = place["coordinator"]
    job = services.import_job_create(
        actor=actor, kind=ImportKind.INTERVENTIONS, upload=upload("notes.csv", csv_bytes(lines))
    )
    services.import_job_map(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.state == ImportState.VALIDATED and job.rows_valid == 3
    assert job.rows_flagged == 2
    assert [(f["line"], f["column"]) for f in job.flags_preview] == [(2, "E"), (4, "E")]
    assert "numéro de téléphone" in job.flags_preview[0]["reason"]
    client.force_login(actor.user)
    detail = reverse("imports:import_detail", kwargs={"pk": job.pk})
    page = client.get(detail).content.decode()
    assert "2 lignes ont une remarque" in page and 'name="texts_confirmed"' in page
    # Without the confirmation nothing is written, and the page says why.
    before = counts()
    response = client.post(reverse("imports:import_commit", kwargs={"pk": job.pk}), follow=True)
    assert "confirmez ces textes" in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportState.VALIDATED and counts() == before
    report = client.get(reverse("imports:import_report", kwargs={"pk": job.pk}))
    body = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "à confirmer : Ce texte semble contenir" in body
    # Confirmed: every note is kept as it was typed, and the journal says so.
    client.post(reverse("imports:import_commit", kwargs={"pk": job.pk}), {"texts_confirmed": "on"})
    job.refresh_from_db()
    assert job.state == ImportState.DONE and job.flags_confirmed
    notes = set(Intervention.objects.values_list("note", flat=True))
    assert "Rappeler au 06 12 34 56 78" in notes and len(notes) == 3
    event = AuditEvent.objects.get(action=AuditAction.LOAD, object_type="exchange.ImportJob")
    assert event.after["flagged_texts_confirmed"] == 2


def test_commit_rolls_back_everything_if_a_row_became_invalid(place):
    """Between the dry run and the commit, a service is renamed: nothing is kept."""
    actor = place["coordinator"]
    lines = ["date;commune;activité;domaine;dispositif"] + [
        f"2025-03-{d:02d};59512;veille-sociale;habitat-social;Médiation de proximité"
        for d in range(1, 29)
    ]
    job = services.import_job_create(
        actor=actor, kind=ImportKind.INTERVENTIONS, upload=upload("a.csv", csv_bytes(lines))
    )
    services.import_job_map(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.state == ImportState.VALIDATED
    place["service"].name = "Autre nom"
    place["service"].save()
    before = counts()
    services.import_job_commit(actor=actor, job=job)
    job.refresh_from_db()
    assert job.state == ImportState.REJECTED
    assert job.rows_rejected == 28
    assert counts() == before


# --- the other kinds ---------------------------------------------------------------------------


def test_partners_import(place):
    content = csv_bytes([
        "nom;type;siret;commune;email",
        "CAF de Roubaix;caf;;59512;accueil@caf.example",
        "CCAS de Lille;Centre communal d'action sociale (CCAS);;59350;",
        "Inconnu;licorne;123;;pas-un-email",
    ])  # fmt: skip
    job = run_import(place, content, kind=ImportKind.PARTNERS)
    assert job.state == ImportState.REJECTED, job.rejects_preview
    reasons = {r[1]: r[3] for r in rejects(job)}
    assert set(reasons) == {"B", "C", "E"}
    ok = run_import(place, content.rsplit(b"\r\nInconnu", 1)[0] + b"\r\n", kind=ImportKind.PARTNERS)
    assert ok.state == ImportState.DONE, ok.rejects_preview
    assert Organisation.objects.partners().filter(name="CAF de Roubaix").exists()


def test_posts_import(place):
    content = csv_bytes(["intitulé;etp;état", "Médiateur social;1;pourvu", "Agent d'ambiance;0,5;"])
    job = run_import(place, content, kind=ImportKind.POSTS)
    assert job.state == ImportState.DONE, job.rejects_preview
    posts = Post.objects.filter(structure=place["structure"])
    assert sorted(posts.values_list("fte", "status")) == [(Decimal("0.5"), "open"), (1, "filled")]
    again = run_import(place, content, kind=ImportKind.POSTS)
    assert again.state == ImportState.REJECTED  # already there


def test_contracts_import_creates_the_people_and_checks_the_adulte_relais_rules(place):
    from lien.jobs.models import Contract, Mediator

    for title in ("Adulte-relais Alma", "Médiateur social"):
        Post.objects.create(structure=place["structure"], service=place["service"], title=title,
                            fte=Decimal("1"))  # fmt: skip
    header = "prénom;nom;poste;type de contrat;début;fin;etp;début convention;fin convention"
    good = [
        header,
        "Amina;Benali;Adulte-relais Alma;adulte-relais;01/09/2024;31/08/2027;1;"
        "01/09/2024;31/08/2027",
        "Bilal;Vasseur;Médiateur social;CDI;2023-01-02;;0,8;;",
        "bilal;VASSEUR;Médiateur social;CDD;2022-01-03;2022-12-31;0,8;;",
    ]
    job = run_import(place, csv_bytes(good), kind=ImportKind.CONTRACTS)
    assert job.state == ImportState.DONE, job.rejects_preview
    assert Contract.objects.filter(post__structure=place["structure"]).count() == 3
    # The same person (whatever the case) is created once.
    assert Mediator.objects.filter(structure=place["structure"]).count() == 2
    bad = [
        header,
        # Under half time, and an agreement longer than 3 years.
        "Chloé;Martin;Médiateur social;adulte-relais;2025-01-06;2027-12-31;0,4;"
        "2025-01-06;2028-12-31",
        # A second adulte-relais agreement on a post that has one.
        "Dan;Roy;Adulte-relais Alma;adulte-relais;2025-01-06;2026-12-31;1;2025-01-06;2026-12-31",
        "Eva;Lopez;Poste inconnu;CDI;2025-01-06;;1;;",
        "Fred;Noel;Médiateur social;licorne;32/13/2025;;2;;",
        # Already in Lien (first file).
        "Bilal;Vasseur;Médiateur social;CDI;2023-01-02;;0,8;;",
    ]
    before = Contract.objects.count(), Mediator.objects.count()
    job = run_import(place, csv_bytes(bad), kind=ImportKind.CONTRACTS)
    assert job.state == ImportState.REJECTED
    reasons = rejects(job)
    lines = {line for line, *_ in reasons}
    assert lines == {2, 3, 4, 5, 6}
    text = " ".join(reason for *_, reason in reasons)
    assert "au moins à mi-temps" in text
    assert "3 ans au plus" in text
    assert "un poste, une convention" in text
    assert "poste inconnu" in text and "type de contrat inconnu" in text
    assert "existe déjà" in text
    assert (Contract.objects.count(), Mediator.objects.count()) == before


def test_an_import_left_unfinished_past_its_retention_must_be_uploaded_again(place):
    from lien.exchange import retention

    job = services.import_job_create(
        actor=place["coordinator"], kind=ImportKind.INTERVENTIONS,
        upload=upload("historique.csv", csv_bytes([HEADER, *ROWS])),
    )  # fmt: skip
    services.import_job_map(actor=place["coordinator"], job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.state == ImportState.VALIDATED
    name = job.file.name
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=31),
        flags_preview=[{"line": 2, "value": "Rappeler au 06 12 34 56 78"}],
    )
    assert retention._delete_old_imports(timezone.localdate()) == 1
    job.refresh_from_db()
    assert (job.state, job.file.name, job.rejects_preview) == (ImportState.FAILED, "", [])
    assert job.flags_preview == []  # the flagged texts go with the file
    assert "déposez-le à nouveau" in job.error
    assert not job.file.storage.exists(name)
    before = counts()
    with pytest.raises(ValidationError):
        services.import_job_commit(actor=place["coordinator"], job=job)
    assert counts() == before


def test_services_import_with_domains_territories_and_commissioning_bodies(place):
    from lien.structures.models import Organisation, OrganisationKind, Service

    city = Organisation.objects.create(name="Ville de Roubaix", kind=OrganisationKind.FUNDER)
    Organisation.objects.create(name="CAF du Nord", kind=OrganisationKind.PARTNER)
    head = "nom;domaines;territoires;commanditaires;stade;début;fin;objectifs"
    good = [head,
            "Médiation scolaire;milieu-scolaire;59512|59350;Ville de Roubaix;Développement;"
            "01/09/2024;;Apaiser les abords des collèges",
            "Médiation transports;Transports en commun | espaces-publics;mel;;;2025-01-01;"
            "2025-12-31;"]  # fmt: skip
    bad = [head,
           "Médiation de proximité;habitat-social;;;;2024-01-01;;",  # the structure has it
           "Sans domaine;;;;;2024-01-01;;",
           "Mauvais lieux;habitat-social;99999|59512|ZZ;CAF du Nord;;2024-01-01;;",
           "À l'envers;habitat-social;;;;2025-06-01;2025-01-01;",
           "Notes;habitat-social;;;;2025-01-01;;Appeler Mme Durand au 06 12 34 56 78"]  # fmt: skip
    before = counts()
    job = run_import(place, csv_bytes(bad), kind=ImportKind.SERVICES)
    assert job.state == ImportState.REJECTED and counts() == before
    reasons = {(r["line"], r["column"]): r["reason"] for r in job.rejects_preview}
    assert "existe déjà" in reasons[(2, "A")]
    assert reasons[(3, "B")] == "valeur obligatoire manquante"
    assert reasons[(4, "C")] == "territoire inconnu·e : « 99999 », « ZZ »"
    assert "commanditaire inconnu·e : « CAF du Nord »" in reasons[(4, "D")]
    assert "la fin précède le début" in reasons[(5, "G")]
    assert job.rows_flagged == 1  # the objectives name someone: to confirm, not refused
    # The mel code: the test's EPCI.
    mel = place["territories"]["mel"].code
    job = run_import(place, csv_bytes([line.replace(";mel;", f";{mel};") for line in good]),
                     kind=ImportKind.SERVICES)  # fmt: skip
    assert job.state == ImportState.DONE, job.rejects_preview
    school = Service.objects.get(structure=place["structure"], name="Médiation scolaire")
    assert {d.code for d in school.domains.all()} == {"milieu-scolaire"}
    assert {t.code for t in school.territories.all()} == {"59512", "59350"}
    assert list(school.commissioning_bodies.all()) == [city]
    assert (school.stage.code, str(school.starts_on), school.ends_on) == (
        "developpement", "2024-09-01", None)  # fmt: skip
    transport = Service.objects.get(structure=place["structure"], name="Médiation transports")
    assert {d.code for d in transport.domains.all()} == {"transports", "espaces-publics"}
    assert transport.stage.code == "demarrage"  # the default
    assert [t.code for t in transport.territories.all()] == [mel]


def test_structures_import_is_for_administrators(place):
    admin = make_membership(Role.ADMIN)
    content = csv_bytes([
        "nom;siret;type d'employeur;commune",
        "Médiation Nord;73282932000074;association;59512",
        "Doublon;73282932000074;association;59512",
        "Mauvais SIRET;12345678901234;association;59512",
    ])  # fmt: skip
    job = run_import(place, content, kind=ImportKind.STRUCTURES, actor=admin)
    assert job.state == ImportState.REJECTED
    assert {r[0] for r in rejects(job)} == {3, 4}
    with pytest.raises(services.PermissionDenied):
        services.import_job_create(
            actor=place["coordinator"], kind=ImportKind.STRUCTURES, upload=upload("s.csv", content)
        )


# --- who may import, and whose jobs they see ---------------------------------------------------


@pytest.mark.parametrize("role", [Role.MEDIATOR, Role.FUNDER, Role.STEERING, Role.PARTNER])
def test_other_roles_cannot_import(place, client, role):
    membership = make_membership(
        role, structure=place["structure"] if role == Role.MEDIATOR else None
    )
    with pytest.raises(services.PermissionDenied):
        services.import_job_create(
            actor=membership, kind=ImportKind.INTERVENTIONS, upload=upload("a.csv", b"a;b\n")
        )
    client.force_login(membership.user)
    response = client.post(
        reverse("imports:import_list"),
        {"kind": "interventions", "file": upload("a.csv", csv_bytes([HEADER, ROWS[0]]))},
    )
    assert response.status_code == 403
    assert ImportJob.objects.count() == 0


def test_another_structures_job_is_a_404_on_every_route(place, client):
    job = run_import(place, csv_bytes([HEADER, "2025-03-04;10:00;99999;x;y;;;;"]))
    other = make_membership(Role.COORDINATOR, structure=ServiceFactory().structure)
    client.force_login(other.user)
    for name, method in [("import_detail", "get"), ("import_report", "get"),
                         ("import_map", "post"), ("import_commit", "post")]:  # fmt: skip
        response = getattr(client, method)(reverse(f"imports:{name}", kwargs={"pk": job.pk}))
        assert response.status_code == 404, name


# --- the pages -----------------------------------------------------------------------------------


def test_pages_walk_through_upload_mapping_dry_run_and_commit(place, client):
    client.force_login(place["coordinator"].user)
    response = client.get(reverse("imports:import_list"))
    assert response.status_code == 200
    assert "Nouvel import" in response.content.decode()
    response = client.post(
        reverse("imports:import_list"),
        {"kind": "interventions", "file": upload("h.csv", csv_bytes([HEADER, *ROWS]))},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("imports:import_detail", kwargs={"pk": job.pk})).content.decode()
    assert "Correspondance des colonnes" in page
    assert "Date (obligatoire)" in page
    form = dict(job.mapping)
    response = client.post(reverse("imports:import_map", kwargs={"pk": job.pk}), form)
    assert response.status_code == 302
    page = client.get(reverse("imports:import_detail", kwargs={"pk": job.pk})).content.decode()
    assert "Importer les 3 lignes" in page
    client.post(reverse("imports:import_commit", kwargs={"pk": job.pk}))
    job.refresh_from_db()
    assert job.state == ImportState.DONE
    assert Intervention.objects.count() == 3
    partial = client.get(
        reverse("imports:import_detail", kwargs={"pk": job.pk}), headers={"HX-Request": "true"}
    )
    assert "3 enregistrements créés" in partial.content.decode()


def test_a_template_file_names_every_column_and_imports_as_it_is_filled(place, client):
    from lien.exchange.imports.kinds import IMPORTERS

    client.force_login(place["coordinator"].user)
    page = client.get(reverse("imports:import_list")).content.decode()
    url = reverse("imports:import_template")
    assert f'href="{url}?type=interventions"' in page
    response = client.get(url, {"type": "interventions"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    header = body.splitlines()[0].split(";")
    assert header == [c.label for c in IMPORTERS["interventions"].columns]
    assert len(body.splitlines()) == 1  # nothing but the header
    # Filled in, it maps itself entirely and goes through.
    values = {"Date": "2025-03-04", "Commune (code INSEE)": "59512",
              "Activité": "veille-sociale", "Domaine": "habitat-social"}  # fmt: skip
    line = ";".join(values.get(label, "") for label in header)
    job = run_import(place, csv_bytes([";".join(header), line]))
    assert set(job.mapping) == {c.name for c in IMPORTERS["interventions"].columns}
    assert job.state == ImportState.DONE, job.rejects_preview
    # Structures are for administrators; an unknown type is a 404, not an error.
    assert client.get(url, {"type": "structures"}).status_code == 404
    assert client.get(url, {"type": "inconnu"}).status_code == 404


def test_running_job_shows_a_polled_progress_bar(place, client):
    job = services.import_job_create(
        actor=place["coordinator"], kind=ImportKind.INTERVENTIONS,
        upload=upload("a.csv", csv_bytes([HEADER, ROWS[0]])),
    )  # fmt: skip
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.VALIDATING, progress=42)
    client.force_login(place["coordinator"].user)
    page = client.get(reverse("imports:import_detail", kwargs={"pk": job.pk})).content.decode()
    assert '<progress id="import-progress" max="100" value="42">' in page
    assert 'hx-trigger="every 2s"' in page


def test_bad_upload_shows_the_reason_on_the_page(place, client):
    client.force_login(place["coordinator"].user)
    response = client.post(
        reverse("imports:import_list"), {"kind": "interventions", "file": upload("v.csv", b"")}
    )
    # Django's own FileField refuses an empty upload before the service sees it.
    assert response.status_code == 400
    assert ImportJob.objects.count() == 0
    response = client.post(
        reverse("imports:import_list"),
        {"kind": "interventions", "file": upload("v.csv", bytes(range(256)) * 8)},
    )
    assert response.status_code == 400
    assert "octets binaires" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_commit_progress_is_visible_outside_its_transaction_on_postgresql(settings, tmp_path):
    """The page reads the progress while the commit's transaction is still open."""
    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: the progress shows at the end")
    settings.MEDIA_ROOT = tmp_path / "media"
    coordinator = make_membership(Role.COORDINATOR, structure=ServiceFactory().structure)
    job = services.import_job_create(
        actor=coordinator, kind=ImportKind.INTERVENTIONS, upload=upload("a.csv", b"date\n1\n")
    )
    progress = services._SideProgress(job)
    try:
        with transaction.atomic():
            # The commit's own writes (never the job's row, which the progress updates).
            Intervention.objects.filter(pk__in=[]).delete()
            progress(0.42)
            seen = connections.create_connection("default")  # another reader, as the page is
            with seen.cursor() as cursor:
                cursor.execute("SELECT progress FROM exchange_importjob WHERE id = %s", [job.pk])
                assert cursor.fetchone()[0] == 42
            seen.close()
    finally:
        progress.close()


def test_mapping_errors_are_named_on_the_page(place, client):
    job = services.import_job_create(
        actor=place["coordinator"], kind=ImportKind.INTERVENTIONS,
        upload=upload("a.csv", csv_bytes([HEADER, ROWS[0]])),
    )  # fmt: skip
    client.force_login(place["coordinator"].user)
    form = {**job.mapping, "domain": "", "duration_minutes": "date"}
    response = client.post(reverse("imports:import_map", kwargs={"pk": job.pk}), form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "« Domaine » est obligatoire" in page
    assert "est déjà associée à « Date »" in page
    job.refresh_from_db()
    assert job.state == ImportState.UPLOADED
