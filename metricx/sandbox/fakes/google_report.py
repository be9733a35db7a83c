"""Runs a parsed GAQL query against the merchant and shapes rows like the REST API does.

REST rows are nested lowerCamelCase objects; int64 comes as a JSON string, doubles as numbers,
money as micros, and proto3 default values (0, "", false) are left out entirely, so a client
must treat a missing metric as zero.

Performance Max campaigns have no ad groups or ads: "querying resources such as ad_group or
ad_group_ad won't return any data for your Performance Max campaigns"
(developers.google.com/google-ads/api/performance-max/reporting). The merchant still models
their delivery as ads (so its totals stay what they were); this report hides those ads from
FROM ad_group / ad_group_ad and shows them only in the campaign (and customer) totals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from metricx.sandbox import rand
from metricx.sandbox.ad_copy import (
    RDA,
    RSA,
    VRA,
    GoogleAdCopy,
    GoogleAsset,
    google_ad_copy,
    google_assets,
    image_png,
)
from metricx.sandbox.entities import Account, Ad, AdSet, Campaign
from metricx.sandbox.fakes.gaql import Condition, GaqlError, GaqlQuery, compare
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.totals import ZERO_CELLS, Cells, add_cells

# Builds an image asset's full_size.url (GoogleAdsFake.image_url).
ImageUrl = Callable[[GoogleAsset], str]
# The channel type whose campaigns have asset groups instead of ad groups and ads.
PERFORMANCE_MAX = "PERFORMANCE_MAX"


@dataclass(frozen=True)
class ConversionAction:
    """A conversion action of the account (ConversionAction resource; lookbacks in days).

    Google lets a click-through window run 1-90 days and a view-through window 1-30 days
    (support.google.com/google-ads/answer/3123169, "About conversion windows").
    """

    id: str
    name: str
    status: str  # ENABLED | REMOVED | HIDDEN
    type: str
    category: str
    click_through_days: int
    view_through_days: int
    primary_for_goal: bool = True


def default_conversion_actions(customer_id: str) -> tuple[ConversionAction, ...]:
    """What a Shopify merchant's Google Ads account typically holds: the store's purchase tag
    (30-day default window), a secondary add-to-cart, CRM purchases imported with the
    longest window Google allows, and a removed action (whose window no longer matters)."""
    base = int(customer_id[-6:])
    return (
        ConversionAction(
            str(base * 10 + 1),
            "Purchase (Google & YouTube app)",
            "ENABLED",
            "WEBPAGE",
            "PURCHASE",
            30,
            1,
        ),
        ConversionAction(
            str(base * 10 + 2),
            "Add to cart",
            "ENABLED",
            "WEBPAGE",
            "ADD_TO_CART",
            30,
            1,
            primary_for_goal=False,
        ),
        ConversionAction(
            str(base * 10 + 3),
            "Offline purchase (CRM import)",
            "ENABLED",
            "UPLOAD_CLICKS",
            "PURCHASE",
            90,
            0,
        ),
        ConversionAction(
            str(base * 10 + 4),
            "Phone call lead (old)",
            "REMOVED",
            "AD_CALL",
            "PHONE_CALL_LEAD",
            60,
            30,
        ),
    )


@dataclass(frozen=True)
class Ctx:
    """One candidate row: the entities it belongs to plus its segment values and metrics."""

    customer: Account
    campaign: Campaign | None
    ad_group: AdSet | None
    ad: Ad | None
    day: date | None = None
    hour: int | None = None
    cells: Cells = ZERO_CELLS
    conversion_action: ConversionAction | None = None
    copy: GoogleAdCopy | None = None  # what the ad shows (ad_group_ad rows)
    asset: GoogleAsset | None = None  # asset rows
    image_url: ImageUrl | None = None  # an image asset's full_size.url (the fake's own host)


# Takes a Ctx, typed Any: a field is read only from rows of a resource that has its parts
# (RESOURCES), so the getters leave out the checks for absent campaigns, ad groups and ads.
Getter = Callable[[Any, datetime], Any]


def _resource_name_getter(resource: str) -> Getter:
    return lambda c, t: _resource_name(c, resource)


# field -> (proto type, getter)
FIELDS: dict[str, tuple[str, Getter]] = {
    "customer.id": ("int64", lambda c, t: int(c.customer.external_id)),
    "customer.descriptive_name": ("string", lambda c, t: c.customer.name),
    "customer.currency_code": ("string", lambda c, t: c.customer.currency),
    "customer.time_zone": ("string", lambda c, t: c.customer.timezone),
    "customer.manager": ("bool", lambda c, t: False),
    "customer.test_account": ("bool", lambda c, t: False),
    "campaign.id": ("int64", lambda c, t: int(c.campaign.external_id)),
    "campaign.name": ("string", lambda c, t: c.campaign.name),
    "campaign.status": ("enum", lambda c, t: c.campaign.status_at(t)),
    "campaign.advertising_channel_type": ("enum", lambda c, t: c.campaign.objective),
    "campaign.start_date": ("string", lambda c, t: c.campaign.start_day.isoformat()),
    "campaign_budget.amount_micros": (
        "int64",
        lambda c, t: int(c.campaign.budget * 1_000_000) if c.campaign.budget else 0,
    ),
    "ad_group.id": ("int64", lambda c, t: int(c.ad_group.external_id)),
    "ad_group.name": ("string", lambda c, t: c.ad_group.name),
    "ad_group.status": ("enum", lambda c, t: c.ad_group.status_at(t)),
    "ad_group.campaign": ("string", lambda c, t: _rn(c, "campaigns", c.campaign.external_id)),
    "ad_group_ad.ad.id": ("int64", lambda c, t: int(c.ad.external_id)),
    "ad_group_ad.ad.name": ("string", lambda c, t: c.ad.name),
    "ad_group_ad.status": ("enum", lambda c, t: c.ad.status_at(t)),
    "ad_group_ad.ad_group": ("string", lambda c, t: _rn(c, "adGroups", c.ad_group.external_id)),
    "segments.date": ("date", lambda c, t: c.day.isoformat() if c.day else None),
    "segments.hour": ("int32", lambda c, t: c.hour),
    "metrics.cost_micros": ("int64", lambda c, t: c.cells[0] * 10_000),
    "metrics.impressions": ("int64", lambda c, t: c.cells[1]),
    "metrics.clicks": ("int64", lambda c, t: c.cells[2]),
    "metrics.conversions": ("double", lambda c, t: c.cells[3] / 100),
    "metrics.conversions_value": ("double", lambda c, t: c.cells[4] / 100),
    "conversion_action.id": ("int64", lambda c, t: int(c.conversion_action.id)),
    "conversion_action.name": ("string", lambda c, t: c.conversion_action.name),
    "conversion_action.status": ("enum", lambda c, t: c.conversion_action.status),
    "conversion_action.type": ("enum", lambda c, t: c.conversion_action.type),
    "conversion_action.category": ("enum", lambda c, t: c.conversion_action.category),
    "conversion_action.primary_for_goal": (
        "bool",
        lambda c, t: c.conversion_action.primary_for_goal,
    ),
    "conversion_action.click_through_lookback_window_days": (
        "int64",
        lambda c, t: c.conversion_action.click_through_days,
    ),
    "conversion_action.view_through_lookback_window_days": (
        "int64",
        lambda c, t: c.conversion_action.view_through_days,
    ),
}


# ---- creatives: the ad's type-specific fields and the asset resource ----------------------
# An ad fills one oneof by its type (Ad.ad_data; googleads/google-ads-python v25
# resources/types/ad.py, common/types/ad_type_infos.py); the fields of the other oneofs come
# back unset, which the REST JSON leaves out. Texts are AdTextAsset {text, pinnedField (only
# when pinned)}, images and videos AdImageAsset / AdVideoAsset {asset: resource name} with no
# URL (common/types/ad_asset.py). Field kind "message": the value is already its JSON form.
def _of(ad_type: str, part: Callable[[GoogleAdCopy], Any]) -> Getter:
    return lambda c, t: part(c.copy) if c.copy is not None and c.copy.ad_type == ad_type else None


def _texts(texts: Sequence[str], pins: Sequence[str | None] = ()) -> list[dict[str, str]]:
    pinned = list(pins) + [None] * (len(texts) - len(pins))
    return [
        {"text": t} | ({"pinnedField": p} if p else {}) for t, p in zip(texts, pinned, strict=True)
    ]


def _assets(assets: Sequence[GoogleAsset]) -> list[dict[str, str]]:
    return [{"asset": a.resource_name} for a in assets]


AD = "ad_group_ad.ad."
FIELDS.update(
    {
        AD + "type": ("enum", lambda c, t: c.copy.ad_type if c.copy else None),
        AD + "responsive_search_ad.headlines": (
            "message",
            _of(RSA, lambda a: _texts(a.headlines, a.pins)),
        ),
        AD + "responsive_search_ad.descriptions": (
            "message",
            _of(RSA, lambda a: _texts(a.descriptions)),
        ),
        AD + "responsive_search_ad.path1": ("string", lambda c, t: None),
        AD + "responsive_search_ad.path2": ("string", lambda c, t: None),
        AD + "responsive_display_ad.marketing_images": (
            "message",
            _of(RDA, lambda a: _assets(a.marketing_images)),
        ),
        AD + "responsive_display_ad.square_marketing_images": (
            "message",
            _of(RDA, lambda a: _assets(a.square_marketing_images)),
        ),
        AD + "responsive_display_ad.headlines": (
            "message",
            _of(RDA, lambda a: _texts(a.headlines)),
        ),
        AD + "responsive_display_ad.long_headline": (
            "message",
            _of(RDA, lambda a: _texts([a.long_headline])[0] if a.long_headline else None),
        ),
        AD + "responsive_display_ad.descriptions": (
            "message",
            _of(RDA, lambda a: _texts(a.descriptions)),
        ),
        AD + "responsive_display_ad.youtube_videos": (
            "message",
            _of(RDA, lambda a: _assets(a.videos)),
        ),
        AD + "responsive_display_ad.call_to_action_text": (
            "string",
            _of(RDA, lambda a: a.call_to_action),
        ),
        AD + "video_responsive_ad.videos": ("message", _of(VRA, lambda a: _assets(a.videos))),
        AD + "video_responsive_ad.headlines": ("message", _of(VRA, lambda a: _texts(a.headlines))),
        AD + "video_responsive_ad.descriptions": (
            "message",
            _of(VRA, lambda a: _texts(a.descriptions)),
        ),
        AD + "video_responsive_ad.call_to_actions": (
            "message",
            _of(VRA, lambda a: _texts([a.call_to_action] if a.call_to_action else [])),
        ),
        # Ad types the sandbox never creates: selectable, always unset.
        **{
            AD + name: (kind, lambda c, t: None)
            for name, kind in (
                ("image_ad.image_url", "string"),
                ("image_ad.preview_image_url", "string"),
                ("image_ad.name", "string"),
                ("video_ad.video.asset", "string"),
                ("demand_gen_multi_asset_ad.marketing_images", "message"),
                ("demand_gen_multi_asset_ad.square_marketing_images", "message"),
                ("demand_gen_multi_asset_ad.headlines", "message"),
                ("demand_gen_multi_asset_ad.descriptions", "message"),
                ("demand_gen_multi_asset_ad.call_to_action_text", "string"),
                ("demand_gen_video_responsive_ad.videos", "message"),
                ("demand_gen_video_responsive_ad.headlines", "message"),
                ("demand_gen_video_responsive_ad.descriptions", "message"),
            )
        },
        # Asset (resources/types/asset.py; common/types/asset_types.py ImageAsset,
        # ImageDimension, YoutubeVideoAsset). Only IMAGE and YOUTUBE_VIDEO assets exist here.
        "asset.id": ("int64", lambda c, t: int(c.asset.external_id)),
        "asset.name": ("string", lambda c, t: c.asset.name),
        "asset.type": ("enum", lambda c, t: c.asset.type),
        "asset.image_asset.full_size.url": (
            "string",
            lambda c, t: c.image_url(c.asset) if c.asset.type == "IMAGE" and c.image_url else None,
        ),
        "asset.image_asset.full_size.width_pixels": ("int64", lambda c, t: c.asset.width),
        "asset.image_asset.full_size.height_pixels": ("int64", lambda c, t: c.asset.height),
        "asset.image_asset.mime_type": (
            "enum",
            lambda c, t: "IMAGE_PNG" if c.asset.type == "IMAGE" else None,
        ),
        "asset.image_asset.file_size": (
            "int64",
            lambda c, t: len(image_png(c.asset)) if c.asset.type == "IMAGE" else None,
        ),
        "asset.youtube_video_asset.youtube_video_id": (
            "string",
            lambda c, t: c.asset.youtube_video_id,
        ),
        "asset.youtube_video_asset.youtube_video_title": (
            "string",
            lambda c, t: c.asset.youtube_video_title,
        ),
        "asset.text_asset.text": ("string", lambda c, t: None),
    }
)
for _resource in ("customer", "campaign", "ad_group", "ad_group_ad", "conversion_action", "asset"):
    FIELDS[f"{_resource}.resource_name"] = ("string", _resource_name_getter(_resource))
RESOURCES = {
    "customer": ("customer.",),
    "campaign": ("campaign.", "campaign_budget.", "customer."),
    "ad_group": ("ad_group.", "campaign.", "customer."),
    "ad_group_ad": ("ad_group_ad.", "ad_group.", "campaign.", "customer."),
    "conversion_action": ("conversion_action.", "customer."),
    "asset": ("asset.", "customer."),
}
# Resources that report no metrics or segments in this fake (the real conversion_action only
# takes all_conversions* metrics, which Metricx does not read; asset metrics are not modelled:
# the creative query reads assets' content only).
WITHOUT_METRICS = {"conversion_action", "asset"}
DURING = {
    "TODAY": (0, 0),
    "YESTERDAY": (1, 1),
    "LAST_7_DAYS": (7, 1),
    "LAST_14_DAYS": (14, 1),
    "LAST_30_DAYS": (30, 1),
}


def _rn(c: Ctx, collection: str, ident: str) -> str:
    return f"customers/{c.customer.external_id}/{collection}/{ident}"


def _resource_name(c: Ctx, resource: str) -> str:
    """customers/1/campaigns/9 style names (the rows of a resource always carry its parents)."""
    if resource == "customer":
        return f"customers/{c.customer.external_id}"
    if resource == "campaign" and c.campaign is not None:
        return _rn(c, "campaigns", c.campaign.external_id)
    if resource == "ad_group" and c.ad_group is not None:
        return _rn(c, "adGroups", c.ad_group.external_id)
    if resource == "ad_group_ad" and c.ad_group is not None and c.ad is not None:
        return _rn(c, "adGroupAds", f"{c.ad_group.external_id}~{c.ad.external_id}")
    if resource == "conversion_action" and c.conversion_action is not None:
        return _rn(c, "conversionActions", c.conversion_action.id)
    if resource == "asset" and c.asset is not None:
        return c.asset.resource_name
    raise GaqlError(
        "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE", f"{resource} fields cannot be selected here."
    )


def camel(name: str) -> str:
    """snake_case -> lowerCamelCase, as the REST JSON mapping spells field names."""
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def field_mask(select: tuple[str, ...]) -> str:
    return ",".join(".".join(camel(p) for p in f.split(".")) for f in select)


class Report:
    """The rows of one GAQL query for one customer at one moment."""

    def __init__(
        self,
        merchant: Merchant,
        customer: Account,
        query: GaqlQuery,
        as_of: datetime,
        conversion_actions: Sequence[ConversionAction] = (),
        image_url: ImageUrl | None = None,
    ) -> None:
        self.merchant, self.customer, self.query, self.as_of = merchant, customer, query, as_of
        self.conversion_actions = tuple(conversion_actions)
        self.image_url = image_url
        if query.resource not in RESOURCES:
            raise GaqlError(
                "INVALID_RESOURCE_NAME" if query.resource else "UNEXPECTED_INPUT",
                f"Error in query: unsupported resource {query.resource!r}.",
            )
        for name in (
            *query.select,
            *(c.field for c in query.where),
            *(f for f, _ in query.order_by),
        ):
            self._check_field(name)
        self.rows = self._rows()

    def _check_field(self, name: str) -> None:
        if name not in FIELDS:
            raise GaqlError("UNRECOGNIZED_FIELD", f"Error in query: unrecognized field '{name}'.")
        allowed = RESOURCES[self.query.resource]
        if self.query.resource in WITHOUT_METRICS and name.startswith(("segments.", "metrics.")):
            kind = "METRIC" if name.startswith("metrics.") else "SEGMENT"
            raise GaqlError(
                f"PROHIBITED_{kind}_IN_SELECT_OR_WHERE_CLAUSE",
                f"'{name}' cannot be used with FROM {self.query.resource}.",
            )
        if not name.startswith(("segments.", "metrics.", *allowed)):
            raise GaqlError(
                "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                f"'{name}' cannot be selected with FROM {self.query.resource}.",
            )

    # ---- candidate rows -----------------------------------------------------------------
    def _entities(self) -> list[tuple[Ctx, list[Ad]]]:
        m, acc, r = self.merchant, self.customer, self.query.resource
        ads = [a for a in m.ads_of(acc.external_id) if a.created_at <= self.as_of]
        if r == "customer":
            return [(Ctx(acc, None, None, None), ads)]
        if r == "campaign":
            return [
                (Ctx(acc, c, None, None), [a for a in ads if a.campaign_id == c.external_id])
                for c in m.campaigns_of(acc.external_id)
                if c.created_at <= self.as_of
            ]
        if r == "conversion_action":
            return [
                (Ctx(acc, None, None, None, conversion_action=action), [])
                for action in self.conversion_actions
            ]
        if r == "asset":
            return [
                (Ctx(acc, None, None, None, asset=asset, image_url=self.image_url), [])
                for asset in google_assets(m, acc.external_id).values()
            ]
        # Performance Max delivery never shows up below the campaign (see the module note).
        visible = [a for a in ads if not _is_pmax(m.campaign(a.campaign_id))]
        if r == "ad_group":
            return [
                (
                    Ctx(acc, m.campaign(s.campaign_id), s, None),
                    [a for a in visible if a.adset_id == s.external_id],
                )
                for s in m.adsets_of(acc.external_id)
                if s.created_at <= self.as_of and not _is_pmax(m.campaign(s.campaign_id))
            ]
        return [
            (
                Ctx(
                    acc,
                    m.campaign(a.campaign_id),
                    m.adset(a.adset_id),
                    a,
                    copy=google_ad_copy(m, a),
                ),
                [a],
            )
            for a in visible
        ]

    def _days(self, conditions: list[Condition], required: bool) -> list[date]:
        today = self.merchant.account_today(self.customer.external_id, self.as_of)
        low, high = self.merchant.start_day, today
        explicit: set[date] | None = None
        if required and not conditions:
            raise GaqlError(
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "segments.date in the SELECT "
                "clause requires a finite date range filter in the WHERE clause.",
            )
        for cond in conditions:
            if cond.op == "DURING":
                if cond.value not in DURING:
                    raise GaqlError(
                        "INVALID_VALUE_WITH_DURING_OPERATOR",
                        f"Unsupported DURING value {cond.value}.",
                    )
                back, end = DURING[cond.value]
                low = max(low, today - timedelta(days=back))
                high = min(high, today - timedelta(days=end))
                continue
            values = cond.value if isinstance(cond.value, (list, tuple)) else [cond.value]
            try:
                dates = [date.fromisoformat(str(v)) for v in values]
            except ValueError as exc:
                raise GaqlError(
                    "INVALID_VALUE_WITH_BETWEEN_OPERATOR"
                    if cond.op == "BETWEEN"
                    else "BAD_VALUE_IN_WHERE_CLAUSE",
                    f"Invalid date in {cond.field}",
                ) from exc
            if cond.op == "BETWEEN":
                low, high = max(low, dates[0]), min(high, dates[1])
            elif cond.op in ("=", "IN"):
                explicit = set(dates) if explicit is None else explicit & set(dates)
            elif cond.op in (">", ">="):
                low = max(low, dates[0] + timedelta(days=1 if cond.op == ">" else 0))
            elif cond.op in ("<", "<="):
                high = min(high, dates[0] - timedelta(days=1 if cond.op == "<" else 0))
            else:
                raise GaqlError(
                    "BAD_OPERATOR_IN_WHERE_CLAUSE",
                    f"Operator {cond.op} is not supported on segments.date.",
                )
        days = [low + timedelta(days=i) for i in range((high - low).days + 1)]
        return [d for d in days if explicit is None or d in explicit]

    def _rows(self) -> list[Ctx]:
        q, series = self.query, self.merchant.series
        where: dict[str, list[Condition]] = {"entity": [], "date": [], "metric": [], "hour": []}
        for cond in q.where:
            group = (
                "date"
                if cond.field == "segments.date"
                else "hour"
                if cond.field == "segments.hour"
                else "metric"
                if cond.field.startswith("metrics.")
                else "entity"
            )
            where[group].append(cond)
        by_date = "segments.date" in q.select
        by_hour = "segments.hour" in q.select
        with_metrics = any(f.startswith("metrics.") for f in q.select) or bool(where["metric"])
        segmented = by_date or by_hour
        rows: list[Ctx] = []
        for ctx, ads in self._entities():
            if not all(compare(FIELDS[c.field][1](ctx, self.as_of), c) for c in where["entity"]):
                continue
            if not (segmented or with_metrics):
                rows.append(ctx)
                continue
            days = self._days(where["date"], required=by_date)
            buckets: dict[tuple[date | None, int | None], Cells] = {}
            for day in days:
                if by_hour:
                    hours = [ZERO_CELLS] * 24
                    for ad in ads:
                        hours = [
                            add_cells(a, b)
                            for a, b in zip(
                                hours, series.hour_cells(ad, day, self.as_of), strict=True
                            )
                        ]
                    for h, cells in enumerate(hours):
                        key: tuple[date | None, int | None] = (day if by_date else None, h)
                        buckets[key] = add_cells(buckets.get(key, ZERO_CELLS), cells)
                else:
                    cells = ZERO_CELLS
                    for ad in ads:
                        cells = add_cells(cells, series.day_cells(ad, day, self.as_of))
                    key = (day if by_date else None, None)
                    buckets[key] = add_cells(buckets.get(key, ZERO_CELLS), cells)
            for (row_day, hour), cells in buckets.items():
                if not any(cells):
                    continue
                row = replace(ctx, day=row_day, hour=hour, cells=cells)
                if all(
                    compare(FIELDS[c.field][1](row, self.as_of), c)
                    for c in where["metric"] + where["hour"]
                ):
                    rows.append(row)
        rows.sort(key=lambda r: (r.day or date.min, -1 if r.hour is None else r.hour))
        for name, descending in reversed(q.order_by):
            rows.sort(key=_sorting_by(name, self.as_of), reverse=descending)
        return rows[: q.limit] if q.limit is not None else rows

    # ---- shaping ------------------------------------------------------------------------
    def render(self, row: Ctx) -> dict[str, Any]:
        """One result row in REST JSON form (defaults omitted, like proto3 JSON)."""
        out: dict[str, Any] = {}
        resources = {self.query.resource}
        for name in self.query.select:
            kind, getter = FIELDS[name]
            value = getter(row, self.as_of)
            prefix = name.split(".")[0]
            if prefix in RESOURCES:
                resources.add(prefix)
            if value in (None, 0, 0.0, "", False) or value == []:
                continue  # proto3 JSON leaves defaults and empty repeated fields out
            _put(out, name, _json_value(kind, value))
        for resource in resources:
            _put(out, f"{resource}.resource_name", _resource_name(row, resource))
        if row.ad is not None and any(f.startswith("ad_group_ad.ad.") for f in self.query.select):
            _put(out, "ad_group_ad.ad.resource_name", _rn(row, "ads", row.ad.external_id))
        if row.campaign is not None and any(
            f.startswith("campaign_budget.") for f in self.query.select
        ):
            budget = rand.digits(self.merchant.seed, 11, "budget", row.campaign.external_id)
            _put(out, "campaign_budget.resource_name", _rn(row, "campaignBudgets", budget))
        return out


def _is_pmax(campaign: Campaign) -> bool:
    return campaign.objective == PERFORMANCE_MAX


def _sorting_by(field: str, as_of: datetime) -> Callable[[Ctx], tuple[int, Any]]:
    getter = FIELDS[field][1]
    return lambda row: _sort_key(getter(row, as_of))


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if value is not None else (1, 0)


def _json_value(kind: str, value: Any) -> Any:
    if kind == "int64":
        return str(int(value))
    if kind == "double":
        return float(value)
    return value


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    parts = [camel(p) for p in name.split(".")]
    node = out
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
