"""Graph API conventions the Meta fake answers with: error objects and usage headers."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from metricx.sandbox.fakes.base import FakeResponse, json_response

BUSINESS_ID = "1357924680"
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls within one hour have exceeded the amount of allowed calls",
    80004: "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
}


# Marketing API version history (developers.facebook.com/docs/marketing-api/
# marketing-api-changelog/versions): the day each version stops answering. An expired version
# gets error #2635 "You are calling a deprecated version of the Ads API. Please update to the
# latest version" (the text Graph API has returned for years).
VERSION_EXPIRES = {
    "v21.0": date(2025, 9, 9),
    "v22.0": date(2026, 2, 19),
    "v23.0": date(2026, 6, 9),
    "v24.0": date(2026, 11, 10),
    "v25.0": date(2027, 2, 23),
}
LATEST_VERSION = "v27.0"
# The reference says Meta warns ahead in `X-Ad-Api-Version-Warning`; how far ahead is not
# documented, so the fake warns in the last 90 days of a version (an assumption).
WARN_AHEAD = timedelta(days=90)


def version_refusal(version: str | None, today: date) -> MetaError | None:
    """Error #2635 when `version` has expired on `today`."""
    expires = VERSION_EXPIRES.get(version or "")
    if expires is not None and today >= expires:
        return MetaError(
            2635,
            "(#2635) You are calling a deprecated version of the Ads API. "
            f"Please update to the latest version: {LATEST_VERSION}.",
        )
    return None


def version_warning(version: str | None, today: date) -> dict[str, str]:
    """The X-Ad-Api-Version-Warning header for a version close to its expiry."""
    expires = VERSION_EXPIRES.get(version or "")
    if expires is None or not expires - WARN_AHEAD <= today < expires:
        return {}
    return {
        "X-Ad-Api-Version-Warning": f"The call has been made to version {version} which "
        f"will expire on {expires:%Y-%m-%d}. Please upgrade to {LATEST_VERSION}."
    }


class MetaError(Exception):
    """Raised inside the fake to answer with a Graph API error object."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: int = 400,
        subcode: int | None = None,
        transient: bool | None = None,
        kind: str = "OAuthException",
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.subcode, self.transient, self.kind = subcode, transient, kind

    def response(self, headers: dict[str, str]) -> FakeResponse:
        body: dict[str, Any] = {
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": "AbCdEfGhIjKlMnOp",
        }
        if self.subcode is not None:
            body["error_subcode"] = self.subcode
        if self.transient is not None:
            body["is_transient"] = self.transient
        return json_response(self.status, {"error": body}, headers)


@dataclass
class Usage:
    """Recent call volume, reported as percentages in the usage headers."""

    calls: deque[float] = field(default_factory=deque)

    def record(self) -> int:
        now = time.monotonic()
        self.calls.append(now)
        while self.calls and self.calls[0] < now - 60:
            self.calls.popleft()
        return min(60, len(self.calls) // 10)


def usage_headers(
    pct: int, regain_minutes: int = 0, reset_seconds: int = 0, account_id: str | None = None
) -> dict[str, str]:
    """x-app-usage, x-ad-account-usage and x-business-use-case-usage at a usage level."""
    headers = {
        "x-app-usage": json.dumps(
            {"call_count": pct, "total_cputime": max(0, pct - 3), "total_time": max(0, pct - 1)}
        ),
        "x-business-use-case-usage": json.dumps(
            {
                BUSINESS_ID: [
                    {
                        "type": "ads_insights",
                        "call_count": pct,
                        "total_cputime": max(0, pct - 3),
                        "total_time": max(0, pct - 1),
                        "estimated_time_to_regain_access": regain_minutes,
                        "ads_api_access_tier": "standard_access",
                    }
                ]
            }
        ),
    }
    if account_id is not None:
        headers["x-ad-account-usage"] = json.dumps(
            {
                "acc_id_util_pct": pct,
                "reset_time_duration": reset_seconds,
                "ads_api_access_tier": "standard_access",
            }
        )
    return headers
