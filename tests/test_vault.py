import base64
import logging
import os
import stat

import pytest
from sqlalchemy import text

from metricx.config import ConfigError, load
from metricx.db import get_engine
from metricx.services import connections
from metricx.vault import (
    Sealed,
    UnreadableTokenError,
    Vault,
    VaultError,
    generate_key,
    parse_keys,
)

KEY_A = base64.b64decode(generate_key())
KEY_B = base64.b64decode(generate_key())


def vault_with(*pairs: tuple[str, bytes]) -> Vault:
    return Vault(pairs[0][0], dict(pairs))


def test_a_token_round_trips_for_its_own_connection():
    vault = vault_with(("a", KEY_A))
    sealed = vault.seal("EAAB-secret", connection_id=7)
    assert sealed.key_id == "a" and len(sealed.nonce) == 12
    assert b"EAAB-secret" not in sealed.ciphertext
    assert vault.open(sealed, connection_id=7) == "EAAB-secret"


def test_two_seals_of_one_token_differ_because_the_nonce_is_random():
    vault = vault_with(("a", KEY_A))
    first, second = (vault.seal("same", connection_id=1) for _ in range(2))
    assert first.nonce != second.nonce and first.ciphertext != second.ciphertext


def test_a_tampered_ciphertext_is_refused_with_a_clear_error():
    vault = vault_with(("a", KEY_A))
    sealed = vault.seal("secret", connection_id=7)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(UnreadableTokenError, match="integrity check"):
        vault.open(Sealed(flipped, sealed.nonce, sealed.key_id), connection_id=7)


@pytest.mark.parametrize("nonce", [b"", b"short", bytes(24)], ids=["empty", "5 bytes", "24 bytes"])
def test_a_nonce_of_the_wrong_length_is_refused_with_the_vaults_own_error(nonce):
    # Given a stored token whose nonce was cut or padded (AESGCM raises a bare ValueError)
    vault = vault_with(("a", KEY_A))
    sealed = vault.seal("secret", connection_id=7)
    # Then opening it says the token is damaged, as every other unreadable token does
    with pytest.raises(UnreadableTokenError, match=f"nonce has {len(nonce)} bytes, not 12"):
        vault.open(Sealed(sealed.ciphertext, nonce, sealed.key_id), connection_id=7)


def test_a_token_copied_to_another_connection_does_not_decrypt():
    vault = vault_with(("a", KEY_A))
    sealed = vault.seal("secret", connection_id=7)
    with pytest.raises(VaultError, match="bound to another connection"):
        vault.open(sealed, connection_id=8)


def test_an_access_token_cannot_be_read_as_a_refresh_token():
    vault = vault_with(("a", KEY_A))
    sealed = vault.seal("secret", connection_id=7, kind="access")
    with pytest.raises(VaultError):
        vault.open(sealed, connection_id=7, kind="refresh")


def test_an_unknown_key_id_names_the_missing_key():
    sealed = vault_with(("old", KEY_A)).seal("secret", connection_id=7)
    with pytest.raises(VaultError, match="'old'"):
        vault_with(("new", KEY_B)).open(sealed, connection_id=7)


def test_after_rotation_old_keys_still_decrypt_and_new_seals_use_the_new_key():
    old = vault_with(("old", KEY_A)).seal("secret", connection_id=7)
    rotated = vault_with(("new", KEY_B), ("old", KEY_A))
    assert rotated.open(old, connection_id=7) == "secret"
    assert rotated.needs_rotation(old)
    assert rotated.seal("x", connection_id=7).key_id == "new"


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("k1:not-base64!!", "not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        ("", "empty"),
    ],
)
def test_a_bad_key_setting_says_what_is_wrong(spec, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_keys(spec)


def test_without_a_key_setting_an_install_keeps_a_private_key_of_its_own(tmp_path):
    config = load({"METRICX_DATA_DIR": str(tmp_path)})
    sealed = Vault.from_config(config).seal("secret", connection_id=7)
    assert Vault.from_config(config).open(sealed, connection_id=7) == "secret"
    assert stat.S_IMODE((tmp_path / "vault.key").stat().st_mode) == 0o600


def test_an_empty_local_key_file_is_refused_with_a_clear_error(tmp_path):
    (tmp_path / "vault.key").write_text("")
    with pytest.raises(ConfigError, match=r"vault\.key is empty"):
        Vault.from_config(load({"METRICX_DATA_DIR": str(tmp_path)}))


def test_a_bare_key_gets_a_default_id():
    primary, keys = parse_keys(generate_key())
    assert primary == "k1" and len(keys["k1"]) == 32


def test_rotate_keys_re_encrypts_every_token_under_the_new_primary(admin, setenv):
    # Given a token stored under the session's test key
    added = connections.add_connection(admin, "meta", "act_123", "EAAB-plain-token")
    # When a new key is put first and `rotate-keys` runs
    new_key = generate_key()
    setenv(TOKEN_ENCRYPTION_KEY=f"fresh:{new_key},{os.environ['TOKEN_ENCRYPTION_KEY']}")
    assert connections.rotate_keys() == 1
    # Then the row is under the new key, still readable, and a second run has nothing to do
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT key_id FROM tokens")).scalar_one() == "fresh"
    setenv(TOKEN_ENCRYPTION_KEY=f"fresh:{new_key}")
    assert connections.read_token(admin.workspace_id, added.id) == "EAAB-plain-token"
    assert connections.rotate_keys() == 0


def test_the_plaintext_token_is_nowhere_in_the_database_or_the_logs(admin, caplog):
    # Given SQL logging at its most verbose
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        connections.add_connection(admin, "google", "123-456-7890", "ya29.PLAINTEXT-MARKER")
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # Then no column of any table, and no log line, holds the token
    with get_engine().connect() as conn:
        dump = conn.execute(
            text("SELECT string_agg(t::text, '|') FROM (SELECT * FROM tokens) t")
        ).scalar_one()
        dump += conn.execute(
            text("SELECT string_agg(c::text, '|') FROM (SELECT * FROM connections) c")
        ).scalar_one()
        dump += conn.execute(
            text("SELECT string_agg(a::text, '|') FROM (SELECT * FROM audit_log) a")
        ).scalar_one()
    assert "PLAINTEXT-MARKER" not in dump
    assert b"PLAINTEXT-MARKER".hex() not in dump
    assert "PLAINTEXT-MARKER" not in caplog.text
