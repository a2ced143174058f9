"""Password hashing with argon2id (RFC 9106 parameters of argon2-cffi: 64 MiB, 3 passes, 4 lanes)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import InvalidParameter

_HASHER = PasswordHasher()
MIN_LENGTH = 8
"""Shortest password accepted (characters)."""
MAX_LENGTH = 256
"""Longest password accepted (characters): longer ones only cost hashing time."""
# Verified against when the user does not exist, so that an unknown name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def check_policy(password: str) -> None:
    """Refuse passwords that are too short, too long or blank."""
    if len(password) < MIN_LENGTH:
        raise InvalidParameter(f"the password must have at least {MIN_LENGTH} characters",
                               zh=f"密码至少 {MIN_LENGTH} 个字符", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidParameter(f"the password must have at most {MAX_LENGTH} characters",
                               zh=f"密码最多 {MAX_LENGTH} 个字符", field="password")
    if not password.strip():
        raise InvalidParameter("the password must not be blank",
                               zh="密码不能为空", field="password")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of an acceptable password."""
    check_policy(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; None (no such user) takes the same time and fails."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
