"""The installable web app: manifest, service worker, icons, and the browser's screening rules."""

import json
import re
import struct
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from lien.core import screening

STATIC = Path(__file__).resolve().parents[2] / "lien" / "static" / "lien"


def json_block(source: str, name: str) -> dict:
    """The JSON object between `// BEGIN <name>` and `// END <name>` in a JS file."""
    match = re.search(
        rf"// BEGIN {name}\b[^\n]*\n\s*const {name} = (\{{.*?\}});\s*// END {name}",
        source,
        re.DOTALL,
    )
    assert match, f"bloc {name} introuvable dans screening.js"
    return json.loads(match.group(1))


def test_manifest_describes_an_installable_app(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["lang"] == "fr"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/journal-de-bord/saisir/"
    assert manifest["scope"] == "/"
    assert manifest["short_name"] == "Lien"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    assert {s["url"] for s in manifest["shortcuts"]} == {
        "/journal-de-bord/saisir/",
        "/journal-de-bord/envois/",
    }


@pytest.mark.parametrize("size", [192, 512])
def test_icons_are_square_pngs_of_their_size(size):
    path = finders.find(f"lien/icon-{size}.png")
    assert path is not None
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (size, size)
    assert len(data) < 10_000


def test_service_worker_is_served_from_the_root_with_its_scope(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert body == (STATIC / "sw.js").read_text(encoding="utf-8")
    # Its rules: the sync endpoint and POSTs never go through the cache.
    assert '"/journal-de-bord/sync/"' in body
    assert 'request.method !== "GET"' in body
    assert client.post("/sw.js").status_code == 405


def test_service_worker_caches_the_field_pages():
    body = (STATIC / "sw.js").read_text(encoding="utf-8")
    for path in ("/journal-de-bord/saisir/", "/journal-de-bord/envois/", "/journal-de-bord/"):
        assert f'"{path}"' in body
    assert re.search(r'const VERSION = "lien-v\d+";', body)


def test_screening_js_has_every_python_category():
    source = (STATIC / "screening.js").read_text(encoding="utf-8")
    for category in [*screening.PATTERNS, *screening.SENSITIVE]:
        assert re.search(rf"\b{category}\b", source), f"catégorie « {category} » absente"
    patterns = re.search(r"const PATTERNS = \{(.*?)\n  \};", source, re.DOTALL)
    assert patterns
    assert re.findall(r"^    (\w+):", patterns.group(1), re.MULTILINE) == list(screening.PATTERNS)


def test_screening_js_vocabularies_are_the_python_ones():
    source = (STATIC / "screening.js").read_text(encoding="utf-8")
    assert json_block(source, "SENSITIVE") == {
        category: list(words) for category, words in screening.SENSITIVE.items()
    }
    assert json_block(source, "LABELS") == screening.LABELS


def js_set(source: str, name: str) -> set[str]:
    match = re.search(rf"// BEGIN {name}\b[^\n]*\n\s*const {name} = new Set\((\[.*?\])\);", source)
    assert match, f"bloc {name} introuvable dans screening.js"
    return set(json.loads(match.group(1)))


def test_screening_js_first_names_and_place_words_are_the_python_ones():
    source = (STATIC / "screening.js").read_text(encoding="utf-8")
    assert js_set(source, "FIRST_NAMES") == set(screening.FIRST_NAMES)
    assert js_set(source, "PLACE_WORDS") == set(screening.PLACE_WORDS)
    assert len(screening.FIRST_NAMES) > 200


def test_the_sync_check_can_fail():
    """Control: a word added on one side only is noticed."""
    source = (STATIC / "screening.js").read_text(encoding="utf-8")
    changed = source.replace('"vote pour"', '"vote pour", "manif"')
    assert json_block(changed, "SENSITIVE") != {
        category: list(words) for category, words in screening.SENSITIVE.items()
    }


@pytest.mark.django_db
def test_entry_page_links_the_field_assets(team, login):
    client = login(team["mediator"])
    body = client.get("/journal-de-bord/saisir/").content.decode()
    for asset in ("lien/logbook.css", "lien/logbook.js", "lien/screening.js"):
        assert f"/static/{asset}" in body
    assert 'rel="manifest"' in body
    assert f'data-owner="{team["mediator"].user_id}:{team["mediator"].pk}"' in body
    # The confirmation box is there for the page's script, hidden until needed.
    assert re.search(r'id="note-confirm" class="note-confirm" hidden', body)
    assert 'name="note_confirmed"' in body


@pytest.mark.django_db
def test_outbox_page_links_the_field_assets(team, login):
    client = login(team["mediator"])
    body = client.get("/journal-de-bord/envois/").content.decode()
    assert "/static/lien/logbook.css" in body
    assert "/static/lien/logbook.js" in body
    assert 'data-entry-url="/journal-de-bord/saisir/"' in body
    assert 'rel="manifest"' in body
