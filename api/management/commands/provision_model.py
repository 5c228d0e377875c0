from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from removal.jit import jit_compile
from removal.provision import ProvisionError, int8_provision, provision_model


class Command(BaseCommand):
    help = ("Install the verified u2netp weights into U2NET_HOME, build their int8 variant and compile the "
            "matting solver (idempotent).")

    def handle(self, *args, **options):
        try:
            path, fresh = provision_model(Path(settings.U2NET_HOME))
        except ProvisionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{'installed' if fresh else 'already present'}: {path}")
        path, fresh = int8_provision(Path(settings.U2NET_HOME))
        self.stdout.write(f"{'built' if fresh else 'already present'}: {path}")
        self.stdout.write(f"matting solver compiled: {jit_compile()}")
