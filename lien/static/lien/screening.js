/* Lien — screening of free-text notes as they are typed (CNIL guidance on comment fields).
 *
 * The same rules as lien/core/screening.py, which the server applies again on every entry:
 * a name after a title, an e-mail address, a phone number, a social-security number (NIR),
 * or a word of a sensitive category. It only warns: the mediator rephrases, or ticks the
 * confirmation box to keep the text. tests/logbook/test_pwa.py checks that the vocabularies
 * below are the Python ones, and tests/browser/test_offline.py that both give the same
 * findings on the same texts.
 *
 * Written without look-behind assertions, which older Safari versions (iOS < 16.4) cannot
 * even parse: each pattern captures the character before the match in group 1 instead.
 */
(function () {
  "use strict";

  // Python's \w (Unicode letters, digits and "_"), for the JavaScript patterns.
  const W = "\\p{L}\\p{N}_";

  // Same categories, same order as PATTERNS in lien/core/screening.py. Group 2 is the match.
  const PATTERNS = {
    email: new RegExp(`()([${W}.+-]+@[${W}-]+\\.[${W}.-]+)`, "u"),
    phone: new RegExp("(^|\\D)((?:\\+33\\s?|0033\\s?|0)[1-9](?:[\\s.-]?\\d{2}){4})(?!\\d)", "u"),
    nir: new RegExp(
      "(^|\\D)([12]\\s?\\d{2}\\s?(?:0[1-9]|1[0-2]|[2-9]\\d)\\s?(?:\\d{2}|2[AB])\\s?\\d{3}\\s?\\d{3}(?:\\s?\\d{2})?)(?!\\d)",
      "u",
    ),
    name: new RegExp(
      `(^|[^${W}])((?:M\\.|Mr|Mme|Mlle|Madame|Monsieur|Mademoiselle|Dr|Docteur|Maître|Me)\\s+` +
        `[A-ZÀ-ÖØ-Þ][${W}'-]+)`,
      "u",
    ),
  };

  // Keywords by sensitive category, matched at the start of a word, accents and case ignored.
  // BEGIN SENSITIVE (JSON, kept equal to SENSITIVE in lien/core/screening.py)
  const SENSITIVE = {
    "health": [
      "malade", "maladie", "handicap", "psychiatr", "depression", "cancer", "vih", "sida",
      "hopital", "hospitalis", "enceinte", "grossesse", "alcoolique", "toxicomane", "drogue",
      "schizophren", "diabete", "traitement medical", "suicid"
    ],
    "religion": [
      "musulman", "chretien", "catholique", "juif", "juive", "protestant", "islam", "mosquee",
      "eglise", "synagogue", "religion", "religieu", "voilee", "ramadan"
    ],
    "origin": [
      "origine", "ethnie", "ethnique", "race", "roms", "gitan", "africain", "maghreb", "arabe",
      "sans-papiers", "sans papiers", "clandestin", "nationalite"
    ],
    "offence": [
      "casier", "condamn", "prison", "incarcer", "garde a vue", "delinquant", "dealer",
      "trafic", "vol ", "voleur", "plainte contre", "mis en examen"
    ],
    "sexuality": ["homosexuel", "gay", "lesbienne", "transgenre", "orientation sexuelle"],
    "politics": ["syndiqu", "syndicat", "militant", "parti politique", "vote pour"]
  };
  // END SENSITIVE

  // BEGIN LABELS (JSON, kept equal to LABELS in lien/core/screening.py)
  const LABELS = {
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
    "politics": "une opinion politique ou syndicale"
  };
  // END LABELS

  // BEGIN FIRST_NAMES (JSON, kept equal to lien/core/data/prenoms.txt)
  const FIRST_NAMES = new Set(["aaron", "abdallah", "abdel", "abdelkader", "abdou", "abdoulaye", "adam", "adele", "adrien", "agathe", "ahmed", "aicha", "alain", "alexandre", "alexis", "alice", "aline", "amandine", "amine", "amir", "anais", "andre", "anne", "annie", "anthony", "antoine", "arnaud", "arthur", "aurelie", "axel", "aya", "bernard", "bilal", "brigitte", "bruno", "camille", "carole", "caroline", "catherine", "cecile", "celine", "chantal", "charles", "chloe", "christian", "christiane", "christine", "christophe", "claude", "clement", "colette", "corinne", "cyril", "damien", "daniel", "danielle", "david", "denis", "didier", "djamel", "dominique", "driss", "eliane", "elise", "elodie", "emilie", "emma", "emmanuel", "enzo", "eric", "ethan", "eva", "fabien", "fabrice", "farid", "fatima", "fatou", "fatoumata", "florence", "florian", "francis", "franck", "francoise", "frederic", "gabriel", "gael", "genevieve", "georges", "gerard", "gilles", "guillaume", "guy", "hakim", "hamza", "helene", "henri", "hugo", "ibrahim", "ines", "isabelle", "jacqueline", "jacques", "jade", "jean", "jeanne", "jeremy", "jerome", "joel", "jonathan", "joseph", "josiane", "julie", "julien", "juliette", "justine", "kader", "karim", "karima", "kevin", "khadija", "lea", "leila", "leo", "leon", "lina", "lionel", "louis", "louise", "luc", "lucas", "lucie", "ludovic", "lyna", "madeleine", "malik", "mamadou", "manon", "marc", "marcel", "marie", "marion", "martine", "mathieu", "mathis", "maxime", "mehdi", "michel", "michele", "mickael", "mohamed", "mohammed", "monique", "moussa", "mustapha", "myriam", "nabil", "nadia", "nadine", "naima", "nathalie", "nicolas", "noah", "nora", "olivier", "omar", "oumar", "pascal", "pascale", "patricia", "patrick", "paul", "paulette", "philippe", "rachid", "rayan", "redouane", "regis", "remi", "renee", "richard", "robert", "roger", "romain", "said", "salim", "samia", "samir", "samuel", "sandrine", "sarah", "sebastien", "serge", "severine", "sofiane", "sophie", "stephane", "stephanie", "suzanne", "sylvie", "thierry", "thomas", "valerie", "vanessa", "veronique", "vincent", "virginie", "yacine", "yanis", "yannick", "yasmine", "yassine", "yves", "yvette", "yvonne", "zakaria", "zineb", "zohra"]);
  // END FIRST_NAMES

  // BEGIN PLACE_WORDS (JSON, kept equal to PLACE_WORDS in lien/core/screening.py)
  const PLACE_WORDS = new Set(["allee", "av", "avenue", "bd", "boulevard", "centre", "chemin", "cite", "college", "cours", "ecole", "espace", "foyer", "groupe", "gymnase", "impasse", "lycee", "maison", "mediatheque", "parc", "place", "pont", "quai", "residence", "rue", "saint", "sainte", "salle", "square", "st", "stade", "ste"]);
  // END PLACE_WORDS

  const REPHRASE = "Reformulez, ou cochez la confirmation pour garder ce texte.";

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  const SENSITIVE_PATTERNS = {};
  for (const [category, words] of Object.entries(SENSITIVE)) {
    SENSITIVE_PATTERNS[category] = new RegExp(
      `(^|[^${W}])(${words.map(escapeRegExp).join("|")})`,
      "u",
    );
  }

  // Lower case, then accents off (Python: NFKD, then drop combining characters).
  function fold(text) {
    return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
  }

  const CAPITALISED = new RegExp(`[A-ZÀ-ÖØ-Þ][${W}'-]*`, "gu");
  const PREVIOUS_WORD = new RegExp(`([${W}'-]+)([^${W}'-]*)$`, "u");
  const WORD_CHAR = new RegExp(`[${W}'-]`, "u");

  // Same rule as _first_name in lien/core/screening.py.
  function firstName(text) {
    CAPITALISED.lastIndex = 0;
    let match;
    while ((match = CAPITALISED.exec(text)) !== null) {
      const start = match.index;
      if (start > 0 && WORD_CHAR.test(text[start - 1])) {
        continue;
      }
      const word = match[0];
      const folded = fold(word);
      if (!FIRST_NAMES.has(folded) && !FIRST_NAMES.has(folded.split("-")[0])) {
        continue;
      }
      const previous = PREVIOUS_WORD.exec(text.slice(0, start));
      if (previous) {
        const [, previousWord, separator] = previous;
        if (separator.trim() === "" && /^\p{Lu}/u.test(previousWord)) {
          continue;
        }
        if (PLACE_WORDS.has(fold(previousWord.split("'").pop()))) {
          continue;
        }
      }
      return word;
    }
    return null;
  }

  function finding(category, excerpt) {
    return {
      category,
      excerpt,
      message: `Ce texte semble contenir ${LABELS[category]} (« ${excerpt} »).`,
    };
  }

  /** Every finding in `text`, at most one per category, in the server's order. */
  function screen(text) {
    const findings = [];
    if (!text) {
      return findings;
    }
    for (const [category, pattern] of Object.entries(PATTERNS)) {
      const match = pattern.exec(text);
      if (match) {
        findings.push(finding(category, Array.from(match[2]).slice(0, 40).join("")));
      }
    }
    const first = firstName(text);
    if (first) {
      findings.push(finding("firstname", Array.from(first).slice(0, 40).join("")));
    }
    const folded = fold(text);
    for (const [category, pattern] of Object.entries(SENSITIVE_PATTERNS)) {
      const match = pattern.exec(folded);
      if (match) {
        findings.push(finding(category, match[2].trim()));
      }
    }
    return findings;
  }

  /**
   * Warn under the note as it is typed. The warnings go to `#note-warnings` (a polite live
   * region), rewritten only when what is found changes so that a screen reader is not
   * interrupted at every key; the confirmation box (`#note-confirm`) shows while there is
   * something to confirm.
   */
  function attach(textarea, warnings, confirm) {
    let shown = "";
    let timer = null;

    function update() {
      const findings = screen(textarea.value);
      const key = findings.map((f) => `${f.category}:${f.excerpt}`).join("|");
      if (key === shown) {
        return;
      }
      shown = key;
      warnings.replaceChildren();
      warnings.classList.toggle("has-warnings", findings.length > 0);
      if (findings.length) {
        const list = document.createElement("ul");
        for (const f of findings) {
          const item = document.createElement("li");
          item.textContent = f.message;
          list.append(item);
        }
        const hint = document.createElement("p");
        hint.textContent = REPHRASE;
        warnings.append(list, hint);
        textarea.setAttribute("aria-describedby", warnings.id);
      }
      if (confirm) {
        const box = confirm.querySelector("input[type=checkbox]");
        confirm.hidden = findings.length === 0;
        if (findings.length === 0 && box) {
          box.checked = false;
        }
      }
    }

    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
    textarea.addEventListener("change", update);
    update();
    return update;
  }

  window.LienScreening = { screen, attach, LABELS, SENSITIVE, REPHRASE };

  function init() {
    const warnings = document.getElementById("note-warnings");
    if (!warnings) {
      return;
    }
    const field = warnings.closest(".note-field") || document;
    const textarea = field.querySelector("textarea");
    if (textarea) {
      window.LienScreening.update = attach(
        textarea,
        warnings,
        document.getElementById("note-confirm"),
      );
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
