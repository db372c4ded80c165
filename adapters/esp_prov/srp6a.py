"""SRP6a (RFC 5054) as ESP-IDF's security scheme 2 uses it: both the client and the device side.

Written from RFC 5054 and ESP-IDF's description of security 2, and checked against
RFC 5054's test vectors (1024-bit group, SHA-1) and ESP-IDF's published salt and
verifier (3072-bit group, SHA-512). The group and hash are parameters so that one code
path is checked by both.

What ESP-IDF fixes, beyond the RFC:

- the 3072-bit group of RFC 5054 (g = 5) with SHA-512;
- `k = H(N | PAD(g))`, `u = H(PAD(A) | PAD(B))`, `x = H(s | H(I | ":" | P))`;
- `K = H(S)`, S as its minimal big-endian bytes;
- `M1 = H(H(N) xor H(PAD(g)) | H(I) | s | A | B | K)` and `M2 = H(A | M1 | K)`, with A
  and B exactly as they travelled: the client sends A padded to the length of N
  (the device refuses any other length), the device sends B without padding.

Why not a library: `srp` (pysrp) 1.0.22 has the same arithmetic, but its RFC 5054
padding is a process-wide switch (`rfc5054_enable()`), its verifier wants A before it
can produce B, and it ships no type information; this module is about a hundred lines.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cached_property


class SrpError(ValueError):
    """A peer's SRP value is unacceptable, or its proof does not match."""


def _bytes(value: int) -> bytes:
    """Minimal big-endian bytes of `value` (one zero byte for zero)."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


@dataclass(frozen=True)
class SrpGroup:
    """A safe prime N, a generator g and the hash SRP uses with them."""

    name: str
    modulus: int
    generator: int
    hash_name: str

    @cached_property
    def length(self) -> int:
        """Bytes of N: the width every padded value takes."""
        return (self.modulus.bit_length() + 7) // 8

    def hash(self, *parts: bytes) -> bytes:
        digest = hashlib.new(self.hash_name)
        for part in parts:
            digest.update(part)
        return digest.digest()

    def pad(self, value: int | bytes) -> bytes:
        """`value` as big-endian bytes, left-padded with zeros to the length of N."""
        number = int.from_bytes(value, "big") if isinstance(value, bytes) else value
        return number.to_bytes(self.length, "big")

    @cached_property
    def multiplier(self) -> int:
        """k = H(N | PAD(g))."""
        return int.from_bytes(self.hash(self.pad(self.modulus), self.pad(self.generator)), "big")


_ESP_N_3072 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)

ESP_SRP_GROUP = SrpGroup("RFC 5054 3072-bit, SHA-512", _ESP_N_3072, 5, "sha512")
"""The group and hash of ESP-IDF's security 2 (`esp_srp`, ESP_NG_3072)."""

_EPHEMERAL_BITS = 256


def private_key(group: SrpGroup, salt: bytes, username: bytes, password: bytes) -> int:
    """x = H(s | H(I | ":" | P))."""
    return int.from_bytes(group.hash(salt, group.hash(username, b":", password)), "big")


def verifier(group: SrpGroup, salt: bytes, username: bytes, password: bytes) -> int:
    """v = g^x mod N: what a device stores instead of the password."""
    return pow(group.generator, private_key(group, salt, username, password), group.modulus)


def new_salt_and_verifier(
    username: bytes, password: bytes, *, group: SrpGroup = ESP_SRP_GROUP, salt_length: int = 16
) -> tuple[bytes, bytes]:
    """A fresh salt and its verifier (as bytes), as a device's factory data holds them."""
    salt = secrets.token_bytes(salt_length)
    return salt, _bytes(verifier(group, salt, username, password))


def scrambler(group: SrpGroup, public_a: bytes, public_b: bytes) -> int:
    """u = H(PAD(A) | PAD(B))."""
    return int.from_bytes(group.hash(group.pad(public_a), group.pad(public_b)), "big")


def _client_proof(
    group: SrpGroup, username: bytes, salt: bytes, public_a: bytes, public_b: bytes, key: bytes
) -> bytes:
    hashed_n = group.hash(_bytes(group.modulus))
    hashed_g = group.hash(group.pad(group.generator))
    n_xor_g = bytes(n ^ g for n, g in zip(hashed_n, hashed_g, strict=True))
    return group.hash(n_xor_g, group.hash(username), salt, public_a, public_b, key)


def _server_proof(group: SrpGroup, public_a: bytes, client_proof: bytes, key: bytes) -> bytes:
    return group.hash(public_a, client_proof, key)


class SrpClient:
    """The client (phone, gateway) side of one SRP6a exchange.

    Args:
        username: I.
        password: P.
        group: N, g and the hash.
        secret: a, for test vectors only; random otherwise.
    """

    def __init__(
        self,
        username: bytes,
        password: bytes,
        *,
        group: SrpGroup = ESP_SRP_GROUP,
        secret: int | None = None,
    ) -> None:
        self.group = group
        self._username = username
        self._password = password
        self._a = secret if secret is not None else secrets.randbits(_EPHEMERAL_BITS)
        self.public_key = group.pad(pow(group.generator, self._a, group.modulus))
        """A, padded to the length of N."""
        self._key: bytes | None = None
        self._proof: bytes | None = None

    def premaster_secret(self, salt: bytes, public_b: bytes) -> int:
        """S = (B - k g^x)^(a + u x) mod N.

        Raises:
            SrpError: B mod N is 0, or u is 0 (a device that would fix the secret).
        """
        group = self.group
        b_value = int.from_bytes(public_b, "big")
        if b_value % group.modulus == 0:
            raise SrpError("the device's public key B is 0 modulo N")
        u = scrambler(group, self.public_key, public_b)
        if u == 0:
            raise SrpError("the scrambling parameter u is 0")
        x = private_key(group, salt, self._username, self._password)
        base = (b_value - group.multiplier * pow(group.generator, x, group.modulus)) % group.modulus
        return pow(base, self._a + u * x, group.modulus)

    def process_challenge(self, salt: bytes, public_b: bytes) -> bytes:
        """The client's proof M1 for the device's salt and B; derives the session key."""
        key = self.group.hash(_bytes(self.premaster_secret(salt, public_b)))
        self._key = key
        self._proof = _client_proof(
            self.group, self._username, salt, self.public_key, public_b, key
        )
        return self._proof

    def verify_device(self, device_proof: bytes) -> bytes:
        """Check the device's proof M2; return the session key K.

        Raises:
            SrpError: The proof does not match: the device does not know the verifier.
        """
        if self._key is None or self._proof is None:
            raise SrpError("no challenge processed yet")
        expected = _server_proof(self.group, self.public_key, self._proof, self._key)
        if not hmac.compare_digest(expected, device_proof):
            raise SrpError("the device's proof does not match")
        return self._key


class SrpVerifier:
    """The device side of one SRP6a exchange, from a stored salt and verifier.

    Args:
        salt: s.
        verifier: v, big-endian bytes.
        group: N, g and the hash.
        secret: b, for test vectors only; random otherwise.
    """

    def __init__(
        self,
        salt: bytes,
        verifier: bytes,
        *,
        group: SrpGroup = ESP_SRP_GROUP,
        secret: int | None = None,
    ) -> None:
        self.group = group
        self.salt = salt
        self._v = int.from_bytes(verifier, "big")
        self._b = secret if secret is not None else secrets.randbits(_EPHEMERAL_BITS)
        public = (
            group.multiplier * self._v + pow(group.generator, self._b, group.modulus)
        ) % group.modulus
        self.public_key = _bytes(public)
        """B, minimal bytes (as ESP-IDF sends it)."""
        self._username = b""
        self._public_a = b""
        self._key: bytes | None = None

    def premaster_secret(self, public_a: bytes) -> int:
        """S = (A v^u)^b mod N.

        Raises:
            SrpError: A mod N is 0, or u is 0.
        """
        group = self.group
        a_value = int.from_bytes(public_a, "big")
        if a_value % group.modulus == 0:
            raise SrpError("the client's public key A is 0 modulo N")
        u = scrambler(group, public_a, self.public_key)
        if u == 0:
            raise SrpError("the scrambling parameter u is 0")
        return pow(a_value * pow(self._v, u, group.modulus), self._b, group.modulus)

    def accept(self, username: bytes, public_a: bytes) -> None:
        """Take the client's I and A and derive the session key."""
        self._key = self.group.hash(_bytes(self.premaster_secret(public_a)))
        self._username = username
        self._public_a = public_a

    def verify_client(self, client_proof: bytes) -> tuple[bytes, bytes]:
        """Check the client's proof M1; return the device's proof M2 and the session key K.

        Raises:
            SrpError: The proof does not match: wrong username or password.
        """
        if self._key is None:
            raise SrpError("no client public key accepted yet")
        expected = _client_proof(
            self.group, self._username, self.salt, self._public_a, self.public_key, self._key
        )
        if not hmac.compare_digest(expected, client_proof):
            raise SrpError("the client's proof does not match")
        return _server_proof(self.group, self._public_a, client_proof, self._key), self._key
