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

import re
import unicodedata

from django.db import models
from django.db.models import Case, IntegerField, Q, Value, When
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


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_name(text: str) -> str:
    """Lower case, without accents, words separated by one space: "Liévin" -> "lievin".

    Stored in `Territory.search_name` so that an accent-insensitive search is a plain
    LIKE on every database (SQLite has no `unaccent`).
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _NOT_ALNUM.sub(" ", plain).strip()


class TerritoryQuerySet(models.QuerySet):
    def of_level(self, level: str):
        return self.filter(level=level)

    def regions(self):
        return self.filter(level=Level.REGION)

    def departements(self):
        return self.filter(level=Level.DEPARTEMENT)

    def epcis(self):
        return self.filter(level=Level.EPCI)

    def communes(self):
        return self.filter(level=Level.COMMUNE)

    def qpvs(self):
        return self.filter(level=Level.QPV)

    def demo(self):
        return self.filter(is_demo=True)

    def within(self, territory: "Territory"):
        """Territories at or below `territory`, over every parent link (one join)."""
        return self.filter(ancestor_links__ancestor=territory)

    def ancestors_of(self, territory: "Territory"):
        """Territories containing `territory`, itself included, over every parent link.

        A commune's ancestors are its EPCI, its own département and its région (not the
        other départements its EPCI straddles); a QPV's are its communes and theirs.
        """
        return self.filter(descendant_links__descendant=territory)

    def search(self, text: str):
        """Territories whose code starts with `text` or a word of whose name does.

        Accent- and case-insensitive ("lievin" finds Liévin, "pol" finds
        Saint-Pol-sur-Ternoise). Ordered: exact code first, then name prefix, then by
        level (région first) and name.
        """
        text = text.strip()
        if not text:
            return self.none()
        needle = normalize_name(text)
        matches = Q(code__istartswith=text)
        ranks = [When(code__iexact=text, then=Value(0))]
        if needle:
            matches |= Q(search_name__startswith=needle) | Q(search_name__contains=f" {needle}")
            ranks.append(When(search_name__startswith=needle, then=Value(1)))
        rank = Case(*ranks, default=Value(2), output_field=IntegerField())
        depth = Case(
            *(When(level=level, then=Value(d)) for level, d in LEVEL_DEPTH.items()),
            output_field=IntegerField(),
        )
        return (
            self.filter(matches)
            .annotate(search_rank=rank, level_depth=depth)
            .order_by("search_rank", "level_depth", "name", "code")
        )


class Territory(models.Model):
    level = models.CharField(_("niveau"), max_length=12, choices=Level.choices)
    # INSEE code for régions, départements and communes; SIREN for EPCI; QPV code.
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("nom"), max_length=200)
    # `name` lower-cased without accents (see `normalize_name`), kept up to date by save()
    # and by the loader's bulk writes.
    search_name = models.CharField(
        _("nom normalisé"), max_length=200, blank=True, default="", editable=False
    )
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
        if self.level in (Level.COMMUNE, Level.DEPARTEMENT):
            return f"{self.name} ({self.code})"
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = normalize_name(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)


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

    def __str__(self) -> str:
        return f"{self.ancestor_id} ⊇ {self.descendant_id} ({self.distance})"
