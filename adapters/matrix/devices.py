"""End-to-end encryption upkeep of the bot's device: one round of key exchange, and which
other devices it trusts (``unverified_devices``: trust on first use, or ignore)."""

from __future__ import annotations

import asyncio

from nio import AsyncClient

from adapters.matrix.config import MatrixConfig
from core.logging import get_logger

log = get_logger("kith.matrix")


async def exchange_keys(client: AsyncClient, config: MatrixConfig, lock: asyncio.Lock) -> None:
    """Upload, query and claim what nio says is due, send to-device messages, then decide
    on new devices (one round at a time: ``lock``)."""
    async with lock:
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()
        trust_devices(client, config)


def trust_devices(client: AsyncClient, config: MatrixConfig) -> None:
    for device in client.device_store:
        if device.verified or device.blacklisted or device.ignored:
            continue
        if device.user_id == config.user_id and device.id == client.device_id:
            continue
        if config.unverified_devices == "trust":
            client.verify_device(device)
            log.info("matrix_device_trusted_on_first_use", user=device.user_id,
                     device_id=device.id, ed25519=device.ed25519)
        else:
            client.blacklist_device(device)
            log.info("matrix_unverified_device_ignored", user=device.user_id,
                     device_id=device.id)
