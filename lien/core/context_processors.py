from lien.core.navigation import menu_for


def navigation(request):
    membership = getattr(request, "membership", None)
    return {
        "current_membership": membership,
        "nav_items": menu_for(membership, request) if membership else [],
    }
