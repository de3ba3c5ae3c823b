"""The navigation menu and the home page's cards, by role.

Each entry names a URL and the roles that see it. An entry whose URL does not resolve
(its app is not built yet) is left out of the menu, and its home card is shown as
"bientôt" without a link, so the interface never offers a dead link.
"""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from lien.core.models import Membership, Role


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    roles: frozenset[str]


NAV: list[NavEntry] = [
    NavEntry(_("Accueil"), "home", frozenset(Role.values)),
    NavEntry(_("Saisir"), "logbook:log_intervention", frozenset({Role.MEDIATOR})),
    NavEntry(_("Mes saisies"), "logbook:my_entries", frozenset({Role.MEDIATOR})),
    NavEntry(_("Suivi"), "followup:situation_list", frozenset({Role.MEDIATOR, Role.COORDINATOR})),
    NavEntry(_("Orientations reçues"), "followup:referral_inbox", frozenset({Role.PARTNER})),
    NavEntry(
        _("Signalements reçus"), "followup:report_inbox", frozenset({Role.FUNDER, Role.PARTNER})
    ),
    NavEntry(
        _("Veille sociale"), "followup:observation_list", frozenset({Role.FUNDER, Role.PARTNER})
    ),
    NavEntry(_("Tournées"), "logbook:shift_list", frozenset({Role.MEDIATOR, Role.COORDINATOR})),
    NavEntry(_("Activité de l'équipe"), "logbook:team_log", frozenset({Role.COORDINATOR})),
    NavEntry(_("Mon mois"), "indicators:my_month", frozenset({Role.MEDIATOR})),
    NavEntry(
        _("Tableaux de bord"),
        "indicators:dashboard",
        frozenset({Role.COORDINATOR, Role.FUNDER, Role.STEERING, Role.ADMIN}),
    ),
    NavEntry(
        _("Ma structure"),
        "structures:my_structure",
        frozenset({Role.MEDIATOR, Role.COORDINATOR}),
    ),
    NavEntry(
        _("Structures"),
        "structures:structure_list",
        frozenset({Role.FUNDER, Role.STEERING, Role.ADMIN}),
    ),
    NavEntry(_("Pilotage"), "steering:framework_list", frozenset({Role.STEERING, Role.ADMIN})),
    NavEntry(
        _("Bilans"), "steering:generated_report_list", frozenset({Role.COORDINATOR, Role.STEERING})
    ),
    NavEntry(_("Imports"), "imports:import_list", frozenset({Role.COORDINATOR, Role.ADMIN})),
    NavEntry(_("Journal d'audit"), "audit_log", frozenset({Role.COORDINATOR, Role.ADMIN})),
    NavEntry(_("Administration"), "admin:index", frozenset({Role.ADMIN})),
]


def _resolve(url_name: str, kwargs: dict | None = None) -> str | None:
    try:
        return reverse(url_name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def _is_current(path: str, url: str) -> bool:
    """The entry for `url` is current on that page and, except home, on pages below it."""
    if url == "/":
        return path == "/"
    return path == url or path.startswith(url)


def menu_for(membership: Membership, request) -> list[dict]:
    items = []
    for entry in NAV:
        if membership.role not in entry.roles:
            continue
        url = _resolve(entry.url_name)
        if url is None:
            continue
        items.append({"label": entry.label, "url": url, "current": _is_current(request.path, url)})
    # Only one entry is the current page: the most specific (longest) match.
    current = [item for item in items if item["current"]]
    if len(current) > 1:
        keep = max(current, key=lambda item: len(item["url"]))
        for item in current:
            item["current"] = item is keep
    return items


# --- Home page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeCard:
    title: str
    text: str
    url_name: str | None = None
    url_kwargs: dict = field(default_factory=dict)


#: What each role can do in Lien, in the words of the person holding it.
HOME_INTROS: dict[str, str] = {
    Role.MEDIATOR: _(
        "Sur le terrain, Lien garde la trace de votre travail : une intervention se saisit "
        "en moins de 30 secondes, même sans réseau, et sans nom par défaut."
    ),
    Role.COORDINATOR: _(
        "Lien vous aide à organiser l'équipe, à suivre son activité et à rendre compte "
        "aux financeurs."
    ),
    Role.FUNDER: _(
        "Lien vous montre ce que produisent les dispositifs que vous financez, en chiffres "
        "agrégés, et les dysfonctionnements signalés sur vos lieux."
    ),
    Role.PARTNER: _(
        "Les médiateur·rices vous orientent des personnes : Lien vous permet de leur "
        "répondre et de suivre ces mises en relation."
    ),
    Role.STEERING: _(
        "Lien rassemble l'activité et les emplois de la médiation sociale du territoire. "
        "Vous ne voyez que des chiffres agrégés, jamais de données nominatives ; les "
        "petits effectifs sont masqués."
    ),
    Role.ADMIN: _(
        "Vous administrez la plateforme : référentiels, structures, comptes et journal d'audit."
    ),
}

HOME_CARDS: dict[str, list[HomeCard]] = {
    Role.MEDIATOR: [
        HomeCard(
            _("Saisir une intervention"),
            _(
                "Noter sur le terrain ce qui s'est passé : activité, lieu, situation, "
                "résultat. Les saisies faites hors connexion partent dès le retour du réseau."
            ),
            "logbook:log_intervention",
        ),
        HomeCard(
            _("Suivre mes situations"),
            _(
                "Suivre dans le temps une médiation différée ou un accompagnement vers les "
                "droits, avec le consentement de la personne."
            ),
            "followup:situation_list",
        ),
        HomeCard(
            _("Orienter vers un partenaire"),
            _(
                "Mettre une personne en relation avec un partenaire (CAF, CPAM, France "
                "Travail, CCAS…) et voir sa réponse."
            ),
            "followup:referral_list",
        ),
        HomeCard(
            _("Signaler un dysfonctionnement"),
            _(
                "Veille technique : éclairage en panne, ascenseur bloqué, équipement "
                "dégradé… Le signalement part vers le bon gestionnaire et vous suivez sa "
                "prise en charge."
            ),
            "followup:report_list",
        ),
        HomeCard(
            _("Ma structure"),
            _("Consulter la fiche de votre structure et de ses dispositifs."),
            "structures:my_structure",
        ),
    ],
    Role.COORDINATOR: [
        HomeCard(
            _("Planifier les tournées et permanences"),
            _("Organiser les tournées en binôme et les permanences de l'équipe."),
            "logbook:shift_list",
        ),
        HomeCard(
            _("Relire l'activité de l'équipe"),
            _("Relire les interventions saisies par l'équipe, repérer les oublis, corriger."),
            "logbook:team_log",
        ),
        HomeCard(
            _("Situations, orientations et signalements"),
            _(
                "Gérer les suivis de la structure, les mises en relation avec les "
                "partenaires et les signalements de dysfonctionnements."
            ),
            "followup:situation_list",
        ),
        HomeCard(
            _("Postes, contrats et formations"),
            _(
                "Tenir à jour les postes, les contrats (adultes-relais, CDI…), leurs "
                "financements et les formations de l'équipe."
            ),
            "jobs:post_list",
        ),
        HomeCard(
            _("Bilan d'activité"),
            _("Produire le bilan d'activité d'un dispositif pour un financeur, en PDF et XLSX."),
            "steering:generated_report_list",
        ),
        HomeCard(
            _("Ma structure"),
            _("Mettre à jour la fiche de la structure et de ses dispositifs."),
            "structures:my_structure",
        ),
        HomeCard(
            _("Journal d'audit"),
            _("Voir qui a fait quoi dans la structure : connexions, créations, modifications."),
            "audit_log",
        ),
    ],
    Role.FUNDER: [
        HomeCard(
            _("Indicateurs de ce que vous financez"),
            _(
                "Activité, résultats et emplois des dispositifs que vous financez ou "
                "commanditez, en chiffres agrégés."
            ),
            "indicators:dashboard",
        ),
        HomeCard(
            _("Signalements qui vous sont adressés"),
            _(
                "Prendre connaissance des dysfonctionnements signalés sur vos lieux, en "
                "accuser réception et les clore."
            ),
            "followup:report_inbox",
        ),
        HomeCard(
            _("Structures financées"),
            _("Consulter les structures et les dispositifs que vous financez."),
            "structures:structure_list",
        ),
    ],
    Role.PARTNER: [
        HomeCard(
            _("Répondre aux orientations"),
            _(
                "Répondre aux mises en relation qui vous sont adressées : acceptée, refusée "
                "(avec un motif) ou traitée."
            ),
            "followup:referral_inbox",
        ),
        HomeCard(
            _("Annuaire des organisations"),
            _("Retrouver les financeurs et partenaires de la médiation sociale."),
            "structures:organisation_list",
        ),
    ],
    Role.STEERING: [
        HomeCard(
            _("Tableaux de bord du territoire"),
            _(
                "Indicateurs agrégés à l'échelle de la région, du département, de l'EPCI, "
                "de la commune ou du quartier prioritaire."
            ),
            "indicators:dashboard",
        ),
        HomeCard(
            _("Observatoire des emplois"),
            _(
                "Médiateur·rices en poste et ETP, emplois créés et consolidés au regard de "
                "l'objectif de la convention, financements, sorties."
            ),
            "steering:framework_list",
        ),
        HomeCard(
            _("Bilan semestriel"),
            _("Préparer le bilan présenté au comité de pilotage deux fois par an."),
            "steering:generated_report_list",
        ),
        HomeCard(
            _("Structures du territoire"),
            _("Consulter les structures employeuses de médiateur·rices du territoire."),
            "structures:structure_list",
        ),
    ],
    Role.ADMIN: [
        HomeCard(
            _("Référentiels"),
            _(
                "Tenir à jour les vocabulaires communs : activités, domaines, situations, "
                "résultats, types de contrats, programmes de financement…"
            ),
            "admin:app_list",
            {"app_label": "referentiel"},
        ),
        HomeCard(
            _("Structures"),
            _("Consulter et modifier les structures et leurs dispositifs."),
            "structures:structure_list",
        ),
        HomeCard(
            _("Comptes et rattachements"),
            _(
                "Créer les comptes et les rattacher à une structure, une organisation ou un "
                "territoire."
            ),
            "admin:core_user_changelist",
        ),
        HomeCard(
            _("Journal d'audit"),
            _("Consulter le journal de toutes les actions de la plateforme."),
            "audit_log",
        ),
    ],
}


def home_cards_for(membership: Membership) -> list[dict]:
    """The role's cards; `url` is None for a feature not built yet ("bientôt")."""
    return [
        {
            "title": card.title,
            "text": card.text,
            "url": _resolve(card.url_name, card.url_kwargs or None) if card.url_name else None,
        }
        for card in HOME_CARDS.get(membership.role, [])
    ]


def home_intro_for(membership: Membership) -> str:
    return HOME_INTROS.get(membership.role, "")
