"""The platform API versions Metricx calls, and when each one stops working.

One table per platform: version -> end of life (the first day requests fail or change meaning),
None where the vendor has not published a date yet. The defaults are the versions the
official SDKs ship in December 2026. Admins are warned `WARN_DAYS` ahead; a platform's own
refusal (Meta #2635, a sunset Google version, Shopify falling forward) is a
VersionExpiredError in the connectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from metricx.platforms import PLATFORMS

WARN_DAYS = 30

DEFAULT_VERSIONS = {
    "meta": "v26.0",
    "google": "v26",
    "shopify": "2026-10",
    "klaviyo": "2026-10-15",
    "tiktok": "v1.3",
}

# Meta: "Marketing API version history" (developers.facebook.com/docs/marketing-api/
# marketing-api-changelog/versions), expiration column; facebook-business 26.0.3 ships v26.0.
META_END_OF_LIFE: dict[str, date | None] = {
    "v21.0": date(2025, 9, 9),
    "v22.0": date(2026, 2, 19),
    "v23.0": date(2026, 6, 9),
    "v24.0": date(2026, 11, 10),
    "v25.0": date(2027, 2, 23),
    "v26.0": None,  # released 2026-07-29, expiration "TBD"
    "v27.0": None,  # released 2026-11-04, expiration "TBD"
}
# Google Ads: "Deprecation and sunset" (developers.google.com/google-ads/api/docs/sunset-dates)
# and the sunset reminders on the Google Ads developer blog; google-ads 34.0.0 ships v23-v26.
GOOGLE_END_OF_LIFE: dict[str, date | None] = {
    "v18": date(2025, 8, 20),
    "v19": date(2026, 2, 11),
    "v20": date(2026, 6, 10),
    "v21": date(2026, 8, 5),
    "v22": date(2026, 10, 7),
    "v23": None,  # sunset dates of live versions are announced ~6 weeks ahead
    "v24": None,
    "v25": None,
    "v26": None,
}
# Shopify: "API versioning" (shopify.dev/docs/api/usage/versioning): a stable version is
# released each quarter and supported for at least 12 months, after which requests fall
# forward to the oldest supported version.
SHOPIFY_END_OF_LIFE: dict[str, date | None] = {
    f"{year}-{month:02d}": date(year + 1, month, 1)
    for year in (2024, 2025, 2026)
    for month in (1, 4, 7, 10)
}
# Klaviyo: "API versioning and deprecation policy" (developers.klaviyo.com/en/docs/
# api_versioning_and_deprecation_policy): a revision (the `revision` header, its release date)
# is stable for 1 year, then deprecated for 1 year, then retired: 2 years after release. A new
# revision ships each quarter; 2026-10-15 is the latest (developers.klaviyo.com/en/reference,
# "The latest revision is 2026-10-15"; klaviyo-api 24.0.0 ships 2026-07-15).
KLAVIYO_END_OF_LIFE: dict[str, date | None] = {
    "2024-10-15": date(2026, 10, 15),
    **{
        f"{year}-{month:02d}-15": date(year + 2, month, 15)
        for year in (2025, 2026)
        for month in (1, 4, 7, 10)
    },
}
# TikTok API for Business: the official SDK (github.com/tiktok/tiktok-business-api-sdk, every
# operation under /open_api/v1.3/) and the API docs (business-api.tiktok.com/portal/docs) serve
# v1.3 only, with no published end of life; older versions are not listed, so they read
# "unknown".
TIKTOK_END_OF_LIFE: dict[str, date | None] = {"v1.3": None}
END_OF_LIFE = {
    "meta": META_END_OF_LIFE,
    "google": GOOGLE_END_OF_LIFE,
    "shopify": SHOPIFY_END_OF_LIFE,
    "klaviyo": KLAVIYO_END_OF_LIFE,
    "tiktok": TIKTOK_END_OF_LIFE,
}


@dataclass(frozen=True)
class VersionStatus:
    """Where one configured version stands on a given day."""

    provider: str
    version: str
    end_of_life: date | None
    state: str  # live | ending | dead | unknown

    @property
    def message(self) -> str:
        found = PLATFORMS.get(self.provider)
        name = found.api_name if found else self.provider
        if self.state == "dead":
            return (
                f"{name} {self.version} stopped working on {self.end_of_life:%Y-%m-%d}; "
                f"set a live version (default {DEFAULT_VERSIONS[self.provider]})"
            )
        if self.state == "ending":
            return (
                f"{name} {self.version} stops working on {self.end_of_life:%Y-%m-%d}; "
                f"move to a newer version before then"
            )
        if self.state == "unknown":
            return f"{name} {self.version} is not a version Metricx knows; check it is live"
        return f"{name} {self.version} is live"


def version_status(provider: str, version: str, today: date) -> VersionStatus:
    """The state of `version` of `provider` on `today`."""
    table = END_OF_LIFE.get(provider, {})
    if version not in table:
        return VersionStatus(provider, version, None, "unknown")
    end = table[version]
    if end is None:
        state = "live"
    elif today >= end:
        state = "dead"
    elif today >= end - timedelta(days=WARN_DAYS):
        state = "ending"
    else:
        state = "live"
    return VersionStatus(provider, version, end, state)


def version_warnings(configured: dict[str, str], today: date) -> list[VersionStatus]:
    """The configured versions that need an admin's attention (ending soon, dead, unknown)."""
    return [
        status
        for provider, version in configured.items()
        if (status := version_status(provider, version, today)).state != "live"
    ]
