from django.contrib import admin
from django.urls import include, path

from lien.core import views as core_views

admin.site.site_header = "Lien — administration"
admin.site.site_title = "Lien"
admin.site.index_title = "Référentiels, structures et comptes"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("", core_views.home, name="home"),
    path("accounts/", include("lien.core.urls")),
    path("", include("lien.structures.urls")),
    path("admin/", admin.site.urls),
]
