import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lien.core.models import AuditEvent
from lien.referentiel.models import (
    ActivityType,
    Domain,
    Outcome,
    SituationCategory,
    UtilityRegister,
)
from lien.referentiel.services import ReferentielError, referentiel_load

pytestmark = pytest.mark.django_db


def test_loads_the_vocabularies_of_the_seeds():
    report = referentiel_load()
    assert ActivityType.objects.count() == 9
    assert set(Domain.objects.values_list("code", flat=True)) == {
        "espaces-publics",
        "milieu-scolaire",
        "services-publics",
        "transports",
        "habitat-social",
    }
    assert UtilityRegister.objects.count() == 5
    assert Outcome.objects.get(code="accord-obtenu").family == Outcome.Family.RESOLVED
    assert SituationCategory.objects.filter(code="illectronisme").exists()
    assert report.created["activity_types"] == 9
    assert AuditEvent.objects.filter(action="load").count() == 1


def test_reloading_is_idempotent_and_keeps_admin_edits():
    referentiel_load()
    domain = Domain.objects.get(code="transports")
    domain.label = "Transports publics (libellé local)"
    domain.save()
    report = referentiel_load()
    assert Domain.objects.count() == 5
    assert Domain.objects.get(code="transports").label == "Transports publics (libellé local)"
    assert sum(report.created.values()) == 0
    referentiel_load(update=True)
    assert Domain.objects.get(code="transports").label == "Transports en commun"


def test_a_bad_file_loads_nothing_and_lists_every_error(tmp_path):
    bad = tmp_path / "ref.json"
    bad.write_text(
        json.dumps(
            {
                "domains": [
                    {"code": "ok", "label": "Correct"},
                    {"code": "ok", "label": "Doublon"},
                    {"code": "sans libellé"},
                ],
                "outcomes": [{"code": "x", "label": "X", "family": "inconnue"}],
                "colours": [],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ReferentielError) as caught:
        referentiel_load(path=bad)
    text = "\n".join(caught.value.errors)
    assert "liste inconnue « colours »" in text
    assert "domains[2] : code « ok » en double" in text
    assert "domains[3]" in text and "label" in text
    assert "outcomes[1]" in text and "family" in text
    assert Domain.objects.count() == 0


def test_unreadable_json_names_line_and_column(tmp_path):
    bad = tmp_path / "ref.json"
    bad.write_text('{"domains": [\n  {"code": "a",, }\n]}', encoding="utf-8")
    with pytest.raises(CommandError, match="ligne 2"):
        call_command("load_referentiel", file=bad)
