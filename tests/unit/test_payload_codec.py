"""Payload encryption, key rotation and the codec server."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from connection.codec import CodecKeyError, EncryptionCodec, KeyRing, data_converter
from domain.requests import NetworkCredentials
from worker.codec_server import create_codec_app

PASSPHRASE = "unique-passphrase-3141"
TOKEN = "codec-token-for-the-tests"
UI = "http://127.0.0.1:8233"


def credentials() -> NetworkCredentials:
    return NetworkCredentials.model_validate({"ssid": "lab", "passphrase": PASSPHRASE})


async def test_encrypted_payload_holds_no_plaintext_and_names_its_key() -> None:
    ring = KeyRing.generate("k1")
    [payload] = await data_converter(ring).encode([credentials()])

    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert payload.metadata["encryption-key-id"] == b"k1"
    assert PASSPHRASE.encode() not in payload.data
    assert PASSPHRASE.encode() not in payload.SerializeToString()


async def test_history_written_with_the_old_key_decodes_after_rotation() -> None:
    old = KeyRing.generate("k1")
    payloads = await data_converter(old).encode([credentials()])
    rotated = old.rotated("k2")

    [decoded] = await data_converter(rotated).decode(payloads, [NetworkCredentials])
    [fresh] = await data_converter(rotated).encode([credentials()])

    assert decoded.passphrase.get_secret_value() == PASSPHRASE
    assert fresh.metadata["encryption-key-id"] == b"k2"


async def test_payload_whose_key_left_the_ring_is_an_error() -> None:
    payloads = await EncryptionCodec(KeyRing.generate("k1")).encode(
        await data_converter(None).encode([credentials()])
    )

    with pytest.raises(CodecKeyError, match="no key 'k1'"):
        await EncryptionCodec(KeyRing.generate("k9")).decode(payloads)


def test_key_ring_refuses_short_keys_and_bad_syntax() -> None:
    with pytest.raises(CodecKeyError, match="32 bytes"):
        KeyRing.parse("k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(CodecKeyError, match="id:base64key"):
        KeyRing.parse("no-separator")


ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def codec_server(aiohttp_client: ClientFactory) -> TestClient[web.Request, web.Application]:
    ring = KeyRing.generate()
    return await aiohttp_client(create_codec_app(EncryptionCodec(ring), token=TOKEN, ui_origin=UI))


async def encrypted_json(server: TestClient[Any, Any]) -> str:
    plain = await data_converter(None).encode([credentials()])
    response = await server.post(
        "/codec/encode",
        data=json_format.MessageToJson(Payloads(payloads=plain)),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status == 200
    return await response.text()


async def test_codec_server_decodes_for_the_token_holder(
    codec_server: TestClient[Any, Any],
) -> None:
    sealed = await encrypted_json(codec_server)
    assert PASSPHRASE not in sealed

    response = await codec_server.post(
        "/codec/decode", data=sealed, headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert response.status == 200
    decoded = json_format.Parse(await response.text(), Payloads())
    assert PASSPHRASE in decoded.payloads[0].data.decode()


async def test_codec_server_refuses_everyone_else(codec_server: TestClient[Any, Any]) -> None:
    sealed = await encrypted_json(codec_server)

    anonymous = await codec_server.post("/codec/decode", data=sealed)
    wrong = await codec_server.post(
        "/codec/decode", data=sealed, headers={"Authorization": "Bearer wrong-token-wrong-token"}
    )

    assert anonymous.status == 401
    assert wrong.status == 401
    assert PASSPHRASE not in await anonymous.text()


async def test_codec_server_answers_the_web_ui_preflight(
    codec_server: TestClient[Any, Any],
) -> None:
    allowed = await codec_server.options("/codec/decode", headers={"Origin": UI})
    other = await codec_server.options("/codec/decode", headers={"Origin": "http://evil"})

    assert allowed.headers["Access-Control-Allow-Origin"] == UI
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_codec_server_rejects_a_body_that_is_not_payloads(
    codec_server: TestClient[Any, Any],
) -> None:
    response = await codec_server.post(
        "/codec/decode", data=json.dumps({"x": 1}), headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert response.status == 400


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_codec_server_takes_no_token_in_its_path(codec_server: TestClient[Any, Any]) -> None:
    sealed = await (
        await codec_server.post(
            "/codec/encode",
            data=json_format.MessageToJson(
                Payloads(payloads=await data_converter(None).encode([credentials()]))
            ),
            headers=BEARER,
        )
    ).text()

    by_path = await codec_server.post(f"/{TOKEN}/codec/decode", data=sealed)

    assert by_path.status == 404
    assert PASSPHRASE not in await by_path.text()


@pytest.mark.parametrize("given", ["jeton-\u00e9t\u00e9-non-ascii-1234", "\u202e" * 20])
async def test_codec_server_refuses_any_odd_token_with_401(
    codec_server: TestClient[Any, Any], given: str
) -> None:
    header = f"Bearer {given}".encode().decode("latin-1")  # what a client really sends

    response = await codec_server.post(
        "/codec/decode", data="{}", headers={"Authorization": header}
    )

    assert response.status == 401


async def test_the_local_stacks_codec_server_decodes_for_the_local_web_ui_without_a_token(
    aiohttp_client: ClientFactory,
) -> None:
    ring = KeyRing.generate()
    local = await aiohttp_client(
        create_codec_app(EncryptionCodec(ring), token=TOKEN, ui_origin=UI, trust_ui_origin=True)
    )
    deployed = await aiohttp_client(
        create_codec_app(EncryptionCodec(ring), token=TOKEN, ui_origin=UI)
    )
    plain = await data_converter(None).encode([credentials()])
    sealed = await (
        await local.post(
            "/codec/encode",
            data=json_format.MessageToJson(Payloads(payloads=plain)),
            headers=BEARER,
        )
    ).text()

    from_ui = await local.post("/codec/decode", data=sealed, headers={"Origin": UI})
    from_elsewhere = await local.post(
        "/codec/decode", data=sealed, headers={"Origin": "http://127.0.0.1:9999"}
    )
    deployed_from_ui = await deployed.post("/codec/decode", data=sealed, headers={"Origin": UI})

    assert from_ui.status == 200
    decoded = json_format.Parse(await from_ui.text(), Payloads())
    assert PASSPHRASE in decoded.payloads[0].data.decode()
    assert from_elsewhere.status == 401
    assert deployed_from_ui.status == 401
