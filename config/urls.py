from django.contrib import admin
from django.urls import include, path

from lien.core import account_views
from lien.core import views as core_views
from lien.logbook import pwa

admin.site.site_header = "Lien — administration"
admin.site.site_title = "Lien"
admin.site.index_title = "Référentiels, structures et comptes"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("manifest.webmanifest", pwa.manifest, name="logbook_manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("", core_views.home, name="home"),
    path("accounts/", include("lien.core.urls")),
    path("journal/", core_views.audit_log, name="audit_log"),
    path("equipe/", account_views.team, name="team"),
    path("equipe/<uuid:pk>/renvoyer/", account_views.team_resend, name="team_resend"),
    path("equipe/<uuid:pk>/retirer/", account_views.team_remove, name="team_remove"),
    path("", include("lien.structures.urls")),
    path("", include("lien.logbook.urls")),
    path("", include("lien.indicators.urls")),
    path("", include("lien.followup.urls")),
    path("", include("lien.jobs.urls")),
    path("", include("lien.evaluation.urls")),
    path("", include("lien.steering.urls")),
    path("", include("lien.notifications.urls")),
    path("donnees/imports/", include("lien.exchange.imports.urls")),
    path("donnees-ouvertes/", include("lien.exchange.opendata_urls")),
    path("api/jetons/", include("lien.exchange.urls")),
    path("exports/", include("lien.exchange.export_urls")),  # exports: the full structure export
    path("api/", include("lien.exchange.api")),
    path("admin/", admin.site.urls),
]
