"""AES-256-GCM encryption of platform tokens.

Each ciphertext is bound (as GCM associated data) to the connection and the token kind, so
a row copied onto another connection fails to decrypt instead of leaking a credential. The
key id is stored beside the ciphertext, which is what makes key rotation possible: old keys
stay readable until `metricx rotate-keys` has re-encrypted everything under the new one.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from metricx.config import Config, ConfigError, get_config, local_secret, parse_keys

NONCE_BYTES = 12  # 96-bit nonce, the GCM standard
LOCAL_KEY_ID = "local"


class VaultError(Exception):
    """A token could not be decrypted; the message says why, never what the token was."""


class UnreadableTokenError(VaultError):
    """The stored token itself is broken (altered, truncated, or sealed for another connection
    or kind): no key can open it, only a new token replaces it."""


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    key_id: str


def generate_key() -> str:
    """A new random 256-bit key, base64, for TOKEN_ENCRYPTION_KEY."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _local_key(data_dir: Path) -> bytes:
    """Development only: a random key kept in the data directory, created on first use."""
    return base64.b64decode(local_secret(data_dir / "vault.key", generate_key))


def _associated_data(connection_id: int, kind: str) -> bytes:
    return f"metricx/token/connection={connection_id}/kind={kind}".encode()


class Vault:
    def __init__(self, primary: str, keys: dict[str, bytes]) -> None:
        if primary not in keys:
            raise ConfigError(f"primary key id {primary!r} has no key")
        self.primary = primary
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    @classmethod
    def from_config(cls, config: Config) -> Vault:
        if config.token_encryption_key:
            return cls(*parse_keys(config.token_encryption_key))
        return cls(LOCAL_KEY_ID, {LOCAL_KEY_ID: _local_key(config.data_dir)})

    def seal(self, plaintext: str, *, connection_id: int, kind: str = "access") -> Sealed:
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = self._ciphers[self.primary].encrypt(
            nonce, plaintext.encode(), _associated_data(connection_id, kind)
        )
        return Sealed(ciphertext=ciphertext, nonce=nonce, key_id=self.primary)

    def open(self, sealed: Sealed, *, connection_id: int, kind: str = "access") -> str:
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise VaultError(
                f"token of connection {connection_id} was encrypted with key "
                f"{sealed.key_id!r}, which TOKEN_ENCRYPTION_KEY does not hold"
            )
        if len(sealed.nonce) != NONCE_BYTES:  # AESGCM would raise a bare ValueError
            raise UnreadableTokenError(
                f"token of connection {connection_id} is damaged (its "
                f"nonce has {len(sealed.nonce)} bytes, not {NONCE_BYTES})"
            )
        try:
            plain = cipher.decrypt(
                sealed.nonce, sealed.ciphertext, _associated_data(connection_id, kind)
            )
        except InvalidTag:
            raise UnreadableTokenError(
                f"token of connection {connection_id} failed its "
                "integrity check (altered, or bound to another "
                "connection)"
            ) from None
        return plain.decode()

    def needs_rotation(self, sealed: Sealed) -> bool:
        return sealed.key_id != self.primary


def get_vault() -> Vault:
    return Vault.from_config(get_config())
