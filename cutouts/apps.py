from django.apps import AppConfig


class CutoutsConfig(AppConfig):
    name = "cutouts"
    verbose_name = "Cut-outs"
