"""How values look on screen: one place, so every page formats alike."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from metricx.semantic.catalogue import format_value


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'never', 'just now', '5 min ago', '3 h ago', '2 days ago'."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def is_late(last_synced_at: datetime | None, now: datetime | None = None,
            minutes: int = 60) -> bool:
    """A connection synced every 15 minutes that has not synced for an hour is late."""
    if last_synced_at is None:
        return True
    return ((now or datetime.now(UTC)) - last_synced_at).total_seconds() > minutes * 60


STATUS_BADGES = {
    "active": "🟢 active",
    "paused": "⏸️ paused",
    "needs_reauth": "🔑 needs re-authentication",
    "error": "🔴 error",
    "upgrade_needed": "⬆️ API upgrade needed",
    "misconfigured": "🛠️ setup needs a fix",
    "blocked": "⛔ blocked by the platform",
    "disconnected": "🔌 disconnected",
}
# States that need a person: shown as a warning with the platform's message.
ATTENTION_STATUSES = ("needs_reauth", "error", "upgrade_needed", "misconfigured", "blocked",
                      "disconnected")


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, status)


def money(value: float | None, currency: str) -> str:
    """An amount as the KPI tiles show it: "$1,234.50", "SEK 1,234.50", "—" for none."""
    return format_value("spend", None if value is None or value != value else value, currency)


def in_markdown(text: str) -> str:
    """Text for markdown (captions, st.markdown): a "$" there would open a LaTeX formula."""
    return text.replace("$", r"\$")


def money_column(label: str, currency: str) -> st.column_config.NumberColumn:
    """A table column of amounts in `currency`, shown with the tiles' symbol and thousands
    separators, and still sorted as numbers."""
    symbol = money(0, currency).removesuffix("0.00")  # the catalogue's own "$" or "SEK "
    return st.column_config.NumberColumn(label, format=f"{symbol}%,.2f")
