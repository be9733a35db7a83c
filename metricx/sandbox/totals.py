"""The numbers a platform reports for one ad over one day or hour."""

from __future__ import annotations

from decimal import Decimal

from metricx.totals import Totals

# Internally every metric is an int in its smallest unit, so sums are exact:
# spend cents, impressions, link clicks, conversions in hundredths, value cents, leads.
Cells = tuple[int, int, int, int, int, int]
ZERO_CELLS: Cells = (0, 0, 0, 0, 0, 0)


def totals_from_cells(cells: Cells) -> Totals:
    """Reported metrics from the exact integer cells; money with 2 decimals."""
    spend, impressions, clicks, conversions, value, leads = cells
    return Totals(
        Decimal(spend).scaleb(-2),
        impressions,
        clicks,
        Decimal(conversions).scaleb(-2),
        Decimal(value).scaleb(-2),
        Decimal(leads),
    )


ZERO = totals_from_cells(ZERO_CELLS)


def add_cells(a: Cells, b: Cells) -> Cells:
    """Element-wise sum of two cell tuples."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5])
