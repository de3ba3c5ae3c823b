"""E-mail login, with the fixed demo accounts refused unless demo logins are enabled."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


def is_demo_email(email: str) -> bool:
    domain = email.lower().rpartition("@")[2]
    return domain == settings.DEMO_EMAIL_DOMAIN or domain.endswith("." + settings.DEMO_EMAIL_DOMAIN)


class EmailBackend(ModelBackend):
    """Case-insensitive e-mail login; demo accounts only when LIEN_DEMO_LOGINS_ENABLED."""

    def user_can_authenticate(self, user) -> bool:
        if is_demo_email(user.email) and not settings.LIEN_DEMO_LOGINS_ENABLED:
            return False
        return super().user_can_authenticate(user)
