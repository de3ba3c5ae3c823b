"""Validators shared by the forms of every app.

Lien's pages escape what they show, so markup typed into free text does no harm there. It
is refused all the same: nobody needs a tag in a note or a name, and the text also leaves
Lien (spreadsheet exports, e-mails, the API) for readers that may not escape it. A lone "<"
("a < b", "<3") is still text.
"""

import re
import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: Something a browser would read as a tag: "<" then a letter, "/", "!" or "?", up to ">".
MARKUP = re.compile(r"<[a-zA-Z/!?][^>]*>")


def reject_markup(value) -> None:
    """Refuse text that contains an HTML tag (or a comment, doctype, processing instruction)."""
    if not isinstance(value, str):
        return
    found = MARKUP.search(value)
    if found is None:
        return
    tag = found.group(0)
    if len(tag) > 30:
        tag = tag[:29] + "…"
    raise ValidationError(
        _("Ce champ ne peut pas contenir de balises HTML (« %(tag)s »)."),
        code="markup",
        params={"tag": tag},
    )


def is_uuid(value) -> bool:
    """Whether `value` reads as a UUID: ids typed in a form or a query string are checked
    with it before they reach a query (a malformed one would raise on PostgreSQL)."""
    try:
        uuid.UUID(str(value))
    except (TypeError, ValueError):
        return False
    return True
