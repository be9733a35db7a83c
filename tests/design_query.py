"""The SemanticQuery example of docs/design.md (CPC this week vs last week, top 3 ads)."""

from __future__ import annotations

from typing import Any

DESIGN_QUERY: dict[str, Any] = {
    "metrics": ["cpc"],
    "time_range": {"start": "2026-11-23", "end": "2026-11-25"},
    "compare_range": {"start": "2026-11-16", "end": "2026-11-22"},
    "dimensions": ["ad"],
    "grain": None,
    "filters": {
        "provider": ["meta", "google"],
        "name_contains": None,
        "entity_ids": None,
        "dimension_values": None,
    },
    "order_by": {"metric": "spend", "direction": "desc"},
    "limit": 3,
    "attribution": {"model": "last_click", "window_days": 28, "mode": "cash"},
    "custom": None,
}
