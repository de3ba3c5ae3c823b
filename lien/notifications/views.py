from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from lien.core.permissions import membership_required
from lien.notifications import services
from lien.notifications.models import Notification

PAGE_SIZE = 30


@membership_required
def notification_list(request):
    """The current user's notifications, newest first, unread ones marked."""
    notifications = Notification.objects.for_recipient(request.user)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/notification_list.html",
        {"page": page, "has_unread": notifications.unread().exists()},
    )


@membership_required
@require_http_methods(["GET", "POST"])
def notification_read(request, pk):
    """POST: mark the notification read and go to what it is about (a path of this site
    only; anything else leads back to the list). GET: the notification and that button,
    for a browser that arrives here by a link."""
    notification = get_object_or_404(Notification.objects.for_recipient(request.user), pk=pk)
    if request.method == "POST":
        services.mark_read(user=request.user, notification=notification)
        return redirect(notification.safe_url)
    return render(request, "notifications/notification_detail.html", {"notification": notification})


@membership_required
@require_POST
def notification_read_all(request):
    count = services.mark_all_read(user=request.user)
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d notification marquée comme lue.",
                "%(count)d notifications marquées comme lues.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("Aucune notification non lue."))
    return redirect("notifications:notification_list")
