"""Request and response bodies of the account, audit and exemption routes, and their documented errors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.users import UserRecord

Role = Literal["viewer", "town_editor", "reviewer", "admin"]


class Messages(BaseModel):
    """An error's sentence by language."""

    en: str = Field(description="English (always given).")
    zh: str | None = Field(None, description="Chinese (given for every error of the service's own).")


class ErrorBody(BaseModel):
    """The one JSON error body of the API."""

    code: str = Field(description="Machine code, e.g. Unauthorized, Forbidden, PreconditionFailed.")
    detail: str = Field(description="What is wrong, in words, in the language of Accept-Language (zh… Chinese, "
                                     "en… English; English by default), said by Content-Language.")
    field: str | None = Field(description="The input at fault, if one is.")
    messages: Messages = Field(description="The sentence in each language it exists in.")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, all with the JSON error body."""
    text = {400: "Invalid parameter or body", 401: "No token, or an invalid or expired one",
            403: "The account's role or town does not allow it", 404: "No such resource",
            409: "Conflicts with existing data", 412: "If-Match names a version that is no longer current",
            422: "Well-formed but cannot be applied",
            428: "If-Match is required", 429: "Too many failed logins; see Retry-After"}
    return {s: {"model": ErrorBody, "description": text.get(s, "Error")} for s in statuses}


class TokenOut(BaseModel):
    """An access token (RFC 6749 §5.1)."""

    access_token: str = Field(description="Send it as Authorization: Bearer <token>.")
    token_type: Literal["bearer"] = Field(description="Always bearer.")
    expires_in: int = Field(description="Lifetime of the token, s.")


class UserPublic(BaseModel):
    """An account as the service shows it (never its password)."""

    username: str = Field(description="Login name (lower case).")
    role: Role = Field(description="viewer, town_editor, reviewer or admin.")
    town_code: str | None = Field(description="区划代码 of the town a town editor edits; null for other roles.")
    disabled: bool = Field(description="A disabled account can neither log in nor write.")
    version: int = Field(description="Row version; the ETag is \"v<version>\".")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, user: UserRecord) -> UserPublic:
        """The public view of a record."""
        return cls.model_validate(user.public())


class UserCreate(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$",
                          description="Login name: letters, digits, _ . @ - (stored in lower case).")
    password: str = Field(min_length=8, max_length=256, description="At least 8 characters.")
    role: Role = Field(description="viewer, town_editor, reviewer or admin.")
    town_code: str | None = Field(None, min_length=1, max_length=12,
                                  description="区划代码 of the town; required for, and only for, a town editor.")


class UserUpdate(BaseModel):
    """A change of an account: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = Field(None, description="New role; a role other than town_editor drops the town.")
    town_code: str | None = Field(None, min_length=1, max_length=12, description="New town (town editors).")
    disabled: bool | None = Field(None, description="Disable or enable the account.")
    password: str | None = Field(None, min_length=8, max_length=256, description="New password.")


class AuditEntryOut(BaseModel):
    """One audit row."""

    id: int = Field(description="Row id (increasing).")
    at: dt.datetime = Field(description="When: start of the writing transaction.")
    actor: str = Field(description="Who: user name, or cli:<os user>.")
    action: str = Field(description="create, update, delete, import...")
    entity: str = Field(description="What: user, block, far_exemption, joint_development, or the layer imported.")
    entity_key: str | None = Field(description="Its code, id, name or the file imported.")
    before: Any = Field(description="Values before (null: created).")
    after: Any = Field(description="Values after (null: deleted).")
    txid: int = Field(description="Transaction id: rows of one write share it.")


class AuditPage(BaseModel):
    """One page of the audit trail."""

    total: int = Field(description="Rows matching the filters, all pages.")
    limit: int = Field(description="Page size.")
    offset: int = Field(description="Rows skipped.")
    items: list[AuditEntryOut]


class FarExemptionIn(BaseModel):
    """A block's exemption from the 容积率 ≥ 2.0 rule, as a reviewer records it."""

    model_config = ConfigDict(extra="forbid")

    min_far: float | None = Field(description="容积率 floor for the block; null lifts the rule.", ge=0, le=20)
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="豁免理由 (required).")
    document: str | None = Field(None, max_length=500, description="批复文件: the approval's reference.")


class FarExemptionOut(BaseModel):
    """A block's FAR exemption."""

    block_code: str = Field(description="区块编号.")
    min_far: float | None = Field(description="容积率 floor for the block; null: the rule is lifted.")
    reason: str = Field(description="豁免理由.")
    document: str | None = Field(description="批复文件.")
    created_at: dt.datetime = Field(description="When it was first recorded.")
    version: int = Field(description="Row version; the ETag is \"v<version>\".")
