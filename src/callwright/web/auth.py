"""Passwords, session cookies and CSRF tokens of the review app (the SQL is store.users').

Passwords are hashed with Argon2id (argon2-cffi's defaults, the RFC 9106 low-memory profile). A
session cookie is a random token plus an HMAC-SHA256 of it under the database's key
(`store.users.web_secret`); the server keeps the token's hash with the session's expiry and its
CSRF token, so a cookie is worth nothing once the session row is gone (logout, expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
"""Longer passwords are refused (hashing a megabyte on every login attempt is a cheap attack)."""
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
"""Account names: 1-64 letters, digits and . _ @ - (they appear in the audit log and on pages)."""

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("callwright-no-such-user")


def check_password_rules(password: str) -> str | None:
    """Why `password` is not acceptable (None: it is)."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password must have at most {MAX_PASSWORD_CHARS} characters"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; a missing account (None) costs the same time and is False."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _mac(secret: str, token: str) -> str:
    digest = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, token: str) -> str:
    """The cookie value for `token`."""
    return f"{token}.{_mac(secret, token)}"


def unsign(secret: str, value: str | None) -> str | None:
    """The token of a cookie value whose signature is right (None otherwise)."""
    if not value or len(value) > 200 or "." not in value:
        return None
    token, _, mac = value.rpartition(".")
    return token if hmac.compare_digest(mac, _mac(secret, token)) else None


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens; an empty or missing one never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
