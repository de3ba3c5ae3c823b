"""The installable web app: manifest and service worker for the field pages."""

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
@cache_control(max_age=3600)
def manifest(request):
    entry = reverse("logbook:log_intervention")
    return JsonResponse(
        {
            "id": entry,
            "name": "Lien — journal de bord",
            "short_name": "Lien",
            "description": "Saisir les interventions de médiation sociale, même sans réseau.",
            "lang": "fr",
            "dir": "ltr",
            "start_url": entry,
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": "#1d4f91",
            "icons": [
                {
                    "src": static("lien/icon-192.png"),
                    "sizes": "192x192",
                    "type": "image/png",
                    "purpose": "any",
                },
                {
                    "src": static("lien/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "any",
                },
            ],
            "shortcuts": [
                {"name": "Saisir une intervention", "url": entry},
                {"name": "Envois en attente", "url": reverse("logbook:outbox")},
            ],
        },
        content_type="application/manifest+json",
    )


@require_GET
@cache_control(no_cache=True, max_age=0)
def service_worker(request):
    """Served from the site root so that its scope covers every page it must cache."""
    path = finders.find("lien/sw.js")
    if path is None:
        raise Http404("service worker")
    with open(path, encoding="utf-8") as handle:
        response = HttpResponse(handle.read(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response
