"""The words every layer shares: the platforms, the campaign tree's levels, the roles and the
periods a user picks. Declared once here; models, services, pages and ui import them.

The levels are the connectors' own (metricx.connectors.records.LEVELS): connectors import
nothing from metricx outside their package, so the vocabulary takes the tree from them. The
platforms are metricx.platforms' registry.
"""

from __future__ import annotations

from metricx.connectors.records import LEVELS
from metricx.platforms import AD_PROVIDERS, EMAIL_PROVIDERS, PROVIDERS

#: Levels above an ad (an ad is three steps below its account).
PARENT_LEVELS = LEVELS[:-1]
#: A level in words on pages that list every platform's (Google's ad groups are ad sets here).
LEVEL_NOUNS = {"account": "account", "campaign": "campaign", "adset": "ad set", "ad": "ad"}
LEVEL_TITLES = {"account": "Accounts", "campaign": "Campaigns", "adset": "Ad sets", "ad": "Ads"}

#: What a user may do in a workspace: admins manage it, members read it.
ROLES = ("admin", "member")

#: The periods offered wherever one is picked (phrases of metricx.semantic.dates), first to
#: last; DEFAULT_PERIOD is the one shown before any choice.
PERIODS = (
    "today",
    "yesterday",
    "last 7 days",
    "last 14 days",
    "last 30 days",
    "this week",
    "last week",
    "this month",
    "last month",
    "this quarter",
    "last quarter",
)
DEFAULT_PERIOD = "last 7 days"
#: What a period is compared with: label -> metricx.semantic.dates.compare_range_for kind.
COMPARISONS = {
    "previous period": "previous_period",
    "previous year": "previous_year",
    "no comparison": None,
}

__all__ = [
    "AD_PROVIDERS",
    "COMPARISONS",
    "DEFAULT_PERIOD",
    "EMAIL_PROVIDERS",
    "LEVELS",
    "LEVEL_NOUNS",
    "LEVEL_TITLES",
    "PARENT_LEVELS",
    "PERIODS",
    "PROVIDERS",
    "ROLES",
]
