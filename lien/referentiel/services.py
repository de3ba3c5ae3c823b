"""Loading the shipped référentiel (controlled vocabularies) into the database."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from lien.core import audit
from lien.core.models import AuditAction
from lien.referentiel.models import REFERENCE_MODELS

DEFAULT_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "referentiel.json"


class ReferentielError(Exception):
    """The fixture file is unusable; `errors` lists every problem found."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"{key}: {self.created.get(key, 0)} créé(s), {self.updated.get(key, 0)} mis à jour, "
            f"{self.unchanged.get(key, 0)} inchangé(s)"
            for key in REFERENCE_MODELS
        ]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReferentielError([f"{path} : fichier introuvable."]) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f"ligne {exc.lineno}, colonne {exc.colno}" if hasattr(exc, "lineno") else ""
        raise ReferentielError([f"{path} {where} : JSON illisible ({exc})."]) from exc
    if not isinstance(data, dict):
        raise ReferentielError([f"{path} : un objet JSON {{liste: [éléments]}} est attendu."])
    return data


def _validate(path: Path, data: dict) -> list[str]:
    errors = []
    unknown = set(data) - set(REFERENCE_MODELS) - {"_source"}
    errors += [f"{path} : liste inconnue « {key} »." for key in sorted(unknown)]
    for key, model in REFERENCE_MODELS.items():
        allowed = {f.name for f in model._meta.concrete_fields} - {"id"}
        seen: set[str] = set()
        for index, item in enumerate(data.get(key, []), start=1):
            where = f"{path} : {key}[{index}]"
            if not isinstance(item, dict):
                errors.append(f"{where} : un objet est attendu.")
                continue
            extra = set(item) - allowed
            if extra:
                errors.append(f"{where} : champ(s) inconnu(s) {', '.join(sorted(extra))}.")
                continue
            code = item.get("code")
            if code in seen:
                errors.append(f"{where} : code « {code} » en double.")
            seen.add(code)
            try:
                model(**item).full_clean(validate_unique=False)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    errors += [f"{where} ({code}) : {name} — {m}" for m in messages]
    return errors


def referentiel_load(*, path: Path = DEFAULT_FIXTURE, update: bool = False) -> LoadReport:
    """Create the missing vocabulary items from `path`; with `update`, overwrite edits.

    Without `update`, items that exist are left as administrators edited them, so that
    re-running the loader (as `make demo` does) never undoes a local change.
    All-or-nothing: any invalid item aborts the whole load with a full error list.
    """
    data = _read(path)
    errors = _validate(path, data)
    if errors:
        raise ReferentielError(errors)
    report = LoadReport()
    with transaction.atomic():
        for key, model in REFERENCE_MODELS.items():
            existing = {obj.code: obj for obj in model.objects.all()}
            created = updated = unchanged = 0
            for item in data.get(key, []):
                obj = existing.get(item["code"])
                if obj is None:
                    model.objects.create(**item)
                    created += 1
                elif update and any(getattr(obj, k) != v for k, v in item.items()):
                    for name, value in item.items():
                        setattr(obj, name, value)
                    obj.save()
                    updated += 1
                else:
                    unchanged += 1
            report.created[key], report.updated[key], report.unchanged[key] = (
                created,
                updated,
                unchanged,
            )
        created, updated = sum(report.created.values()), sum(report.updated.values())
        if created or updated:
            audit.record(
                action=AuditAction.LOAD,
                note=f"Référentiel chargé depuis {path.name} : "
                f"{created} créé(s), {updated} mis à jour",
            )
    return report
