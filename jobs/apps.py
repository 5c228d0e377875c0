from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Batch jobs"

    def ready(self) -> None:
        from core.metrics import scrape_hook_add
        from jobs.metrics import queue_gauges_refresh

        scrape_hook_add(queue_gauges_refresh)
