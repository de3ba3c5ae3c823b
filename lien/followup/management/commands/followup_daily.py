"""Daily follow-up chores (run from cron): expire unanswered referrals, remind partners
before expiry and mediators of due steps. Purges (situations past their date, call-back
details of closed referrals) are retention rules, applied by `apply_retention`."""

from django.core.management.base import BaseCommand

from lien.followup import services


class Command(BaseCommand):
    help = (
        "Expire les mises en relation sans réponse et envoie les rappels (partenaires, étapes "
        "dues). Les purges relèvent de apply_retention."
    )

    def handle(self, *args, **options):
        reminded = services.referrals_remind()
        expired = services.referrals_expire()
        steps = services.next_steps_remind()
        self.stdout.write(
            f"Rappels de mises en relation : {reminded}\n"
            f"Mises en relation expirées : {expired}\n"
            f"Rappels d'étapes : {steps}"
        )
