"""The `membership-usage` query (SPEC §3), parsed by its schema wherever it arrives: the API
endpoint and the usage page. Every value is checked with SPEC-style messages, all reported
together; `listBillingCycles` comes first because, when it is set, every other parameter is ignored.
"""

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from billing.usage import MAX_UNIX
from removal.errors import echo
from removal.fields import bool_parse

_RANGES = {"year": (1, 9999), "month": (1, 12), "periodStartUnix": (0, MAX_UNIX)}
_EXCLUSIVE = "Cannot use 'periodStartUnix' together with 'year' or 'month'. Choose one or the other."


def _refuse(message: str, **context) -> PydanticCustomError:
    # A custom error keeps our message verbatim (no "Value error, " prefix); values go in as context.
    return PydanticCustomError("usage_query", message, context)


class UsageQuery(BaseModel):
    listBillingCycles: bool = False
    year: int | None = None
    month: int | None = None
    periodStartUnix: int | None = None
    expand: str | None = None
    includeBillingCycle: bool = False

    @field_validator("listBillingCycles", "includeBillingCycle", mode="before")
    @classmethod
    def _flag(cls, raw, info: ValidationInfo) -> bool:
        if cls._listing(info):
            return False
        try:
            return bool_parse(raw, default=False)
        except ValueError:
            message = f"'{info.field_name}' must be true or false, got: '{{raw}}'"
            raise _refuse(message, raw=echo(raw)) from None

    @field_validator("year", "month", "periodStartUnix", mode="before")
    @classmethod
    def _number(cls, raw, info: ValidationInfo) -> int | None:
        if cls._listing(info) or raw is None or str(raw).strip() == "":
            return None
        name = str(info.field_name)
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise _refuse(f"'{name}' must be an integer, got: '{{raw}}'", raw=echo(raw)) from None
        low, high = _RANGES[name]
        if not low <= value <= high:
            raise _refuse(f"'{name}' must be between {low} and {high}, got: {{raw}}", raw=echo(value))
        if name == "periodStartUnix" and (info.data.get("year") or info.data.get("month")):
            raise _refuse(_EXCLUSIVE)
        return value

    @staticmethod
    def _listing(info: ValidationInfo) -> bool:
        return bool(info.data.get("listBillingCycles"))

    @property
    def with_cycle(self) -> bool:
        flags = {flag.strip() for flag in (self.expand or "").split(",")}
        return self.includeBillingCycle or "billing_cycle" in flags
