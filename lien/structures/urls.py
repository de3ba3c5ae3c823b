from django.urls import path

from lien.structures import views

app_name = "structures"

urlpatterns = [
    path("ma-structure/", views.my_structure, name="my_structure"),
    path("structures/", views.structure_list, name="structure_list"),
    path("structures/<uuid:pk>/", views.structure_detail, name="structure_detail"),
    path("structures/<uuid:pk>/modifier/", views.structure_edit, name="structure_edit"),
    path(
        "structures/<uuid:structure_pk>/dispositifs/nouveau/",
        views.service_create,
        name="service_create",
    ),
    path("dispositifs/<uuid:pk>/", views.service_detail, name="service_detail"),
    path("dispositifs/<uuid:pk>/modifier/", views.service_edit, name="service_edit"),
    path("organisations/", views.organisation_list, name="organisation_list"),
]
