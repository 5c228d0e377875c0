"""Batch jobs' domain errors, rendered by core.errors like every other refusal."""

from core.errors import DomainError


class JobNotFound(DomainError):
    """No such job, or not the caller's (the two are not told apart)."""

    status = 404
    message = "Job not found"


class ResultLinkInvalid(DomainError):
    status = 403
    message = "This result link is invalid or has expired. Fetch the job again for a fresh one."
