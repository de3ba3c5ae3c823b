"""Roll-ups ("cubes"): narrow aggregate tables, one per family of dashboard questions.

A single roll-up keyed by every dimension does not compress (measured: 10 M facts gave
9.98 M rows); narrow cubes do. Each cube is keyed by month and a few dimensions, holds
counts and sums, and is updated by the write path in the same transaction as the facts
(`lien.indicators.rollups`). Keys are plain integers/UUIDs, not foreign keys: a cube row
outlives nothing and is rebuilt from the facts by `manage.py rebuild_rollups`. A missing
optional dimension is stored as 0 (not NULL) so that the unique key and the upsert work
the same on SQLite and PostgreSQL.
"""

from django.db import models


class ActivityCube(models.Model):
    """Where and what: month × structure × service × commune × QPV × domain × activity."""

    month = models.DateField()
    structure_id = models.UUIDField()
    service_id = models.UUIDField()
    commune_id = models.IntegerField()
    qpv_id = models.IntegerField()  # 0 = outside any QPV
    domain_id = models.IntegerField()
    activity_type_id = models.IntegerField()
    interventions = models.BigIntegerField(default=0)
    people_met = models.BigIntegerField(default=0)
    minutes = models.BigIntegerField(default=0)
    with_outcome = models.BigIntegerField(default=0)
    emergencies = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "structure_id",
                    "service_id",
                    "commune_id",
                    "qpv_id",
                    "domain_id",
                    "activity_type_id",
                ],
                name="activity_cube_key",
            )
        ]
        indexes = [
            models.Index(fields=["structure_id", "month"], name="activity_cube_struct_month"),
            models.Index(fields=["service_id", "month"], name="activity_cube_service_month"),
            models.Index(fields=["commune_id", "month"], name="activity_cube_commune_month"),
            # Wide perimeters filtered by domain and/or activity count communes and QPV and
            # break down by commune or QPV here: these carry every column those questions
            # read, so PostgreSQL answers from the index alone (an index-only scan), 4x
            # faster than visiting the rows at 10 M interventions (bench/).
            models.Index(
                fields=["activity_type_id", "month", "commune_id", "qpv_id", "interventions"],
                name="activity_cube_activity_cover",
            ),
            models.Index(
                fields=[
                    "domain_id",
                    "activity_type_id",
                    "month",
                    "commune_id",
                    "qpv_id",
                    "interventions",
                ],
                name="activity_cube_domain_cover",
            ),
            models.Index(fields=["month", "commune_id"], name="activity_cube_month_commune"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.structure_id}"


class ResultCube(models.Model):
    """How it ended: month × structure × service × commune × domain × activity × outcome
    × timing."""

    month = models.DateField()
    structure_id = models.UUIDField()
    service_id = models.UUIDField()
    commune_id = models.IntegerField()
    domain_id = models.IntegerField()
    activity_type_id = models.IntegerField()
    outcome_id = models.IntegerField()  # 0 = none
    timing = models.CharField(max_length=12)  # "" = not applicable
    interventions = models.BigIntegerField(default=0)
    people_met = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "structure_id",
                    "service_id",
                    "commune_id",
                    "domain_id",
                    "activity_type_id",
                    "outcome_id",
                    "timing",
                ],
                name="result_cube_key",
            )
        ]
        indexes = [
            models.Index(fields=["structure_id", "month"], name="result_cube_struct_month"),
            models.Index(fields=["service_id", "month"], name="result_cube_service_month"),
            models.Index(fields=["commune_id", "month"], name="result_cube_commune_month"),
            models.Index(fields=["month", "commune_id"], name="result_cube_month_commune"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.structure_id}"


class SituationCube(models.Model):
    """What situations: month × structure × service × commune × domain × situation."""

    month = models.DateField()
    structure_id = models.UUIDField()
    service_id = models.UUIDField()
    commune_id = models.IntegerField()
    domain_id = models.IntegerField()
    situation_category_id = models.IntegerField()  # 0 = none
    interventions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "structure_id",
                    "service_id",
                    "commune_id",
                    "domain_id",
                    "situation_category_id",
                ],
                name="situation_cube_key",
            )
        ]
        indexes = [
            models.Index(fields=["structure_id", "month"], name="situation_cube_struct_month"),
            models.Index(fields=["service_id", "month"], name="situation_cube_service_month"),
            models.Index(fields=["commune_id", "month"], name="situation_cube_commune_month"),
            models.Index(fields=["month", "commune_id"], name="situation_cube_month_commune"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.structure_id}"


class RequestCube(models.Model):
    """Requests by theme, counted apart from people: month × structure × service × commune
    × QPV × theme."""

    month = models.DateField()
    structure_id = models.UUIDField()
    service_id = models.UUIDField()
    commune_id = models.IntegerField()
    qpv_id = models.IntegerField()
    theme_id = models.IntegerField()
    requests = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "structure_id", "service_id", "commune_id", "qpv_id", "theme_id"],
                name="request_cube_key",
            )
        ]
        indexes = [
            models.Index(fields=["structure_id", "month"], name="request_cube_struct_month"),
            models.Index(fields=["service_id", "month"], name="request_cube_service_month"),
            models.Index(fields=["commune_id", "month"], name="request_cube_commune_month"),
            models.Index(fields=["month", "commune_id"], name="request_cube_month_commune"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.structure_id}"


# --- area cubes: the same facts without structure, service or commune ----------------------
#
# Region- and nation-wide dashboards count every structure: on the cubes above they would
# scan millions of rows. These keep one row per month × région × type of employer × the
# dashboard's dimensions, and are derived from the cubes above (same transaction on write,
# INSERT … SELECT from them on rebuild). The engine reads them whenever a perimeter
# restricts neither structures nor services and is a whole région or the country.


class AreaActivityCube(models.Model):
    month = models.DateField()
    region_id = models.IntegerField()
    employer_type_id = models.IntegerField()
    in_qpv = models.SmallIntegerField()  # 1 inside a QPV, 0 outside
    domain_id = models.IntegerField()
    activity_type_id = models.IntegerField()
    interventions = models.BigIntegerField(default=0)
    people_met = models.BigIntegerField(default=0)
    minutes = models.BigIntegerField(default=0)
    with_outcome = models.BigIntegerField(default=0)
    emergencies = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region_id", "employer_type_id", "in_qpv", "domain_id",
                        "activity_type_id"],
                name="area_activity_key",
            )
        ]  # fmt: skip
        indexes = [models.Index(fields=["region_id", "month"], name="area_activity_region_month")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.region_id}"


class AreaResultCube(models.Model):
    month = models.DateField()
    region_id = models.IntegerField()
    employer_type_id = models.IntegerField()
    domain_id = models.IntegerField()
    activity_type_id = models.IntegerField()
    outcome_id = models.IntegerField()
    timing = models.CharField(max_length=12)
    interventions = models.BigIntegerField(default=0)
    people_met = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region_id", "employer_type_id", "domain_id",
                        "activity_type_id", "outcome_id", "timing"],
                name="area_result_key",
            )
        ]  # fmt: skip
        indexes = [models.Index(fields=["region_id", "month"], name="area_result_region_month")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.region_id}"


class AreaSituationCube(models.Model):
    month = models.DateField()
    region_id = models.IntegerField()
    employer_type_id = models.IntegerField()
    domain_id = models.IntegerField()
    situation_category_id = models.IntegerField()
    interventions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region_id", "employer_type_id", "domain_id",
                        "situation_category_id"],
                name="area_situation_key",
            )
        ]  # fmt: skip
        indexes = [models.Index(fields=["region_id", "month"], name="area_situation_region_month")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.region_id}"


class AreaRequestCube(models.Model):
    month = models.DateField()
    region_id = models.IntegerField()
    employer_type_id = models.IntegerField()
    in_qpv = models.SmallIntegerField()
    theme_id = models.IntegerField()
    requests = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region_id", "employer_type_id", "in_qpv", "theme_id"],
                name="area_request_key",
            )
        ]
        indexes = [models.Index(fields=["region_id", "month"], name="area_request_region_month")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.region_id}"


class AreaCoverageCube(models.Model):
    """Which communes and QPV had activity: distinct counts for wide perimeters."""

    month = models.DateField()
    region_id = models.IntegerField()
    employer_type_id = models.IntegerField()
    commune_id = models.IntegerField()
    qpv_id = models.IntegerField()
    interventions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region_id", "employer_type_id", "commune_id", "qpv_id"],
                name="area_coverage_key",
            )
        ]
        indexes = [models.Index(fields=["region_id", "month"], name="area_coverage_region_month")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.month:%Y-%m} {self.region_id}"


class IndicatorFamily(models.TextChoices):
    JOBS = "jobs", "Emplois et professionnalisation"
    ACTIVITY = "activity", "Activité"
    RESULTS = "results", "Résultats"
    UTILITY = "utility", "Utilité sociale"
    QUALITY = "quality", "Qualité des données"


class IndicatorLevel(models.TextChoices):
    OUTPUT = "realisation", "Réalisation"
    RESULT = "resultat", "Résultat"
    IMPACT = "impact", "Impact"


class IndicatorDefinition(models.Model):
    """An indicator as data: numerator / denominator measures, filters, unit.

    Measures are the named sums the engine knows how to compute
    (`lien.indicators.engine.MEASURES`); filters narrow them by activity, domain,
    outcome family or timing. An administrator builds a new indicator from these without
    code. Measures of other records (jobs, follow-up, social-utility evaluation) are
    computed from those records rather than from the roll-up cubes.
    """

    code = models.SlugField("code", max_length=60, unique=True)
    label = models.CharField("libellé", max_length=200)
    description = models.TextField("définition", blank=True)
    family = models.CharField("famille", max_length=12, choices=IndicatorFamily.choices)
    register = models.ForeignKey(
        "referentiel.UtilityRegister",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name="registre CITER",
    )
    level = models.CharField("niveau", max_length=12, choices=IndicatorLevel.choices)
    unit = models.CharField("unité", max_length=30, default="nombre")
    numerator = models.CharField("mesure (numérateur)", max_length=60)
    numerator_filters = models.JSONField("filtres du numérateur", default=dict, blank=True)
    denominator = models.CharField("mesure (dénominateur)", max_length=60, blank=True)
    denominator_filters = models.JSONField("filtres du dénominateur", default=dict, blank=True)
    scale = models.PositiveIntegerField(
        "multiplicateur", default=1, help_text="100 pour un pourcentage."
    )
    position = models.PositiveSmallIntegerField("ordre", default=0)
    is_active = models.BooleanField("actif", default=True)

    class Meta:
        verbose_name = "indicateur"
        verbose_name_plural = "indicateurs"
        ordering = ["family", "position", "code"]

    def __str__(self) -> str:
        return self.label

    def clean(self):
        from django.core.exceptions import ValidationError

        from lien.indicators.engine import validate_definition

        errors = validate_definition(self)
        if errors:
            raise ValidationError(errors)


class IndicatorTarget(models.Model):
    """A target value for an indicator, for a framework agreement's period or a service."""

    indicator = models.ForeignKey(
        IndicatorDefinition, on_delete=models.CASCADE, related_name="targets"
    )
    service = models.ForeignKey(
        "structures.Service", on_delete=models.CASCADE, null=True, blank=True
    )
    label = models.CharField("objet", max_length=200, blank=True)
    starts_on = models.DateField("début")
    ends_on = models.DateField("fin")
    value = models.DecimalField("cible", max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = "cible"
        verbose_name_plural = "cibles"
        ordering = ["indicator", "starts_on"]

    def __str__(self) -> str:
        return f"{self.indicator} : {self.value}"
