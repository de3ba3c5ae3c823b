"""Builds a believable demonstration region on the real territories of Nord and Pas-de-Calais.

Everything goes through the same services as real use (so it is journaled), under a
demo administrator. Re-running is safe: what exists (by SIRET or e-mail) is reused.
The names of structures are fictitious; communes, EPCI and départements are real.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q

from lien.core.models import Membership, Role, User
from lien.referentiel.models import Domain, EmployerType, FundingProgram, PartnerType, ProjectStage
from lien.structures import services as structure_services
from lien.structures.models import AfnorStatus, Organisation, OrganisationKind, Structure
from lien.structures.validators import make_siret
from lien.territories.models import Level, Territory

DEMO_PASSWORD = "demo-lien-2026"  # noqa: S105 — documented demo password, refused unless DEBUG


def demo_email(local: str) -> str:
    return f"{local}@{settings.DEMO_EMAIL_DOMAIN}"


@dataclass(frozen=True)
class StructureSpec:
    key: str
    name: str
    employer_type: str
    commune: str
    network: str
    afnor: str
    services: list[tuple[str, list[str], list[str], list[str]]]
    """(service name, domain codes, territory codes, commissioning body keys)"""


FUNDERS = {
    # key: (name, funding program code, territory code and level)
    "prefecture": (
        "Préfecture du Nord — politique de la ville",
        "politique-ville",
        ("59", Level.DEPARTEMENT),
    ),
    "region": ("Région Hauts-de-France", "region", ("32", Level.REGION)),
    "departement": ("Département du Nord", "departement", ("59", Level.DEPARTEMENT)),
    "mel": ("Métropole Européenne de Lille", "epci-commune", ("200093201", Level.EPCI)),
    "roubaix": ("Ville de Roubaix", "epci-commune", ("59512", Level.COMMUNE)),
    "lens": (
        "Communauté d'agglomération de Lens-Liévin",
        "epci-commune",
        ("200033579", Level.EPCI),
    ),
    "cdc": ("Caisse des Dépôts — direction régionale", "caisse-depots", ("32", Level.REGION)),
    "bailleur": (
        "Logis du Nord (bailleur social, démonstration)",
        "bailleur",
        ("59", Level.DEPARTEMENT),
    ),
    "transporteur": (
        "Réseau de transport de l'Artois (démonstration)",
        "transporteur",
        ("62", Level.DEPARTEMENT),
    ),
}

PARTNERS = {
    "caf": ("CAF du Nord", "caf", ("59", Level.DEPARTEMENT)),
    "cpam": ("CPAM de Roubaix-Tourcoing", "cpam", ("59512", Level.COMMUNE)),
    "france-travail": ("France Travail Roubaix", "france-travail", ("59512", Level.COMMUNE)),
    "ccas": ("CCAS de Roubaix", "ccas", ("59512", Level.COMMUNE)),
    "energie": (
        "Fournisseur d'énergie (démonstration)",
        "fournisseur-energie",
        ("32", Level.REGION),
    ),
    "college": (
        "Collège Albert Samain (démonstration)",
        "etablissement-scolaire",
        ("59512", Level.COMMUNE),
    ),
    "caf62": ("CAF du Pas-de-Calais", "caf", ("62", Level.DEPARTEMENT)),
}

STRUCTURES = [
    StructureSpec(
        "association",
        "Trait d'Union Médiation (association)",
        "association",
        "59512",
        "France Médiation",
        AfnorStatus.CERTIFIED,
        [
            (
                "Médiation sociale de proximité — Roubaix",
                ["espaces-publics", "habitat-social"],
                ["59512", "QX05951A"],
                ["mel", "roubaix", "prefecture"],
            ),
            (
                "Médiation scolaire — collèges de Roubaix",
                ["milieu-scolaire"],
                ["59512"],
                ["roubaix", "departement"],
            ),
        ],
    ),
    StructureSpec(
        "ville",
        "Ville de Tourcoing — service de médiation",
        "collectivite",
        "59599",
        "",
        AfnorStatus.IN_PROGRESS,
        [
            (
                "Correspondants de nuit de Tourcoing",
                ["espaces-publics"],
                ["59599", "QX05959B"],
                ["mel", "prefecture"],
            ),
        ],
    ),
    StructureSpec(
        "bailleur",
        "Logis du Nord — médiation résidentielle",
        "bailleur",
        "59350",
        "",
        AfnorStatus.NONE,
        [
            (
                "Médiation résidentielle Lille-Sud",
                ["habitat-social"],
                ["59350", "QX05935C"],
                ["bailleur"],
            ),
        ],
    ),
    StructureSpec(
        "pimms",
        "Point information médiation multi services de Lens",
        "assemblier",
        "62498",
        "Union nationale des PIMMS",
        AfnorStatus.CERTIFIED,
        [
            (
                "Accès aux droits et au numérique — Lens",
                ["services-publics"],
                ["62498", "QX06249D"],
                ["lens", "cdc", "region"],
            ),
        ],
    ),
    StructureSpec(
        "transport",
        "Transports de l'Artois — médiation réseau",
        "transporteur",
        "62041",
        "",
        AfnorStatus.NONE,
        [
            ("Médiation sur le réseau urbain d'Arras", ["transports"], ["62041"], ["transporteur"]),
        ],
    ),
]

EXTRA_TYPES = ["association", "operateur-prestataire", "gip", "groupement-employeurs"]

FIRST_NAMES = [
    "Amina",
    "Karim",
    "Sophie",
    "Yacine",
    "Nadia",
    "Julien",
    "Fatou",
    "Mehdi",
    "Claire",
    "Samir",
    "Léa",
    "Moussa",
    "Inès",
    "Thomas",
    "Aïcha",
    "Kevin",
    "Sarah",
    "Bilal",
    "Élodie",
    "Rachid",
    "Laura",
    "Ousmane",
    "Camille",
    "Hakim",
    "Manon",
    "Djibril",
    "Émilie",
    "Nordine",
]
LAST_NAMES = [
    "Benali",
    "Lefebvre",
    "Diallo",
    "Dupont",
    "Haddad",
    "Martin",
    "Traoré",
    "Lemaire",
    "Boukhari",
    "Deschamps",
    "Nguyen",
    "Mercier",
    "Kaci",
    "Vasseur",
    "Camara",
    "Delattre",
    "Mansouri",
    "Leroy",
    "Cissé",
    "Dubois",
    "Ziani",
    "Carpentier",
    "Fofana",
    "Lambert",
]


@dataclass
class DemoReport:
    structures: int = 0
    services: int = 0
    organisations: int = 0
    users: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def _territory(code: str, level: str | None = None) -> Territory:
    qs = Territory.objects.filter(code=code)
    if level:
        qs = qs.filter(level=level)
    return qs.get()


def _user(email: str, full_name: str, *, password: str | None, staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "is_staff": staff, "is_superuser": staff}
    )
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user


def _membership(user: User, role: str, **scope) -> Membership:
    membership, _ = Membership.objects.get_or_create(user=user, role=role, **scope)
    return membership


def _organisations(actor: Membership, report: DemoReport) -> dict[str, Organisation]:
    found = {}
    for kind, table in ((OrganisationKind.FUNDER, FUNDERS), (OrganisationKind.PARTNER, PARTNERS)):
        for key, (name, type_code, (territory_code, level)) in table.items():
            organisation = Organisation.objects.filter(name=name).first()
            if organisation is None:
                data = {
                    "name": name,
                    "kind": kind,
                    "territory": _territory(territory_code, level),
                }
                if kind == OrganisationKind.FUNDER:
                    data["funding_program"] = FundingProgram.objects.get(code=type_code)
                else:
                    data["partner_type"] = PartnerType.objects.get(code=type_code)
                organisation = structure_services.organisation_create(actor=actor, data=data)
                report.organisations += 1
            found[key] = organisation
    return found


def _structure(
    actor: Membership,
    spec: StructureSpec,
    index: int,
    report: DemoReport,
    organisations: dict[str, Organisation],
    rng: random.Random,
) -> Structure:
    siret = make_siret(f"9{index:07d}", "0001")
    structure = Structure.objects.filter(siret=siret).first()
    if structure is None:
        afnor_dates = {}
        if spec.afnor == AfnorStatus.CERTIFIED:
            certified = datetime.date(2024, rng.randint(1, 12), rng.randint(1, 28))
            afnor_dates = {
                "afnor_certified_on": certified,
                "afnor_next_audit_on": certified.replace(year=certified.year + 3),
            }
        structure = structure_services.structure_create(
            actor=actor,
            data={
                "name": spec.name,
                "employer_type": EmployerType.objects.get(code=spec.employer_type),
                "siret": siret,
                "network": spec.network,
                "commune": _territory(spec.commune, Level.COMMUNE),
                "afnor_status": spec.afnor,
                **afnor_dates,
            },
        )
        report.structures += 1
        for name, domains, territories, bodies in spec.services:
            known = [c for c in territories if Territory.objects.filter(code=c).exists()]
            structure_services.service_create(
                actor=actor,
                structure=structure,
                data={
                    "name": name,
                    "domains": list(Domain.objects.filter(code__in=domains)),
                    "territories": list(Territory.objects.filter(code__in=known)),
                    "commissioning_bodies": [organisations[b] for b in bodies],
                    "stage": ProjectStage.objects.get(
                        code=rng.choice(["demarrage", "developpement", "perennisation"])
                    ),
                    "starts_on": datetime.date(rng.randint(2012, 2022), rng.randint(1, 12), 1),
                    "objectives": "Prévenir et gérer les conflits de la vie quotidienne ; "
                    "favoriser l'accès aux droits ; renforcer le lien entre habitants "
                    "et institutions.",
                },
            )
            report.services += 1
    return structure


def _team(
    structure: Structure, index: int, size: int, rng: random.Random, report: DemoReport
) -> None:
    for k in range(size):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        user = _user(
            demo_email(f"equipe.s{index:02d}.m{k + 1:02d}"), f"{first} {last}", password=None
        )
        _membership(user, Role.MEDIATOR, structure=structure)
        report.users += 1


def _extra_specs(scale: int, rng: random.Random) -> list[StructureSpec]:
    """For --scale N > 1, more associations in the most populous communes of 59/62."""
    if scale <= 1:
        return []
    used = {spec.commune for spec in STRUCTURES}
    communes = list(
        Territory.objects.communes()
        .filter(Q(code__startswith="59") | Q(code__startswith="62"))
        .exclude(code__in=used)
        .order_by("-population", "code")[: (scale - 1) * len(STRUCTURES)]
    )
    specs = []
    for commune in communes:
        specs.append(
            StructureSpec(
                f"extra-{commune.code}",
                f"Médiation sociale {commune.name} (démonstration)",
                rng.choice(EXTRA_TYPES),
                commune.code,
                rng.choice(["", "France Médiation"]),
                rng.choice([AfnorStatus.NONE, AfnorStatus.IN_PROGRESS]),
                [
                    (
                        f"Médiation de proximité — {commune.name}",
                        rng.sample(["espaces-publics", "habitat-social", "services-publics"], 2),
                        [commune.code],
                        ["prefecture", "region"],
                    )
                ],
            )
        )
    return specs


def ensure_demo_territories() -> None:
    if not Territory.objects.filter(level=Level.COMMUNE, code="59512").exists():
        call_command("load_territories", verbosity=0)
    if not Territory.objects.qpvs().exists():
        call_command("load_territories", "--qpv-demo", verbosity=0)


@transaction.atomic
def demo_build(*, scale: int = 1, seed: int = 2026) -> DemoReport:
    """Create (or complete) the demonstration region. `scale` multiplies the structures."""
    rng = random.Random(seed)
    report = DemoReport()
    ensure_demo_territories()

    admin_user = _user(
        demo_email("admin"), "Administration Lien", password=DEMO_PASSWORD, staff=True
    )
    admin = _membership(admin_user, Role.ADMIN)
    organisations = _organisations(admin, report)

    structures = []
    for index, spec in enumerate(STRUCTURES + _extra_specs(scale, rng), start=1):
        structure = _structure(admin, spec, index, report, organisations, rng)
        structures.append((spec, structure))
        if not Membership.objects.filter(structure=structure, role=Role.MEDIATOR).exists():
            _team(structure, index, rng.randint(8, 12), rng, report)
    by_key = {spec.key: structure for spec, structure in structures}

    fixed = [
        ("mediateur", "Amina Benali", Role.MEDIATOR, {"structure": by_key["association"]}),
        ("coordination", "Julien Lefebvre", Role.COORDINATOR, {"structure": by_key["association"]}),
        ("mediateur2", "Karim Haddad", Role.MEDIATOR, {"structure": by_key["pimms"]}),
        ("financeur", "Claire Mercier", Role.FUNDER, {"organisation": organisations["mel"]}),
        ("partenaire", "Sophie Nguyen", Role.PARTNER, {"organisation": organisations["caf"]}),
        ("pilotage", "Hakim Ziani", Role.STEERING, {"territory": _territory("32", Level.REGION)}),
    ]
    for local, name, role, scope in fixed:
        user = _user(demo_email(local), name, password=DEMO_PASSWORD)
        membership = _membership(user, role, **scope)
        report.logins.append((user.email, membership.get_role_display(), membership.scope_label))
    report.logins.append((admin_user.email, admin.get_role_display(), admin.scope_label))
    return report
