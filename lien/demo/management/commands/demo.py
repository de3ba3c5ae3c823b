from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lien.demo.activity import demo_activity
from lien.demo.builder import DEMO_PASSWORD, demo_build
from lien.demo.followup import demo_followup
from lien.demo.jobs import demo_jobs
from lien.demo.steering import demo_regional_jobs, demo_steering


class Command(BaseCommand):
    help = "Construit une région de démonstration crédible sur les territoires réels (59, 62)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=int, default=1, help="Multiplie le nombre de structures (1 = 5)."
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--months", type=int, default=6, help="Mois d'activité générés (0 pour aucun)."
        )

    def handle(self, *args, scale: int, seed: int, months: int, **options):
        if scale < 1 or scale > 200:
            raise CommandError("--scale doit être compris entre 1 et 200.")
        if months < 0 or months > 36:
            raise CommandError("--months doit être compris entre 0 et 36.")
        report = demo_build(scale=scale, seed=seed)
        generated = demo_activity(months=months, seed=seed) if months else 0
        demo_followup()
        demo_jobs()
        demo_regional_jobs(seed=seed)
        demo_steering()
        self.stdout.write(
            f"Démonstration : {report.structures} structure(s), {report.services} dispositif(s), "
            f"{report.organisations} organisation(s), {report.users} médiateur·rices créés, "
            f"{generated} interventions générées."
        )
        self.stdout.write("")
        self.stdout.write(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
        width = max(len(email) for email, _, _ in report.logins)
        for email, role, scope in report.logins:
            self.stdout.write(f"  {email.ljust(width)}  {role} — {scope}")
        if not settings.LIEN_DEMO_LOGINS_ENABLED:
            self.stdout.write(
                self.style.WARNING(
                    "Attention : DEBUG est désactivé, ces comptes seront refusés à la connexion."
                )
            )
