from functools import cache

from lien.notifications.models import Notification


def unread_notifications(request):
    """The header's unread count, counted only when a template shows it, and once.

    Templates call a callable variable, so pages that never show the header (or users
    without a membership) cost no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def unread_notification_count() -> int:
        return Notification.objects.for_recipient(user).unread().count()

    return {"unread_notification_count": unread_notification_count}
