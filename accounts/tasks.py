"""Celery tasks of the accounts domain (thin: a service call, idempotent)."""

from __future__ import annotations

from celery import shared_task

from .services.audit_chain import audit_chain_seal, audit_checkpoint_create


@shared_task(name="accounts.audit_chain_seal")
def audit_chain_seal_task() -> int:
    """Beat (every AUDIT_CHAIN_SEAL_INTERVAL_SECONDS): seal the audit events
    committed since the last run into the hash chain, in batches. Requests
    never seal (the head's lock would serialise them); a lost or overlapping
    run is harmless: sealers queue on the head and the next run picks up."""
    return audit_chain_seal()


@shared_task(name="accounts.audit_checkpoint_create")
def audit_checkpoint_create_task() -> int | None:
    """Beat (every AUDIT_CHECKPOINT_INTERVAL_SECONDS): seal, then append a
    signed checkpoint of the chain's head to the store outside the database
    when the chain has grown. Returns its seq (None: nothing new). A chain
    that is not an extension of the last checkpoint raises
    AUDIT_CHECKPOINT_REFUSED (logged; nothing is written; not retried — the
    next run checks again)."""
    checkpoint = audit_checkpoint_create()
    return checkpoint.seq if checkpoint is not None else None
