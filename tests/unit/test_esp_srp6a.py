"""SRP6a of ESP-IDF's security 2, against RFC 5054's and ESP-IDF's published vectors."""

from __future__ import annotations

import pytest

from adapters.esp_prov.srp6a import (
    ESP_SRP_GROUP,
    SrpClient,
    SrpError,
    SrpGroup,
    SrpVerifier,
    new_salt_and_verifier,
    private_key,
    scrambler,
    verifier,
)


def _hex(text: str) -> int:
    return int("".join(text.split()), 16)


# RFC 5054, appendix A (the 1024-bit group) and appendix B (test vectors, SHA-1).
RFC5054_1024 = SrpGroup(
    "RFC 5054 1024-bit, SHA-1",
    _hex(
        "EEAF0AB9 ADB38DD6 9C33F80A FA8FC5E8 60726187 75FF3C0B 9EA2314C"
        "9C256576 D674DF74 96EA81D3 383B4813 D692C6E0 E0D5D8E2 50B98BE4"
        "8E495C1D 6089DAD1 5DC7D7B4 6154D6B6 CE8EF4AD 69B15D49 82559B29"
        "7BCF1885 C529F566 660E57EC 68EDBC3C 05726CC0 2FD4CBF4 976EAA9A"
        "FD5138FE 8376435B 9FC61D2F C0EB06E3"
    ),
    2,
    "sha1",
)
USERNAME = b"alice"
PASSWORD = b"password123"
SALT = bytes.fromhex("BEB25379D1A8581EB5A727673A2441EE")
K_MULTIPLIER = _hex("7556AA04 5AEF2CDD 07ABAF0F 665C3E81 8913186F")
X = _hex("94B7555A ABE9127C C58CCF49 93DB6CF8 4D16C124")
V = _hex(
    "7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812"
    "9BADA1F1 822223CA 1A605B53 0E379BA4 729FDC59 F105B478 7E5186F5"
    "C671085A 1447B52A 48CF1970 B4FB6F84 00BBF4CE BFBB1681 52E08AB5"
    "EA53D15C 1AFF87B2 B9DA6E04 E058AD51 CC72BFC9 033B564E 26480D78"
    "E955A5E2 9E7AB245 DB2BE315 E2099AFB"
)
A_SECRET = _hex("60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD DA2D4393")
B_SECRET = _hex("E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1 05284D20")
A_PUBLIC = _hex(
    "61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4"
    "4352E890 3211C046 92272D8B 2D1A5358 A2CF1B6E 0BFCF99F 921530EC"
    "8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03 E1327F44"
    "BE087EF0 6530E69F 66615261 EEF54073 CA11CF58 58F0EDFD FE15EFEA"
    "B349EF5D 76988A36 72FAC47B 0769447B"
)
B_PUBLIC = _hex(
    "BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011"
    "BAF38964 DC46A067 0DD125B9 5A981652 236F99D9 B681CBF8 7837EC99"
    "6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE 7BD4FBAA"
    "37089E6F 9C6059F3 88838E7A 00030B33 1EB76840 910440B1 B27AAEAE"
    "EB4012B7 D7665238 A8E3FB00 4B117B58"
)
U = _hex("CE38B959 3487DA98 554ED47D 70A7AE5F 462EF019")
PREMASTER = _hex(
    "B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D"
    "233861E3 59B48220 F7C4693C 9AE12B0A 6F67809F 0876E2D0 13800D6C"
    "41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB 2AFAFA8F"
    "3499B200 210DCC1F 10EB3394 3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D"
    "C346D7E4 74B29EDE 8A469FFE CA686E5A"
)

# ESP-IDF's protocomm test application (components/protocomm/test_apps/main/test_srp.c,
# CC0): the salt and verifier of username "wifiprov", password "abcd1234".
ESP_SALT = bytes.fromhex("036ee0c7bcb9eda84c9eac97d93decf4")
ESP_VERIFIER = bytes.fromhex(
    "7c7c85476508946dd636af37d7e8914378cffd616c59d2f83908127238de9e24a470261cdfa903c2b270e7b1"
    "3224da111d9718dc607208cc9ac90c4827e2ae89aa1625b804d21a9b3a8f37f6e43a712ee127866eadce28ff"
    "5446601fb99687dc5740a7d46cc97754dc1682f0ed356ac470ad3d90b5819470d7bc65b2d518e02ec3a5f968"
    "dd647bb8b73c9cfc00d8717eb79a7cb1b7c2c318342932433e0099e98294e3d82ab09629b7df0e5f08334076"
    "529132009f972c896c391ec8280544173f68028a9f4461d1f5a17e5a70d2c72381cb3868e42c20bc40577617"
    "bd08b896bc26eb32466935058c1570d91be9becca938a667f0ad5013197264bf52c234e21b11797472bd345b"
    "b1e2fd6673fe716474d04ebc51241940870e9240e621e72d4e37762f2ee268c789e8321342068484534ab30c"
    "1b4c8d1c519719abae77ffdbecf0109534336bcb3e840fb9d85fb8a0b855533e70f718f5ce7b4ebf27cecea8"
    "b3be40c5c532293e71649ede8cf675a1e6f653c831a878de5040f762de36b2ba"
)


def rfc_device() -> SrpVerifier:
    """The device side of RFC 5054's vectors: alice's verifier and the vectors' b."""
    return SrpVerifier(SALT, V.to_bytes(128, "big"), group=RFC5054_1024, secret=B_SECRET)


def test_the_multiplier_is_the_hash_of_n_and_padded_g() -> None:
    assert RFC5054_1024.multiplier == K_MULTIPLIER


def test_the_private_key_and_verifier_match_rfc_5054() -> None:
    assert private_key(RFC5054_1024, SALT, USERNAME, PASSWORD) == X
    assert verifier(RFC5054_1024, SALT, USERNAME, PASSWORD) == V


def test_the_client_public_key_matches_rfc_5054_and_is_padded_to_n() -> None:
    client = SrpClient(USERNAME, PASSWORD, group=RFC5054_1024, secret=A_SECRET)

    assert client.public_key == RFC5054_1024.pad(A_PUBLIC)
    assert len(client.public_key) == 128


def test_the_device_public_key_matches_rfc_5054() -> None:
    device = rfc_device()

    assert int.from_bytes(device.public_key, "big") == B_PUBLIC


def test_the_scrambler_pads_both_public_keys() -> None:
    a = A_PUBLIC.to_bytes(128, "big")
    b = B_PUBLIC.to_bytes(128, "big")

    assert scrambler(RFC5054_1024, a, b) == U
    assert scrambler(RFC5054_1024, a.lstrip(b"\0"), b.lstrip(b"\0")) == U


def test_both_sides_derive_the_premaster_secret_of_rfc_5054() -> None:
    client = SrpClient(USERNAME, PASSWORD, group=RFC5054_1024, secret=A_SECRET)
    device = rfc_device()

    assert client.premaster_secret(SALT, device.public_key) == PREMASTER
    assert device.premaster_secret(client.public_key) == PREMASTER


def test_esp_idf_published_verifier_is_reproduced_for_its_salt() -> None:
    value = verifier(ESP_SRP_GROUP, ESP_SALT, b"wifiprov", b"abcd1234")

    assert value.to_bytes(384, "big") == ESP_VERIFIER


def test_a_client_authenticates_against_esp_idf_published_verifier() -> None:
    device = SrpVerifier(ESP_SALT, ESP_VERIFIER)
    client = SrpClient(b"wifiprov", b"abcd1234")
    device.accept(b"wifiprov", client.public_key)

    device_proof, device_key = device.verify_client(
        client.process_challenge(ESP_SALT, device.public_key)
    )

    assert client.verify_device(device_proof) == device_key
    assert len(device_key) == 64


def test_a_wrong_password_is_refused_by_the_device() -> None:
    device = SrpVerifier(ESP_SALT, ESP_VERIFIER)
    client = SrpClient(b"wifiprov", b"not-the-password")
    device.accept(b"wifiprov", client.public_key)

    with pytest.raises(SrpError, match="proof does not match"):
        device.verify_client(client.process_challenge(ESP_SALT, device.public_key))


def test_a_device_without_the_verifier_is_refused_by_the_client() -> None:
    salt, stored = new_salt_and_verifier(b"wifiprov", b"another-password")
    impostor = SrpVerifier(salt, stored)
    client = SrpClient(b"wifiprov", b"abcd1234")
    impostor.accept(b"wifiprov", client.public_key)
    client.process_challenge(salt, impostor.public_key)

    with pytest.raises(SrpError):
        client.verify_device(bytes(64))


@pytest.mark.parametrize("forged", [0, ESP_SRP_GROUP.modulus], ids=["zero", "N"])
def test_public_keys_that_would_fix_the_secret_are_refused(forged: int) -> None:
    device = SrpVerifier(ESP_SALT, ESP_VERIFIER)
    client = SrpClient(b"wifiprov", b"abcd1234")

    with pytest.raises(SrpError, match="0 modulo N"):
        device.accept(b"wifiprov", ESP_SRP_GROUP.pad(forged))
    with pytest.raises(SrpError, match="0 modulo N"):
        client.process_challenge(ESP_SALT, ESP_SRP_GROUP.pad(forged))
