import pytest

from metricx.config import DEV_COOKIE_KEY, ConfigError, load

SAFE_KEY = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def test_defaults_run_a_laptop_without_any_setting():
    config = load({})
    assert config.env == "development"
    assert config.database_url is None and config.redis_url is None
    assert config.data_dir.name == ".metricx"
    assert config.app_port == 8501
    # a worker killed mid-sync holds its connection for minutes, not an hour
    assert config.sync_lease_seconds == 180


def test_production_refuses_to_start_without_an_encryption_key():
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY"):
        load({"METRICX_ENV": "production", "COOKIE_KEY": "s3cret"})


def test_production_refuses_the_default_cookie_key():
    with pytest.raises(ConfigError, match="COOKIE_KEY"):
        load({"METRICX_ENV": "production", "TOKEN_ENCRYPTION_KEY": SAFE_KEY,
              "COOKIE_KEY": DEV_COOKIE_KEY})


def test_production_starts_with_both_secrets_set():
    config = load({"METRICX_ENV": "production", "TOKEN_ENCRYPTION_KEY": SAFE_KEY,
                   "COOKIE_KEY": "s3cret"})
    assert config.is_production


def test_a_number_setting_that_is_not_a_number_names_the_setting():
    with pytest.raises(ConfigError, match="APP_PORT must be a whole number"):
        load({"APP_PORT": "eighty"})


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="METRICX_ENV"):
        load({"METRICX_ENV": "staging"})


def test_the_readme_documents_every_setting():
    from metricx.config import PROJECT_ROOT, SETTINGS

    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in readme]
    assert missing == []
