from django.urls import path

from lien.logbook import views

app_name = "logbook"

urlpatterns = [
    path("journal-de-bord/", views.my_entries, name="my_entries"),
    path("journal-de-bord/saisir/", views.log_intervention, name="log_intervention"),
    path("journal-de-bord/envois/", views.outbox, name="outbox"),
    path("journal-de-bord/sync/", views.sync, name="sync"),
    path("journal-de-bord/equipe/", views.team_log, name="team_log"),
    path("journal-de-bord/<uuid:pk>/", views.intervention_detail, name="intervention_detail"),
    path("journal-de-bord/<uuid:pk>/corriger/", views.intervention_edit, name="intervention_edit"),
    path("tournees/", views.shift_list, name="shift_list"),
    path("tournees/nouvelle/", views.shift_create, name="shift_create"),
    path("tournees/<uuid:pk>/modifier/", views.shift_edit, name="shift_edit"),
]
