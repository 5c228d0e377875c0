"""One reserved credit, as the reserve script handed it out (shared by quota, ledger and the sweeper)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Reservation:
    id: str
    user_id: int
    source: str  # "app" | "api"
    bucket: str  # "included" | "prepaid"
    window_start: int  # the cycle key the credit counted in
    synced: bool  # window is a Stripe period
    year: int
    month: int
    day: str  # YYYY-MM-DD (UTC)
    attempt: int  # n-th charge under this id (a refunded id may be charged again)
    state: str = "reserved"

    @property
    def charge_key(self) -> str:
        return f"charge:{self.id}:{self.attempt}"

    @property
    def refund_key(self) -> str:
        return f"refund:{self.id}:{self.attempt}"


FIELDS = ["state", "bucket", "window_start", "synced", "year", "month", "day", "attempt", "source"]


def reservation_from(res_id: str, user_id: int, values: list) -> Reservation:
    """A reservation from its Redis hash values, in FIELDS order."""
    state, bucket, window_start, synced, year, month, day, attempt, source = values
    return Reservation(
        id=res_id, user_id=user_id, source=source, bucket=bucket, window_start=int(window_start),
        synced=synced == "1", year=int(year), month=int(month), day=day, attempt=int(attempt), state=state,
    )
