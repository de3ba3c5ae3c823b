"""Screening of free text for personal or sensitive data (CNIL guidance on comment fields).

Free-text notes must stay factual and non-nominative. `screen()` flags what looks like a
name after a title, an e-mail address, a phone number, a social-security number, or a
word of a sensitive category (health, religion, origin, offences, sexual life, politics,
union membership). It warns; the user rephrases or confirms. The same patterns run in the
browser (`lien/static/lien/screening.js`) as the text is typed.
"""

import re
import unicodedata
from dataclasses import dataclass

PATTERNS: dict[str, re.Pattern] = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "phone": re.compile(r"(?<!\d)(?:\+33\s?|0033\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)"),
    "nir": re.compile(
        r"(?<!\d)[12][\s]?\d{2}[\s]?(?:0[1-9]|1[0-2]|[2-9]\d)[\s]?(?:\d{2}|2[AB])[\s]?\d{3}[\s]?\d{3}(?:[\s]?\d{2})?(?!\d)"
    ),
    "name": re.compile(
        r"\b(?:M\.|Mr|Mme|Mlle|Madame|Monsieur|Mademoiselle|Dr|Docteur|Maître|Me)\s+"
        r"[A-ZÀ-ÖØ-Þ][\w'-]+",
    ),
}

# Keywords by sensitive category (accents and case are ignored when matching).
SENSITIVE: dict[str, tuple[str, ...]] = {
    "health": (
        "malade",
        "maladie",
        "handicap",
        "psychiatr",
        "depression",
        "cancer",
        "vih",
        "sida",
        "hopital",
        "hospitalis",
        "enceinte",
        "grossesse",
        "alcoolique",
        "toxicomane",
        "drogue",
        "schizophren",
        "diabete",
        "traitement medical",
        "suicid",
    ),
    "religion": (
        "musulman",
        "chretien",
        "catholique",
        "juif",
        "juive",
        "protestant",
        "islam",
        "mosquee",
        "eglise",
        "synagogue",
        "religion",
        "religieu",
        "voilee",
        "ramadan",
    ),
    "origin": (
        "origine",
        "ethnie",
        "ethnique",
        "race",
        "roms",
        "gitan",
        "africain",
        "maghreb",
        "arabe",
        "sans-papiers",
        "sans papiers",
        "clandestin",
        "nationalite",
    ),
    "offence": (
        "casier",
        "condamn",
        "prison",
        "incarcer",
        "garde a vue",
        "delinquant",
        "dealer",
        "trafic",
        "vol ",
        "voleur",
        "plainte contre",
        "mis en examen",
    ),
    "sexuality": ("homosexuel", "gay", "lesbienne", "transgenre", "orientation sexuelle"),
    "politics": ("syndiqu", "syndicat", "militant", "parti politique", "vote pour"),
}

# A keyword matches at the start of a word ("race" flags "raciste", not "grace").
_SENSITIVE_PATTERNS = {
    category: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + ")")
    for category, words in SENSITIVE.items()
}

LABELS = {
    "email": "une adresse e-mail",
    "phone": "un numéro de téléphone",
    "nir": "un numéro de sécurité sociale",
    "name": "un nom de personne (après une civilité)",
    "health": "une information de santé",
    "religion": "une information sur la religion",
    "origin": "une information sur l'origine",
    "offence": "une information sur des infractions ou condamnations",
    "sexuality": "une information sur la vie sexuelle",
    "politics": "une opinion politique ou syndicale",
}


@dataclass(frozen=True)
class Finding:
    category: str
    excerpt: str

    @property
    def message(self) -> str:
        return f"Ce texte semble contenir {LABELS[self.category]} (« {self.excerpt} »)."


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def screen(text: str) -> list[Finding]:
    """Every finding in `text`, at most one per category, in a stable order."""
    findings: list[Finding] = []
    for category, pattern in PATTERNS.items():
        match = pattern.search(text)
        if match:
            findings.append(Finding(category, match.group(0)[:40]))
    folded = _fold(text)
    for category, pattern in _SENSITIVE_PATTERNS.items():
        match = pattern.search(folded)
        if match:
            findings.append(Finding(category, match.group(0).strip()))
    return findings
