"""Request bodies of the access API (pydantic, bounded: they define the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Ns = Annotated[int, Field(ge=0, le=2**63 - 1, description="UTC nanoseconds")]
Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Thumb = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="RFC 7638 thumbprint")]
Scope = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9:._-]{0,31}(#[0-9a-f]{3}|#[0-9a-f]{8})?$")]
Signal = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.]{1,64}$")]
Text = Annotated[str, Field(max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VehicleIn(_In):
    vehicle_id: Id
    label: Text = ""


class DeviceKeyIn(_In):
    device_id: Id
    public_key: str = Field(max_length=400, description="SPKI DER, base64")
    not_before_ns: Ns
    not_after_ns: Ns | None = None


class InstallIn(_In):
    device_id: Id
    start_ns: Ns
    end_ns: Ns | None = None


class OwnerIn(_In):
    owner: Thumb
    start_ns: Ns
    end_ns: Ns | None = None


class EndIn(_In):
    end_ns: Ns


class PartyIn(_In):
    role: Literal["owner", "insurer", "adjuster", "court", "expert"]
    name: Text
    public_key: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="raw Ed25519, b64url")


class PartyKeyIn(_In):
    """A party's new key (a rotation): the old one is refused from then on."""

    public_key: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="raw Ed25519, b64url")


class AccessRequestIn(_In):
    window_start_ns: Ns
    window_end_ns: Ns
    scope: list[Scope] = Field(min_length=1, max_length=256)
    signals: list[Signal] = Field(default_factory=list, max_length=256)
    actions: list[Literal["read", "export"]] = Field(min_length=1, max_length=2)
    purpose: Text


class GrantIn(_In):
    token: str = Field(max_length=8192, description="compact JWS (notary_core.grant)")


class DenyIn(_In):
    reason: Text = ""


class RecordsIn(_In):
    vehicle_id: Id
    window_start_ns: Ns
    window_end_ns: Ns
    scope: list[Scope] = Field(min_length=1, max_length=256)
    grant: Annotated[str, Field(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=5000)] = 5000
    cursor: Annotated[str, Field(max_length=60, pattern=r"^[0-9]{1,19}\.[0-9]{1,19}$")] | None = (
        None
    )


class EvidenceIn(_In):
    vehicle_id: Id
    window_start_ns: Ns
    window_end_ns: Ns
    scope: list[Scope] = Field(min_length=1, max_length=256)
    grant: Annotated[str, Field(max_length=200)] | None = None
    event_utc_ns: Ns | None = None
    event_label: Text = ""
