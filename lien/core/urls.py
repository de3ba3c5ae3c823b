from django.urls import path

from lien.core import account_views, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("rattachement/", views.switch_membership, name="switch_membership"),
    path("verification/", account_views.two_factor_verify, name="account_two_factor_verify"),
    path(
        "double-authentification/",
        account_views.two_factor_setup,
        name="account_two_factor_setup",
    ),
    path(
        "double-authentification/codes/",
        account_views.recovery_codes_regenerate,
        name="account_recovery_codes",
    ),
    path(
        "double-authentification/desactiver/",
        account_views.two_factor_disable,
        name="account_two_factor_disable",
    ),
    path("securite/", account_views.account_security, name="account_security"),
    path("mot-de-passe/", account_views.password_change, name="account_password_change"),
    path("sessions/fermer/", account_views.sessions_end, name="account_sessions_end"),
    path(
        "invitation/<str:uidb64>/<str:token>/",
        account_views.invitation_accept,
        name="account_invitation",
    ),
    path("mot-de-passe-oublie/", account_views.password_reset, name="account_password_reset"),
]
