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
from pathlib import Path

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
    "firstname": "un prénom",
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


def _load_first_names() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "prenoms.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


#: Frequent first names, lower case without accents (lien/core/data/prenoms.txt).
FIRST_NAMES = _load_first_names()
#: Words after which a first name is a place's name (rue Jean Jaurès, école Louise Michel).
PLACE_WORDS = frozenset(
    [
        "rue",
        "avenue",
        "av",
        "bd",
        "boulevard",
        "place",
        "quai",
        "allee",
        "impasse",
        "square",
        "parc",
        "stade",
        "gymnase",
        "residence",
        "cite",
        "salle",
        "centre",
        "chemin",
        "cours",
        "ecole",
        "college",
        "lycee",
        "groupe",
        "foyer",
        "mediatheque",
        "maison",
        "espace",
        "pont",
        "saint",
        "sainte",
        "st",
        "ste",
    ]
)
_CAPITALISED = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'-]*")
_PREVIOUS_WORD = re.compile(r"([\w'-]+)([^\w'-]*)$")


def _first_name(text: str) -> str | None:
    """The first capitalised word that is a frequent first name, except inside a run of
    capitalised words (collège Victor Hugo) or after a place word (rue Jean Jaurès). The
    list leaves out first names that are also common words (Pierre, Rose, Claire…)."""
    for match in _CAPITALISED.finditer(text):
        start = match.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "_'-"):
            continue
        word = match.group(0)
        folded = _fold(word)
        if folded not in FIRST_NAMES and folded.split("-")[0] not in FIRST_NAMES:
            continue
        before = text[:start]
        previous = _PREVIOUS_WORD.search(before)
        if previous:
            previous_word, separator = previous.groups()
            if not separator.strip() and previous_word[0].isupper():
                continue
            if _fold(previous_word.rsplit("'", 1)[-1]) in PLACE_WORDS:  # l'école
                continue
        return word
    return None


def screen(text: str) -> list[Finding]:
    """Every finding in `text`, at most one per category, in a stable order."""
    findings: list[Finding] = []
    for category, pattern in PATTERNS.items():
        match = pattern.search(text)
        if match:
            findings.append(Finding(category, match.group(0)[:40]))
    first_name = _first_name(text)
    if first_name:
        findings.append(Finding("firstname", first_name[:40]))
    folded = _fold(text)
    for category, pattern in _SENSITIVE_PATTERNS.items():
        match = pattern.search(folded)
        if match:
            findings.append(Finding(category, match.group(0).strip()))
    return findings
