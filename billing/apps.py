import logging

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Plans/packs were validated when settings loaded; here we only say what is switched off.
        from django.conf import settings

        from billing.stripe_client import config_check

        log = logging.getLogger("billing")
        for problem in config_check():
            log.log(logging.WARNING if settings.STRIPE_SECRET_KEY else logging.DEBUG, "%s", problem)
