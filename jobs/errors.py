"""Batch jobs' domain errors, rendered by core.errors like every other refusal."""

from core.errors import DomainError


class JobNotFound(DomainError):
    """No such job, or not the caller's (the two are not told apart)."""

    status = 404
    message = "Job not found"


class ResultLinkInvalid(DomainError):
    status = 403
    message = "This result link is invalid or has expired. Fetch the job again for a fresh one."


class QueueUnavailable(DomainError):
    """The broker did not take the job's tasks: the job is discarded and nothing is charged."""

    status = 503
    message = "Service temporarily unavailable, please retry shortly."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


class ItemNotFound(DomainError):
    """No item at this index in the caller's job."""

    status = 404
    message = "Item not found"
