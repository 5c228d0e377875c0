"""The base of the project's domain errors (accounts, billing, editor).

Each error carries what the edge needs to answer in SPEC's JSON shape: `status`, the exact
`message`, optional field `details` and extra response `headers` (Retry-After, RateLimit-*).
Subclasses set `status` and `message` as class attributes. removal/ keeps its own RemovalError
with the same attributes, because the pipeline imports nothing of ours.
"""


class DomainError(Exception):
    status: int = 400
    message: str = "Request refused"

    def __init__(self, message: str | None = None, *, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = dict(headers or {})
        super().__init__(self.message)
