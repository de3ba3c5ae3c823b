"""Free-text screening: first names are flagged, places and common words are not."""

import pytest

from lien.core.screening import screen


def categories(text):
    return [(f.category, f.excerpt) for f in screen(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rencontre avec Karim ce matin", [("firstname", "Karim")]),
        ("Karim est venu au local", [("firstname", "Karim")]),
        ("vu avec Jean-Pierre et Aïcha", [("firstname", "Jean-Pierre")]),
        ("Présents : Nadia, le gardien", [("firstname", "Nadia")]),
        ("AÏCHA a appelé", [("firstname", "AÏCHA")]),
        ("Aïcha a appelé", [("firstname", "Aïcha")]),
    ],
)
def test_first_names_are_flagged(text, expected):
    assert categories(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Pierre tombée du balcon",  # a first name that is also a word: not in the list
        "Réunion au collège Victor Hugo",  # inside a run of capitalised words
        "Tags rue Jean Jaurès",  # after a place word
        "Atelier à l'école Louise Michel",
        "Échange calme dans le hall, rien à signaler",
        "karim en minuscules",  # not capitalised: too ambiguous to flag
    ],
)
def test_places_and_plain_words_are_not_flagged(text):
    assert not [c for c, _ in categories(text) if c == "firstname"]
