import os
import stat

import pytest

from metricx.config import ConfigError, load, write_private_file

SAFE_KEY = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
COOKIE_KEY = "k" * 32
#: What a production deployment sets, each at the weakest value it accepts.
PRODUCTION = {
    "METRICX_ENV": "production",
    "TOKEN_ENCRYPTION_KEY": SAFE_KEY,
    "COOKIE_KEY": COOKIE_KEY,
    "BCRYPT_ROUNDS": "12",
    "LOGIN_MAX_FAILURES": "3",
    "LOGIN_LOCK_MINUTES": "1",
}


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_defaults_run_a_laptop_without_any_setting():
    config = load({})
    assert config.env == "development"
    assert config.database_url is None and config.redis_url is None
    assert config.data_dir.name == ".metricx"
    assert config.app_port == 8501
    # the app answers this machine only, until told otherwise
    assert config.app_host == "127.0.0.1"
    # a worker killed mid-sync holds its connection for minutes, not an hour
    assert config.sync_lease_seconds == 180


def test_production_refuses_to_start_without_an_encryption_key():
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY"):
        load({**PRODUCTION, "TOKEN_ENCRYPTION_KEY": ""})


def test_production_starts_with_every_setting_at_its_weakest_accepted_value():
    config = load(PRODUCTION)
    assert config.is_production and config.login_cookie_key() == COOKIE_KEY


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("COOKIE_KEY", "", "COOKIE_KEY set to a secret of at least 32 characters"),
        ("COOKIE_KEY", "x", "COOKIE_KEY set to a secret of at least 32 characters"),
        ("COOKIE_KEY", "k" * 31, "COOKIE_KEY set to a secret of at least 32 characters"),
        ("BCRYPT_ROUNDS", "4", "BCRYPT_ROUNDS of at least 12, got 4"),
        ("LOGIN_MAX_FAILURES", "2", "LOGIN_MAX_FAILURES of at least 3, got 2"),
        ("LOGIN_MAX_FAILURES", "0", "LOGIN_MAX_FAILURES must be at least 1, got 0"),
        ("LOGIN_LOCK_MINUTES", "0", "LOGIN_LOCK_MINUTES of at least 1, got 0"),
        ("TOKEN_ENCRYPTION_KEY", "k1:not-base64!!", "TOKEN_ENCRYPTION_KEY: key 'k1' is not base64"),
        ("TOKEN_ENCRYPTION_KEY", "k1:c2hvcnQ=", "TOKEN_ENCRYPTION_KEY: key 'k1' must be 32 bytes"),
    ],
)
def test_production_refuses_a_weak_setting_at_start_and_names_it(setting, value, message):
    with pytest.raises(ConfigError, match=message):
        load({**PRODUCTION, setting: value})


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("BCRYPT_ROUNDS", "3", "BCRYPT_ROUNDS must be from 4 to 31, got 3"),
        ("BCRYPT_ROUNDS", "32", "BCRYPT_ROUNDS must be from 4 to 31, got 32"),
        ("LOGIN_MAX_FAILURES", "0", "LOGIN_MAX_FAILURES must be at least 1, got 0"),
        ("TOKEN_ENCRYPTION_KEY", "nonsense!", "TOKEN_ENCRYPTION_KEY: key 'k1' is not base64"),
    ],
)
def test_every_environment_refuses_a_setting_that_cannot_work(setting, value, message):
    # (bcrypt takes no other cost; with no failure allowed, nobody could ever log in)
    with pytest.raises(ConfigError, match=message):
        load({setting: value})


def test_each_install_gets_its_own_cookie_key_kept_private_in_its_data_directory(tmp_path):
    # Given two installs without COOKIE_KEY
    first = load({"METRICX_DATA_DIR": str(tmp_path / "one")})
    second = load({"METRICX_DATA_DIR": str(tmp_path / "two")})
    # Then each has a long random key of its own, kept for the next start, readable by its
    # user only
    key = first.login_cookie_key()
    assert len(key) >= 32 and key != second.login_cookie_key()
    assert load({"METRICX_DATA_DIR": str(tmp_path / "one")}).login_cookie_key() == key
    assert mode_of(tmp_path / "one" / "cookie.key") == 0o600
    # And an explicit COOKIE_KEY wins
    explicit = load({"METRICX_DATA_DIR": str(tmp_path / "one"), "COOKIE_KEY": "mine"})
    assert explicit.login_cookie_key() == "mine"


def test_a_secret_file_is_private_from_its_first_byte_whatever_the_umask(tmp_path, monkeypatch):
    # Given a umask that lets everyone read new files, and a watch on every file that appears
    # at its final name
    published: list[int] = []
    for name in ("replace", "link"):
        move = getattr(os, name)

        def watched(source, target, _move=move):
            published.append(mode_of(source))
            return _move(source, target)

        monkeypatch.setattr(os, name, watched)
    old_umask = os.umask(0)
    try:
        write_private_file(tmp_path / "secret.txt", "first")
        write_private_file(tmp_path / "secret.txt", "second")
    finally:
        os.umask(old_umask)
    # Then each version arrived whole and already 0600, and no temporary file is left
    assert published == [0o600, 0o600]
    assert (tmp_path / "secret.txt").read_text() == "second"
    assert os.listdir(tmp_path) == ["secret.txt"]


def test_a_secret_file_that_must_not_change_keeps_the_first_writers_text(tmp_path):
    # (two processes creating the vault key at once must end up with one key)
    assert write_private_file(tmp_path / "vault.key", "first", replace=False)
    assert not write_private_file(tmp_path / "vault.key", "second", replace=False)
    assert (tmp_path / "vault.key").read_text() == "first"
    assert os.listdir(tmp_path) == ["vault.key"]


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
