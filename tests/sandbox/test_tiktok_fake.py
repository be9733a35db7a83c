"""The fake TikTok API for Business over raw HTTP: envelopes, refusals, paging, reports,
async tasks, OAuth and faults, as a client that has only the vendor docs would see them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from metricx.sandbox.servers import SandboxServers

TODAY = date(2025, 11, 25)
NOW = datetime(2025, 11, 25, 17, 42, 13, tzinfo=UTC)  # mid-afternoon in New York
METRICS = ["spend", "impressions", "clicks", "complete_payment", "total_complete_payment_rate"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(
        now=NOW, today=TODAY, seed=5, tiktok_accounts=1, ads=30, days=40, orders_per_day=20
    ) as servers:
        yield servers


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxServers) -> Iterator[None]:
    sandbox.reset()
    sandbox.now = NOW
    yield
    sandbox.reset()


@pytest.fixture
def advertiser(sandbox: SandboxServers) -> str:
    return sandbox.merchant.accounts_of("tiktok")[0].external_id


@pytest.fixture
def api(sandbox: SandboxServers) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{sandbox.env['TIKTOK_API_URL']}/open_api/v1.3",
        headers={"Access-Token": sandbox.credentials.tiktok_access_token},
    ) as client:
        yield client


def report(api: httpx.Client, advertiser: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "advertiser_id": advertiser,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": json.dumps(["ad_id", "stat_time_day"]),
        "metrics": json.dumps(METRICS),
        "start_date": (TODAY - timedelta(days=6)).isoformat(),
        "end_date": TODAY.isoformat(),
        "page_size": 1000,
        **overrides,
    }
    response = api.get("/report/integrated/get/", params=params)
    assert response.status_code == 200  # errors too: the code says what happened
    return response.json()


def all_rows(api: httpx.Client, advertiser: str, **overrides: Any) -> list[dict[str, Any]]:
    rows, page = [], 1
    while True:
        body = report(api, advertiser, page=page, **overrides)
        assert body["code"] == 0, body
        rows.extend(body["data"]["list"])
        if page >= body["data"]["page_info"]["total_page"]:
            return rows
        page += 1


def test_answers_are_envelopes_with_string_metrics(api, advertiser) -> None:
    body = report(api, advertiser)
    assert (body["code"], body["message"]) == (0, "OK")
    assert body["request_id"]
    row = body["data"]["list"][0]
    assert set(row) == {"dimensions", "metrics"}
    assert set(row["dimensions"]) == {"ad_id", "stat_time_day"}
    assert row["dimensions"]["stat_time_day"].endswith(" 00:00:00")
    assert set(row["metrics"]) == set(METRICS)
    assert all(isinstance(v, str) for v in row["metrics"].values())


def test_advertiser_info_names_currency_and_zones(api, advertiser, sandbox) -> None:
    account = sandbox.merchant.accounts_of("tiktok")[0]
    body = api.get(
        "/advertiser/info/",
        params={
            "advertiser_ids": json.dumps([advertiser]),
            "fields": json.dumps(["name", "currency", "display_timezone"]),
        },
    ).json()
    assert body["data"]["list"] == [
        {"name": account.name, "currency": account.currency, "display_timezone": account.timezone}
    ]


@pytest.mark.parametrize(
    ("token", "code"), [(None, 40104), ("act.garbage", 40105)], ids=["missing", "unknown"]
)
def test_tokens_are_checked(sandbox, advertiser, token, code) -> None:
    headers = {"Access-Token": token} if token else {}
    response = httpx.get(
        f"{sandbox.env['TIKTOK_API_URL']}/open_api/v1.3/advertiser/info/",
        params={"advertiser_ids": json.dumps([advertiser])},
        headers=headers,
    )
    assert (response.status_code, response.json()["code"]) == (200, code)


def test_an_advertiser_not_authorized_is_refused(api) -> None:
    assert report(api, "7000000000000000001")["code"] == 40001


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"metrics": json.dumps(["spend", "purchases_magic"])}, "purchases_magic"),
        ({"data_level": "AUCTION_CAMPAIGN"}, "do not match data_level"),
        ({"start_date": (TODAY - timedelta(days=30)).isoformat()}, "at most 30 days"),
        (
            {
                "dimensions": json.dumps(["ad_id", "stat_time_hour"]),
                "start_date": (TODAY - timedelta(days=1)).isoformat(),
            },
            "at most 1 days",
        ),
        (
            {
                "dimensions": json.dumps(["ad_id", "stat_time_hour"]),
                "metrics": json.dumps(["spend", "reach"]),
                "start_date": TODAY.isoformat(),
            },
            "not supported with stat_time_hour",
        ),
        ({"page_size": 1001}, "page_size"),
        ({"start_date": "2025-11-31"}, "YYYY-MM-DD"),
    ],
    ids=["metric", "level", "day-span", "hour-span", "hourly-reach", "page-size", "date"],
)
def test_invalid_parameters_are_code_40002(api, advertiser, overrides, says) -> None:
    body = report(api, advertiser, **overrides)
    assert body["code"] == 40002
    assert says in body["message"]


def test_pages_add_up_to_the_whole_report(api, advertiser) -> None:
    whole = report(api, advertiser)["data"]
    pages = all_rows(api, advertiser, page_size=9)
    assert pages == whole["list"]
    info = report(api, advertiser, page_size=9, page=2)["data"]["page_info"]
    assert info == {
        "page": 2,
        "page_size": 9,
        "total_number": len(whole["list"]),
        "total_page": -(-len(whole["list"]) // 9),
    }


def test_hourly_rows_sum_exactly_to_the_daily_row(api, advertiser) -> None:
    day = (TODAY - timedelta(days=1)).isoformat()
    daily = all_rows(api, advertiser, start_date=day, end_date=day)
    hourly = all_rows(
        api,
        advertiser,
        start_date=day,
        end_date=day,
        dimensions=json.dumps(["ad_id", "stat_time_hour"]),
    )
    sums: dict[str, dict[str, Decimal]] = {}
    for row in hourly:
        ad = sums.setdefault(row["dimensions"]["ad_id"], {m: Decimal(0) for m in METRICS})
        for m in METRICS:
            ad[m] += Decimal(row["metrics"][m])
    assert {
        r["dimensions"]["ad_id"]: {m: Decimal(r["metrics"][m]) for m in METRICS} for r in daily
    } == sums
    # purchases are reported by the hour too
    assert any(Decimal(r["metrics"]["complete_payment"]) for r in hourly)


def test_numbers_are_the_merchants_as_of_the_clock(api, advertiser, sandbox) -> None:
    merchant = sandbox.merchant
    day = TODAY - timedelta(days=3)
    rows = all_rows(api, advertiser, start_date=day.isoformat(), end_date=day.isoformat())
    for row in rows:
        t = merchant.ad_totals(row["dimensions"]["ad_id"], day, NOW)
        assert row["metrics"]["spend"] == str(t.spend)
        assert row["metrics"]["total_complete_payment_rate"] == str(t.conversion_value)


def test_async_task_lifecycle_ends_in_the_same_rows_as_csv(api, advertiser) -> None:
    since = TODAY - timedelta(days=35)  # longer than a synchronous report may span
    created = api.post(
        "/report/task/create/",
        json={
            "advertiser_id": advertiser,
            "report_type": "BASIC",
            "data_level": "AUCTION_AD",
            "dimensions": ["ad_id", "stat_time_day"],
            "metrics": METRICS,
            "start_date": since.isoformat(),
            "end_date": TODAY.isoformat(),
            "enable_report_title_translation": False,
        },
    ).json()
    task = {"advertiser_id": advertiser, "task_id": created["data"]["task_id"]}
    # not downloadable before it succeeded
    assert api.get("/report/task/download/", params=task).json()["code"] == 40002
    states = [api.get("/report/task/check/", params=task).json()["data"]["status"] for _ in "ab"]
    assert states == ["PROCESSING", "SUCCESS"]
    download = api.get("/report/task/download/", params=task)
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(download.text)))
    first = all_rows(
        api,
        advertiser,
        start_date=since.isoformat(),
        end_date=(since + timedelta(days=29)).isoformat(),
    )
    rest = all_rows(api, advertiser, start_date=(since + timedelta(days=30)).isoformat())
    assert [{**r["dimensions"], **r["metrics"]} for r in first + rest] == lines


def test_a_csv_download_task_hands_out_a_presigned_url(api, advertiser) -> None:
    created = api.post(
        "/report/task/create/",
        json={
            "advertiser_id": advertiser,
            "report_type": "BASIC",
            "data_level": "AUCTION_ADVERTISER",
            "dimensions": ["advertiser_id", "stat_time_day"],
            "metrics": ["spend"],
            "start_date": (TODAY - timedelta(days=2)).isoformat(),
            "end_date": TODAY.isoformat(),
            "output_format": "CSV_DOWNLOAD",
            "enable_report_title_translation": False,
        },
    ).json()
    task = {"advertiser_id": advertiser, "task_id": created["data"]["task_id"]}
    for _ in range(2):
        api.get("/report/task/check/", params=task)
    url = api.get("/report/task/download/", params=task).json()["data"]["download_url"]
    file = httpx.get(url)  # no Access-Token: the signed URL is the key
    assert file.text.splitlines()[0] == "advertiser_id,stat_time_day,spend"
    assert len(file.text.splitlines()) == 4


def create_task(api, advertiser: str) -> dict[str, str]:
    """Today's spend per ad as an async task; what check/download/cancel take."""
    created = api.post(
        "/report/task/create/",
        json={
            "advertiser_id": advertiser,
            "report_type": "BASIC",
            "data_level": "AUCTION_AD",
            "dimensions": ["ad_id"],
            "metrics": ["spend"],
            "start_date": TODAY.isoformat(),
            "end_date": TODAY.isoformat(),
            "enable_report_title_translation": False,
        },
    ).json()
    return {"advertiser_id": advertiser, "task_id": created["data"]["task_id"]}


def test_a_task_can_fail(api, advertiser, sandbox) -> None:
    sandbox.faults.add("tiktok", "task_failed")
    task = create_task(api, advertiser)
    assert api.get("/report/task/check/", params=task).json()["data"]["status"] == "FAILED"


def test_campaigns_page_with_page_info(api, advertiser, sandbox) -> None:
    campaigns = sandbox.merchant.campaigns_of(advertiser)
    body = api.get(
        "/campaign/get/",
        params={
            "advertiser_id": advertiser,
            "fields": json.dumps(["campaign_id", "operation_status", "budget_mode"]),
            "page_size": 2,
        },
    ).json()["data"]
    assert body["page_info"]["total_number"] == len(campaigns)
    assert all(set(c) == {"campaign_id", "operation_status", "budget_mode"} for c in body["list"])
    assert {c["operation_status"] for c in body["list"]} <= {"ENABLE", "DISABLE"}


def test_faults_answer_with_tiktok_codes(api, advertiser, sandbox) -> None:
    sandbox.faults.add("tiktok", "throttle")
    sandbox.faults.add("tiktok", "server_error", status=502)
    assert report(api, advertiser)["code"] == 40100
    response = api.get("/report/integrated/get/", params={"advertiser_id": advertiser})
    assert (response.status_code, response.json()["code"]) == (502, 50000)


def test_portal_redirects_with_a_code_that_buys_one_token(sandbox) -> None:
    c = sandbox.credentials
    back = httpx.get(
        sandbox.env["TIKTOK_AUTH_URL"],
        params={"app_id": c.tiktok_app_id, "state": "s1", "redirect_uri": "https://a.example/cb"},
    )
    assert back.status_code == 302 and back.headers["location"].startswith("https://a.example/cb?")
    code = parse_qs(urlsplit(back.headers["location"]).query)["auth_code"][0]
    url = f"{sandbox.env['TIKTOK_API_URL']}/open_api/v1.3/oauth2/access_token/"
    body = {"app_id": c.tiktok_app_id, "secret": c.tiktok_app_secret, "auth_code": code}
    first, again = httpx.post(url, json=body).json(), httpx.post(url, json=body).json()
    assert first["code"] == 0 and "expires_in" not in first["data"]
    assert first["data"]["advertiser_ids"] == [
        a.external_id for a in sandbox.merchant.accounts_of("tiktok")
    ]
    assert again["code"] == 40002
    wrong = httpx.post(url, json={**body, "secret": "nope"}).json()
    assert wrong["code"] == 40001


def test_only_v1_3_is_served(sandbox) -> None:
    response = httpx.get(
        f"{sandbox.env['TIKTOK_API_URL']}/open_api/v1.2/advertiser/info/",
        headers={"Access-Token": sandbox.credentials.tiktok_access_token},
    )
    assert response.status_code == 404


def test_days_outside_the_history_have_no_rows(api, advertiser) -> None:
    start = (TODAY + timedelta(days=1)).isoformat()
    body = report(api, advertiser, start_date=start, end_date=start)
    assert body["data"]["list"] == [] and body["data"]["page_info"]["total_page"] == 0
    assert date.fromisoformat(start) > TODAY


def test_a_cancelled_task_stays_cancelled(api, advertiser) -> None:
    task = create_task(api, advertiser)
    assert api.post("/report/task/cancel/", json=task).json()["data"]["status"] == "CANCELED"
    assert api.get("/report/task/check/", params=task).json()["data"]["status"] == "CANCELED"
    assert api.get("/report/task/download/", params=task).json()["code"] == 40002
