"""Territories: région → département → EPCI → commune → QPV, in one hierarchy.

Every territory has a primary `parent` and a materialised `path` of codes along that
primary chain (for display and ordering). A commune hangs under its EPCI, and also under
its département through `secondary_parents`; an EPCI can straddle two départements and a
QPV several communes, so aggregation does not rely on the path: the closure table
`TerritoryAncestor` holds one row per (ancestor, descendant) pair over *every* parent
link, so "all facts within territory X" is one join:

    facts JOIN territories_territoryancestor a ON a.descendant_id = facts.commune_id
    WHERE a.ancestor_id = X
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    REGION = "region", _("région")
    DEPARTEMENT = "departement", _("département")
    EPCI = "epci", _("EPCI")
    COMMUNE = "commune", _("commune")
    QPV = "qpv", _("quartier prioritaire (QPV)")


#: Depth of each level in the hierarchy (région = 0).
LEVEL_DEPTH = {
    Level.REGION: 0,
    Level.DEPARTEMENT: 1,
    Level.EPCI: 2,
    Level.COMMUNE: 3,
    Level.QPV: 4,
}


class TerritoryQuerySet(models.QuerySet):
    def of_level(self, level: str):
        return self.filter(level=level)

    def communes(self):
        return self.filter(level=Level.COMMUNE)

    def qpvs(self):
        return self.filter(level=Level.QPV)

    def within(self, territory: "Territory"):
        """Territories at or below `territory`, over every parent link (one join)."""
        return self.filter(ancestor_links__ancestor=territory)


class Territory(models.Model):
    level = models.CharField(_("niveau"), max_length=12, choices=Level.choices)
    # INSEE code for régions, départements and communes; SIREN for EPCI; QPV code.
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("nom"), max_length=200)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("rattachement principal"),
    )
    path = models.CharField(_("chemin"), max_length=255, db_index=True, editable=False)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    # Outline as a GeoJSON geometry (Polygon or MultiPolygon, WGS 84), when loaded.
    geometry = models.JSONField(_("contour GeoJSON"), null=True, blank=True)
    # Demonstration QPV created by the demo until the official list is loaded.
    is_demo = models.BooleanField(_("donnée de démonstration"), default=False)
    # Parent links besides the primary one: a commune's département when its primary
    # parent is its EPCI, an EPCI's other départements, a QPV's other communes.
    secondary_parents = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="secondary_children",
        verbose_name=_("autres rattachements"),
    )

    objects = TerritoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("territoire")
        verbose_name_plural = _("territoires")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["level", "code"], name="territory_unique_level_code"),
        ]
        indexes = [models.Index(fields=["level", "name"], name="territory_level_name_idx")]

    def __str__(self) -> str:
        if self.level == Level.COMMUNE:
            return f"{self.name} ({self.code})"
        if self.level == Level.DEPARTEMENT:
            return f"{self.name} ({self.code})"
        return self.name


class TerritoryAncestor(models.Model):
    """Closure table: `ancestor` contains `descendant` (each territory contains itself)."""

    ancestor = models.ForeignKey(
        Territory, on_delete=models.CASCADE, related_name="descendant_links"
    )
    descendant = models.ForeignKey(
        Territory, on_delete=models.CASCADE, related_name="ancestor_links"
    )
    # Levels between the two along the link (0 for the territory itself).
    distance = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("lien d'appartenance territoriale")
        verbose_name_plural = _("liens d'appartenance territoriale")
        constraints = [
            models.UniqueConstraint(
                fields=["ancestor", "descendant"], name="territory_ancestor_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["descendant", "ancestor"], name="territory_desc_anc_idx"),
        ]
