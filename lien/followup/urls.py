from django.urls import path

from lien.followup import views

app_name = "followup"

urlpatterns = [
    path("suivis/", views.situation_list, name="situation_list"),
    path("suivis/nouveau/", views.situation_create, name="situation_create"),
    path("suivis/droits-des-personnes/", views.subject_request, name="subject_request"),
    path("textes-libres/avertissements/", views.screening_overrides, name="screening_overrides"),
    path("suivis/mes-prochaines-etapes/", views.my_next_steps, name="my_next_steps"),
    path("suivis/<uuid:pk>/", views.situation_detail, name="situation_detail"),
    path("suivis/<uuid:pk>/modifier/", views.situation_edit, name="situation_edit"),
    path("suivis/<uuid:pk>/cloturer/", views.situation_close, name="situation_close"),
    path(
        "suivis/<uuid:pk>/retrait-consentement/",
        views.situation_withdraw,
        name="situation_withdraw",
    ),
    path("suivis/<uuid:pk>/parties/", views.situation_party, name="situation_party"),
    path("suivis/<uuid:pk>/etapes/", views.situation_step, name="situation_step"),
    path("suivis/<uuid:pk>/accords/", views.situation_agreement, name="situation_agreement"),
    path("suivis/<uuid:pk>/rencontres/", views.situation_meeting, name="situation_meeting"),
    path("suivis/etapes/<uuid:uid>/faite/", views.nextstep_done, name="nextstep_done"),
    path(
        "suivis/accords/<uuid:uid>/verification/", views.agreement_review, name="agreement_review"
    ),
    path("orientations/", views.referral_list, name="referral_list"),
    path("orientations/nouvelle/", views.referral_create, name="referral_create"),
    path("orientations/recues/", views.referral_inbox, name="referral_inbox"),
    path("orientations/<uuid:pk>/", views.referral_detail, name="referral_detail"),
    path("orientations/<uuid:pk>/nouveau-lien/", views.referral_resend, name="referral_resend"),
    path("orientation/<uuid:pk>/<str:token>/", views.referral_link, name="referral_link"),
    path("signalements/", views.report_list, name="report_list"),
    path("signalements/nouveau/", views.report_create, name="report_create"),
    path("signalements/recus/", views.report_inbox, name="report_inbox"),
    path("signalements/regles/", views.routing_rule_list, name="routing_rule_list"),
    path(
        "signalements/regles/<uuid:uid>/retirer/",
        views.routing_rule_deactivate,
        name="routing_rule_deactivate",
    ),
    path("signalements/<uuid:pk>/", views.report_detail, name="report_detail"),
    path("signalements/<uuid:pk>/photo/", views.report_photo, name="report_photo"),
    path("signalements/<uuid:pk>/orienter/", views.report_route, name="report_route"),
    path("veille-sociale/", views.observation_list, name="observation_list"),
    path("veille-sociale/nouvelle/", views.observation_create, name="observation_create"),
    path("actions-collectives/", views.collective_action_list, name="collective_action_list"),
    path(
        "actions-collectives/nouvelle/",
        views.collective_action_create,
        name="collective_action_create",
    ),
    path(
        "actions-collectives/<uuid:pk>/modifier/",
        views.collective_action_edit,
        name="collective_action_edit",
    ),
]
