from django.urls import path

from lien.exchange import export_views

app_name = "exports"

urlpatterns = [
    path("structure/", export_views.structure_export_list, name="structure_export_list"),
    path(
        "structure/<uuid:pk>/",
        export_views.structure_export_detail,
        name="structure_export_detail",
    ),
    path(
        "structure/<uuid:pk>/telecharger/",
        export_views.structure_export_download,
        name="structure_export_download",
    ),
]
