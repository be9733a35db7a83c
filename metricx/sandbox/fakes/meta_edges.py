"""Graph API entity edges (campaigns, adsets, ads): node shape, field lists and filtering,
and the ad's `creative` (an AdCreative) read through field expansion."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from metricx.sandbox.creatives import SandboxCreative
from metricx.sandbox.entities import Ad, AdSet, Campaign, Node
from metricx.sandbox.fakes.meta_graph import MetaError
from metricx.sandbox.merchant import Merchant

ENTITY_FIELDS = {
    "campaigns": {
        "id",
        "name",
        "status",
        "effective_status",
        "configured_status",
        "objective",
        "daily_budget",
        "lifetime_budget",
        "updated_time",
        "created_time",
        "start_time",
        "account_id",
        "buying_type",
    },
    "adsets": {
        "id",
        "name",
        "status",
        "effective_status",
        "configured_status",
        "campaign_id",
        "daily_budget",
        "lifetime_budget",
        "updated_time",
        "created_time",
        "account_id",
        "optimization_goal",
        "billing_event",
    },
    "ads": {
        "id",
        "name",
        "status",
        "effective_status",
        "configured_status",
        "campaign_id",
        "adset_id",
        "updated_time",
        "created_time",
        "account_id",
        "creative",
    },
}
NODE_TYPES = {"campaigns": "Campaign", "adsets": "AdSet", "ads": "Ad"}


def entity_node(merchant: Merchant, node: Node, now: datetime) -> dict[str, Any]:
    """A campaign, ad set or ad as the Graph API edges return it (budgets in minor units)."""
    m = merchant
    status = node.status_at(now)
    out: dict[str, Any] = {
        "id": node.external_id,
        "name": node.name,
        "status": status,
        "configured_status": status,
        "effective_status": status,
        "account_id": node.account_id,
        "created_time": graph_time(node.created_at),
        "updated_time": graph_time(node.updated_at(now)),
    }
    if isinstance(node, Campaign):
        out.update(
            objective=node.objective, buying_type="AUCTION", start_time=graph_time(node.created_at)
        )
        if node.budget is not None:
            out["daily_budget"] = str(int(node.budget * 100))
    elif isinstance(node, AdSet):
        camp = m.campaign(node.campaign_id)
        out.update(
            campaign_id=node.campaign_id,
            optimization_goal="OFFSITE_CONVERSIONS",
            billing_event="IMPRESSIONS",
        )
        if camp.status_at(now) == "PAUSED":
            out["effective_status"] = "CAMPAIGN_PAUSED"
        if node.budget is not None:
            out["daily_budget"] = str(int(node.budget * 100))
    elif isinstance(node, Ad):
        camp, adset = m.campaign(node.campaign_id), m.adset(node.adset_id)
        out.update(campaign_id=camp.external_id, adset_id=adset.external_id)
        if camp.status_at(now) == "PAUSED":
            out["effective_status"] = "CAMPAIGN_PAUSED"
        elif adset.status_at(now) == "PAUSED":
            out["effective_status"] = "ADSET_PAUSED"
    return out


def graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass(frozen=True)
class FieldRequest:
    """One entry of a `fields` parameter: `name.modifier(value)...{subfields}`."""

    name: str
    modifiers: tuple[tuple[str, str], ...] = ()
    subfields: tuple[FieldRequest, ...] | None = None


def parse_fields(text: str) -> list[FieldRequest]:
    """Graph API field expansion ("Field Expansion", developers.facebook.com/docs/graph-api/
    guides/field-expansion): comma-separated fields, each with optional `.modifier(value)`
    calls and a `{...}` list of sub-fields, nested to any depth. A malformed list is refused
    with code 2500 and Graph's "Syntax error ... at character N" (as quoted in
    github.com/node-facebook/facebook-node-sdk/issues/123: `Expected end of string instead
    of "{".` at the 0-based offset of the offending character). Empty entries (a trailing
    comma) are skipped, as the fake always did; Graph says "Expected name." for them."""
    parser = _FieldParser(text)
    requests = parser.field_list(top=True)
    if parser.pos < len(text):
        parser.fail(f'Expected end of string instead of "{text[parser.pos]}".')
    return requests


class _FieldParser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, what: str) -> None:
        raise MetaError(2500, f'Syntax error "{what}" at character {self.pos}: {self.text}')

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _name(self) -> str:
        self._skip_space()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] == "_"
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        self._skip_space()
        return name

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def field_list(self, top: bool = False) -> list[FieldRequest]:
        out: list[FieldRequest] = []
        while True:
            item = self._field(allow_empty=top)
            if item is not None:
                out.append(item)
            if self._peek() != ",":
                return out
            self.pos += 1

    def _field(self, allow_empty: bool) -> FieldRequest | None:
        name = self._name()
        if not name:
            if allow_empty and self._peek() in (",", ""):
                return None
            self.fail("Expected name.")
        modifiers: list[tuple[str, str]] = []
        while self._peek() == ".":
            self.pos += 1
            modifier = self._name()
            if not modifier or self._peek() != "(":
                self.fail('Expected "(".')
            end = self.text.find(")", self.pos)
            if end < 0:
                self.pos = len(self.text)
                self.fail('Expected ")", got end of string')
            modifiers.append((modifier, self.text[self.pos + 1 : end].strip()))
            self.pos = end + 1
            self._skip_space()
        subfields: tuple[FieldRequest, ...] | None = None
        if self._peek() == "{":
            self.pos += 1
            subfields = tuple(self.field_list())
            if self._peek() != "}":
                if self.pos >= len(self.text):
                    self.fail('Expected "}", got end of string')
                self.fail(f'Expected "}}" instead of "{self._peek()}".')
            self.pos += 1
            self._skip_space()
        return FieldRequest(name, tuple(modifiers), subfields)


def requested_fields(
    params: dict[str, str],
    default: set[str],
    known: set[str],
    node: str,
    objects: frozenset[str] = frozenset(),
) -> set[str]:
    """The names in the `fields` parameter, checked like the Graph API does (unknown field
    -> error 100). Only `objects` (fields holding another node) take modifiers or sub-fields."""
    requests = parse_fields(params.get("fields", ""))
    wanted = {r.name for r in requests} or default
    for name in sorted(wanted):
        if name not in known:
            raise MetaError(
                100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
            )
    for r in requests:
        if (r.modifiers or r.subfields is not None) and r.name not in objects:
            # The sandbox's wording: Meta's docs do not show the answer to this.
            raise MetaError(100, f"(#100) Field {r.name} on node type ({node}) cannot be expanded")
    return wanted


def expansion(params: dict[str, str], name: str) -> FieldRequest | None:
    """How the `fields` parameter asks for object field `name` (None: not asked)."""
    for r in parse_fields(params.get("fields", "")):
        if r.name == name:
            return r
    return None


# ---- AdCreative -----------------------------------------------------------------------------
# The AdCreative fields the sandbox serves (SDK facebook-python-business-sdk v25
# adobjects/adcreative.py `Field`; research §2.1).
CREATIVE_FIELDS = frozenset(
    {
        "id",
        "name",
        "title",
        "body",
        "object_type",
        "call_to_action_type",
        "thumbnail_url",
        "image_url",
        "image_hash",
        "video_id",
        "object_story_spec",
        "effective_object_story_id",
        # Real AdCreative fields no sandbox creative has, so never in an answer: dynamic
        # (asset feed) creatives are not built, and object_story_id is often absent for
        # object_story_spec creatives (research19 meta.md §2.1).
        "asset_feed_spec",
        "object_story_id",
    }
)
# Field lists of the nested structs (SDK adcreativeobjectstoryspec.py, adcreativelinkdata.py,
# adcreativelinkdatachildattachment.py, adcreativevideodata.py, adcreativelinkdatacalltoaction
# .py): a known field the creative lacks is left out, an unknown one is error 100.
STRUCT_FIELDS = {
    "AdCreativeObjectStorySpec": (
        "page_id instagram_user_id link_data photo_data video_data text_data template_data "
        "product_data"
    ),
    "AdCreativeLinkData": (
        "link message name description caption picture image_hash call_to_action "
        "child_attachments multi_share_optimized multi_share_end_card format_option "
        "collection_thumbnails"
    ),
    "AdCreativeLinkDataChildAttachment": (
        "link name description picture image_hash video_id call_to_action image_crops static_card"
    ),
    "AdCreativeVideoData": (
        "video_id image_url image_hash title message link_description call_to_action"
    ),
    "AdCreativeLinkDataCallToAction": "type value",
    "AdCreativeLinkDataCallToActionValue": "link app_link application lead_gen_form_id",
}
STRUCT_OF = {
    "object_story_spec": "AdCreativeObjectStorySpec",
    "link_data": "AdCreativeLinkData",
    "child_attachments": "AdCreativeLinkDataChildAttachment",
    "video_data": "AdCreativeVideoData",
    "call_to_action": "AdCreativeLinkDataCallToAction",
    "value": "AdCreativeLinkDataCallToActionValue",
}
THUMBNAIL_MODIFIERS = ("thumbnail_width", "thumbnail_height")

ThumbnailUrl = Callable[[SandboxCreative, int, int], str]


@dataclass(frozen=True)
class CreativeOptions:
    """Knobs for what Meta leaves undocumented (research19 meta.md §1.1, §2.3, UNCONFIRMED):
    the thumbnail size without modifiers (one project measured 64 px) and the `object_type`
    of a video built with object_story_spec (observed `SHARE`; older creatives say VIDEO)."""

    default_thumbnail_size: int = 64
    video_object_type: str = "SHARE"
    image_url_size: int = 1080


def creative_node(
    creative: SandboxCreative,
    request: FieldRequest,
    thumbnail_url: ThumbnailUrl,
    options: CreativeOptions,
) -> dict[str, Any]:
    """The ad's `creative` as field expansion returns it: only `id` unless sub-fields are asked
    (Graph returns an object field as its id alone: "Field Expansion" guide), the asked ones
    otherwise, with `thumbnail_width(W).thumbnail_height(H)` sizing `thumbnail_url` (the
    modifier form of AdCreative's `thumbnail_width`/`thumbnail_height` parameters, SDK
    adcreative.py `api_get` param_types; research §1.1)."""
    width = height = options.default_thumbnail_size
    for modifier, value in request.modifiers:
        if modifier not in THUMBNAIL_MODIFIERS:
            # The sandbox's strictness: the docs list no other modifier for AdCreative.
            raise MetaError(100, f"(#100) Unknown modifier {modifier} on field creative")
        # SDK adcreative.py: thumbnail_width / thumbnail_height are `unsigned int`. The 2048
        # cap is the sandbox's (Meta publishes none): it keeps generated previews bounded.
        if not value.isdigit() or not 1 <= int(value) <= 2048:
            raise MetaError(100, f"(#100) Param {modifier} must be an unsigned integer <= 2048")
        if modifier == "thumbnail_width":
            width = int(value)
        else:
            height = int(value)
    subfields = request.subfields or (FieldRequest("id"),)
    for sub in subfields:
        if sub.name not in CREATIVE_FIELDS:
            raise MetaError(
                100,
                f"(#100) Tried accessing nonexisting field ({sub.name}) on node type (AdCreative)",
            )
    full = _creative_fields(
        creative, thumbnail_url(creative, width, height), thumbnail_url, options
    )
    out: dict[str, Any] = {}
    for sub in subfields:
        if sub.name in full:
            out[sub.name] = _select(full[sub.name], sub)
    return out


def _creative_fields(
    c: SandboxCreative, thumbnail: str, thumbnail_url: ThumbnailUrl, options: CreativeOptions
) -> dict[str, Any]:
    """Every field of the creative (research §2.1/§2.3 shapes; SDK adcreative*.py)."""
    call = {"type": c.call_to_action, "value": {"link": c.link}}
    full: dict[str, Any] = {
        "id": c.external_id,
        "name": c.name,
        "title": c.title,
        "body": c.body,
        # Link, video and carousel creatives built with object_story_spec read back as SHARE
        # (research §2.3: observed, not documented by Meta).
        "object_type": options.video_object_type if c.format == "video" else "SHARE",
        "call_to_action_type": c.call_to_action,
        "thumbnail_url": thumbnail,
        "effective_object_story_id": f"{c.page_id}_{c.post_id}",
    }
    spec: dict[str, Any] = {"page_id": c.page_id}
    if c.format == "video":
        # Meta's video ads guide: object_story_spec={"page_id", "video_data": {"image_url",
        # "video_id", ...}}; image_url is the video's thumbnail (AdCreativeVideoData, VDATA).
        full["video_id"] = c.video_id
        spec["video_data"] = {
            "video_id": c.video_id,
            "image_url": thumbnail_url(c, options.image_url_size, options.image_url_size),
            "title": c.title,
            "message": c.body,
            "call_to_action": call,
        }
    elif c.format == "carousel":
        # A carousel is link_data with child_attachments, one per card (AdCreativeLinkData,
        # AdCreativeLinkDataChildAttachment; research §2.3).
        spec["link_data"] = {
            "link": c.link,
            "message": c.body,
            "name": c.title,
            "call_to_action": call,
            "multi_share_optimized": True,
            "child_attachments": [
                {
                    "link": c.link,
                    "name": card,
                    "image_hash": c.card_image_hash(i),
                    "call_to_action": {"type": c.call_to_action},
                }
                for i, card in enumerate(c.cards)
            ],
        }
    else:
        # A single-image link ad: link_data with image_hash (AdCreativeLinkData); the hash
        # and image_url also appear on the creative itself (AdCreative fields).
        full["image_hash"] = c.image_hash
        full["image_url"] = thumbnail_url(c, options.image_url_size, options.image_url_size)
        spec["link_data"] = {
            "link": c.link,
            "message": c.body,
            "name": c.title,
            "image_hash": c.image_hash,
            "call_to_action": call,
        }
    full["object_story_spec"] = spec
    return full


def _select(value: Any, request: FieldRequest) -> Any:
    """Sub-fields of a struct (or of each element of a list of structs), if asked."""
    if request.subfields is None:
        return value
    node = STRUCT_OF.get(request.name, "String")
    known = set(STRUCT_FIELDS.get(node, "").split())
    for sub in request.subfields:
        if sub.name not in known:
            raise MetaError(
                100, f"(#100) Tried accessing nonexisting field ({sub.name}) on node type ({node})"
            )
    if isinstance(value, list):
        return [_select(item, request) for item in value]
    if not isinstance(value, dict):
        return value
    return {s.name: _select(value[s.name], s) for s in request.subfields if s.name in value}


def filters(params: dict[str, str]) -> list[dict[str, Any]]:
    """The `filtering` parameter: a JSON array of {field, operator, value}."""
    raw = params.get("filtering")
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        raise MetaError(100, "(#100) param filtering must be a JSON array")
    return parsed


def id_filter(params: dict[str, str]) -> frozenset[str] | None:
    """Insights filtering on campaign.id / adset.id / ad.id (IN or EQUAL), None if absent."""
    ids: set[str] | None = None
    for f in filters(params):
        if f.get("field") in ("campaign.id", "adset.id", "ad.id") and f.get("operator") in (
            "IN",
            "EQUAL",
        ):
            value = f.get("value")
            values = {str(v) for v in (value if isinstance(value, list) else [value])}
            ids = values if ids is None else ids & values
    return frozenset(ids) if ids is not None else None


def matches(node: dict[str, Any], conditions: list[dict[str, Any]]) -> bool:
    """Graph API filtering on entity edges: effective_status IN, updated_time GREATER_THAN."""
    for f in conditions:
        name = str(f.get("field", "")).split(".")[-1]
        op = f.get("operator")
        value: Any = f.get("value")
        if name == "effective_status" and op == "IN" and node["effective_status"] not in value:
            return False
        if name == "id" and op == "IN" and node["id"] not in {str(v) for v in value}:
            return False
        if name == "updated_time" and op in ("GREATER_THAN", "LESS_THAN"):
            moment = datetime.strptime(node["updated_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
            if (op == "GREATER_THAN") != (moment > float(value)):
                return False
    return True
