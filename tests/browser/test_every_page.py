"""Every page of the application, as each role that may open it, in Chromium on a phone:
axe-core finds no WCAG 2.1 A/AA violation and the page does not overflow 360 px.

The pages are the permission matrix's own enumeration (every named route but the admin,
the API and the public ones), filled with structure A's records, so a new page is swept
without editing this test. Downloads (CSV, XLSX, PDF, ZIP) are left out by their type.
"""

import pytest

from tests.browser.conftest import close_quietly, format_violations, run_axe
from tests.browser.test_dashboards import PASSWORD, log_in
from tests.test_permission_matrix import app_routes, build_path, build_world

pytestmark = pytest.mark.browser

#: Who sweeps which pages: each page is checked once, by the first of these roles that
#: opens it (the structure's roles first, then those that only see aggregates).
SWEEPERS = ["coordinator(A)", "mediator(A)", "steering(62)", "funder(A)", "partner"]


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LIEN_EXPORT_ROOT = tmp_path / "exports"
    world = build_world()
    for membership in world["actors"].values():
        membership.user.set_password(PASSWORD)
        membership.user.save()
    return world


def _sweep(page, base: str, paths: list[str], done: set[str]) -> list[str]:
    """Open every page this session may read (asked first without a browser navigation:
    actions answer 405 to GET, downloads are not pages) and check it."""
    failures = []
    for path in paths:
        if path in done:
            continue
        probe = page.request.get(base + path, max_redirects=0)
        if probe.status != 200 or "text/html" not in probe.headers.get("content-type", ""):
            continue
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        done.add(path)
        violations = run_axe(page)
        if violations:
            failures.append(f"{path}:\n{format_violations(violations)}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            failures.append(f"{path}: la page déborde sur un téléphone ({width} px)")
    return failures


def test_every_page_passes_axe_and_fits_a_phone_for_each_role(live_server, browser, world):
    paths = sorted(
        {
            build_path(route, name, world["objects_a"])
            for name, route in app_routes()
            if not route.endswith((".csv", ".xlsx", ".pdf", ".zip"))
        }
        | {"/donnees-ouvertes/"}  # public, so not in the matrix's list
    )
    assert len(paths) > 80  # the enumeration found the application's pages
    done: set[str] = set()
    failures = []
    for key in SWEEPERS:
        membership = world["actors"][key]
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
        page = context.new_page()
        log_in(page, live_server.url, membership)
        failures += [f"[{key}] {f}" for f in _sweep(page, live_server.url, paths, done)]
        close_quietly(context)
    assert len(done) > 60, sorted(done)  # most pages were opened by someone
    assert not failures, "\n\n".join(failures)
