"""Steering records for tests: an agreement with a target, an experiment, a meeting with a
decision, and a finished funder report whose files exist."""

import datetime
from decimal import Decimal

from django.core.files.base import ContentFile

from lien.indicators.models import IndicatorDefinition
from lien.steering.models import (
    AgreementTarget,
    Decision,
    Experiment,
    FrameworkAgreement,
    Report,
    ReportKind,
    ReportState,
    SteeringMeeting,
)
from tests.factories import ProjectStageFactory


def make_agreement(territory, **fields) -> FrameworkAgreement:
    fields.setdefault("title", f"Convention {territory.name}")
    fields.setdefault("starts_on", datetime.date(2024, 1, 1))
    fields.setdefault("ends_on", datetime.date(2027, 12, 31))
    fields.setdefault("job_target", 100)
    return FrameworkAgreement.objects.create(territory=territory, **fields)


def indicator(code="taux-resolution") -> IndicatorDefinition:
    found = IndicatorDefinition.objects.filter(code=code).first()
    if found:
        return found
    return IndicatorDefinition.objects.create(
        code=code, label="Taux de résolution", family="results", level="resultat", unit="%",
        numerator="interventions",
    )  # fmt: skip


def make_done_report(service, funder) -> Report:
    report = Report.objects.create(
        kind=ReportKind.FUNDER,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 6, 1),
        service=service,
        funder=funder,
        state=ReportState.DONE,
        progress=100,
    )
    report.pdf.save("bilan.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
    report.xlsx.save("bilan.xlsx", ContentFile(b"PK test"), save=False)
    report.save()
    return report


def make_steering(territory, *, service, funder) -> dict:
    """Keys are the route parameters' object names."""
    agreement = make_agreement(territory, title=f"Convention secrète {territory.name}")
    target = AgreementTarget.objects.create(
        agreement=agreement, indicator=indicator(), value=Decimal("70")
    )
    experiment = Experiment.objects.create(
        agreement=agreement, name="Expérimentation", site="Site", territory=territory,
        pooling_model="employers_group", stage=ProjectStageFactory(),
        starts_on=datetime.date(2025, 1, 1),
    )  # fmt: skip
    meeting = SteeringMeeting.objects.create(agreement=agreement, held_on=datetime.date(2025, 6, 1))
    decision = Decision.objects.create(meeting=meeting, text="Décision", owner="Mission d'appui")
    return {
        "framework": agreement,
        "target": target,
        "experiment": experiment,
        "meeting": meeting,
        "decision": decision,
        "generated_report": make_done_report(service, funder),
    }
