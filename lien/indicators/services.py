"""Loading the shipped indicator definitions (re-runnable; keeps administrators' edits)."""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from lien.core import audit
from lien.core.models import AuditAction
from lien.indicators.models import IndicatorDefinition
from lien.referentiel.models import UtilityRegister

DEFAULT_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "indicators.json"


@transaction.atomic
def indicators_load(*, path: Path = DEFAULT_FIXTURE, update: bool = False) -> tuple[int, int]:
    """Create missing definitions (and overwrite existing ones with `update`).

    All-or-nothing: an invalid definition aborts the load with every error listed.
    Returns (created, updated).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    registers = {r.code: r for r in UtilityRegister.objects.all()}
    errors, created, updated = [], 0, 0
    for index, item in enumerate(data.get("indicators", []), start=1):
        item = dict(item)
        register_code = item.pop("register", None)
        if register_code and register_code not in registers:
            errors.append(f"{path.name} : indicators[{index}] : registre inconnu {register_code}")
            continue
        item["register"] = registers.get(register_code) if register_code else None
        existing = IndicatorDefinition.objects.filter(code=item["code"]).first()
        if existing is not None and not update:
            continue
        definition = existing or IndicatorDefinition()
        for name, value in item.items():
            setattr(definition, name, value)
        try:
            definition.full_clean()
        except ValidationError as exc:
            errors += [
                f"{path.name} : indicators[{index}] ({item['code']}) : {field} — {message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
            continue
        definition.save()
        created += existing is None
        updated += existing is not None
    if errors:
        raise ValidationError(errors)
    if created or updated:
        audit.record(
            action=AuditAction.LOAD,
            note=f"Indicateurs : {created} créé(s), {updated} mis à jour",
        )
    return created, updated
