"""How a channel says a message did not get through, and whether trying again may help."""

from __future__ import annotations

from metricx.errors import MetricxError


class DeliveryError(MetricxError):
    """A message was not delivered. `transient`: the same message may get through later (a
    server down or busy, a 4xx reply); otherwise retrying cannot help (a refused password or
    recipient, a broken setting) and someone must fix something first. `retry_after`: seconds
    the other side asked us to wait, when it said."""

    def __init__(self, message: str, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
