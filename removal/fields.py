"""Parsing primitives shared by every form field, query parameter and setting.

One boolean vocabulary (SPEC §1: true/false/1/0/yes/no/on/off, any case) and one collector of
field errors, which raises the one "Multiple validation errors" envelope (`ValidationFailed`).
Plain Python: the pipeline's options, the usage query and the settings all parse through here.
"""

from removal.errors import ValidationFailed

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def bool_parse(raw: str | None, *, default: bool) -> bool:
    """`raw` as a boolean; `default` when it is absent or blank. ValueError for any other word."""
    value = (raw or "").strip().lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


class FieldErrors(list[tuple[str, str]]):
    """Every invalid field of one request, in the order found; raised together, never one by one."""

    def add(self, field: str, message: str) -> None:
        self.append((field, message))

    def raise_any(self) -> None:
        if self:
            raise ValidationFailed(self)
