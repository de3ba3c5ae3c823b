from django.urls import path

from lien.exchange.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("modele.csv", views.import_template, name="import_template"),
    path("<uuid:pk>/", views.import_detail, name="import_detail"),
    path("<uuid:pk>/correspondance/", views.import_map, name="import_map"),
    path("<uuid:pk>/enregistrer/", views.import_commit, name="import_commit"),
    path("<uuid:pk>/rejets.csv", views.import_report, name="import_report"),
]
