"""Deprecated: `editor_purge`'s old name (it read as the batch jobs' purge). Removed in the next release."""

from editor.management.commands import editor_purge

DEPRECATION = "jobs_purge is deprecated and will be removed: run `manage.py editor_purge` instead."


class Command(editor_purge.Command):
    help = "Deprecated: use editor_purge. " + editor_purge.Command.help

    def handle(self, *args, **options) -> None:
        self.stderr.write(DEPRECATION)
        super().handle(*args, **options)
