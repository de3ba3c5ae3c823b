"""Daily follow-up chores (run from cron): expire unanswered referrals, remind partners
before expiry and mediators of due steps, purge situations past their date and erase
the call-back details of referrals closed for 30 days."""

from django.core.management.base import BaseCommand

from lien.followup import services


class Command(BaseCommand):
    help = (
        "Expire les mises en relation sans réponse, envoie les rappels (partenaires, étapes "
        "dues) et purge les suivis arrivés à leur date."
    )

    def handle(self, *args, **options):
        reminded = services.referrals_remind()
        expired = services.referrals_expire()
        steps = services.next_steps_remind()
        purged = services.situations_purge()
        forgotten = services.referrals_forget_callbacks()
        self.stdout.write(
            f"Rappels de mises en relation : {reminded}\n"
            f"Mises en relation expirées : {expired}\n"
            f"Rappels d'étapes : {steps}\n"
            f"Suivis purgés : {purged}\n"
            f"Coordonnées de rappel effacées : {forgotten}"
        )
