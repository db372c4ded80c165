"""The registry's tables (SQLAlchemy 2 declarative). Changes need a migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class DeviceRow(Base):
    """One device (see `domain.registry.DeviceRecord`)."""

    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(64))
    vendor: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(128), default="")
    site: Mapped[str] = mapped_column(String(64), default="")
    device_type: Mapped[str] = mapped_column(String(64), default="")
    transport_hints: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """How gateways reach the device (never a secret): a decommissioning run needs it."""
    network_ssid: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(512))
    cloud_thing: Mapped[str | None] = mapped_column(String(128))
    cloud_certificate_id: Mapped[str | None] = mapped_column(String(128))
    cloud_certificate_fingerprint: Mapped[str | None] = mapped_column(String(128))
    zigbee_ieee: Mapped[str | None] = mapped_column(String(32))
    zigbee_nwk: Mapped[str | None] = mapped_column(String(16))
    run_kind: Mapped[str | None] = mapped_column(String(16))
    workflow_id: Mapped[str | None] = mapped_column(String(256))
    run_id: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_from: Mapped[str | None] = mapped_column(String(16))
    """The state the owner run claimed the device in (restored when it undoes all)."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_devices_tenant_state", "tenant", "state", "device_id"),
        Index("ix_devices_tenant_site", "tenant", "site", "device_id"),
        Index("ix_devices_tenant_network", "tenant", "network_ssid", "device_id"),
    )


class IdempotencyKeyRow(Base):
    """A request that carried an `Idempotency-Key`, and the response to replay."""

    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the method, path and body of the request that first used the key."""
    status: Mapped[int | None] = mapped_column(Integer)
    """The response's status; None while the first request is being served."""
    body: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IndividualEnrollmentRow(Base):
    """One device a tenant allows (see `domain.enrollments`)."""

    __tablename__ = "individual_enrollments"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    serial: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    claim_secret_hash: Mapped[str | None] = mapped_column(String(255))
    """Salted scrypt of the claim secret (never the secret)."""
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GroupEnrollmentRow(Base):
    """Devices a tenant allows by vendor, model and device id glob."""

    __tablename__ = "group_enrollments"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vendor: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    device_id_glob: Mapped[str | None] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer)
    default_site: Mapped[str | None] = mapped_column(String(64))
    default_strategy: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TenantSettingsRow(Base):
    """A tenant's settings; a tenant without a row has the defaults."""

    __tablename__ = "tenant_settings"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    enrollment_required: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookSubscriptionRow(Base):
    """A tenant's webhook subscription (see `domain.webhooks`)."""

    __tablename__ = "webhook_subscriptions"

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(256), default="")
    sealed_secret: Mapped[str] = mapped_column(String(512))
    """The signing secret, encrypted with a key of the payload key ring (never in clear)."""
    previous_sealed_secret: Mapped[str | None] = mapped_column(String(512))
    """The secret before the last rotation, sealed: deliveries are signed with it too
    until `previous_secret_expires_at`."""
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookEventRow(Base):
    """The outbox: one event for one subscription, and how its delivery stands."""

    __tablename__ = "webhook_events"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Order of writing: a lane's events are delivered in this order."""
    event_id: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(160))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The Standard Webhooks body (`type`, `timestamp`, `data`): never a secret."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(512))
    next_try_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    age_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """Where the maximum age counts from: written, or redelivered by hand."""
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_events_event"),
        Index("ix_webhook_events_due", "subscription_id", "status", "sequence"),
    )


class PreProvisioningHookRow(Base):
    """A tenant's pre-provisioning hook (see `domain.hooks`)."""

    __tablename__ = "pre_provisioning_hooks"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    sealed_secret: Mapped[str] = mapped_column(String(512))
    """Its signing secret, encrypted with a key of the payload key ring."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
