"""NATS user nkeys for the tests: an Ed25519 key pair written the way the nkeys library
(github.com/nats-io/nkeys) writes them, since Debian packages neither `nk` nor `nsc`.

An nkey is base32 (no padding) of: a prefix byte naming its kind, the 32-byte key, and a
CRC-16/XMODEM of those, little-endian. A user's public key starts with "U"; its seed, which
carries the kind in two prefix bytes, with "SU". nats-server checks the public key when it
reads its configuration; libnats checks the seed's checksum before it signs the server's
nonce with it, so a mistake here fails the test that uses it."""
import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

PREFIX_SEED = 18 << 3  # "S"
PREFIX_USER = 20 << 3  # "U"


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def encode(raw):
    raw = bytes(raw)
    raw += crc16(raw).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")


def user_pair():
    """A new user nkey: (public key "U…", seed "SU…")."""
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    public = encode([PREFIX_USER] + list(pub))
    seed_text = encode([PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3] + list(seed))
    return public, seed_text


def decode(text):
    """The bytes of an nkey's text with its checksum checked and removed."""
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    body, crc = raw[:-2], int.from_bytes(raw[-2:], "little")
    if crc16(body) != crc:
        raise ValueError("nkey checksum mismatch")
    return body


def sign(seed, nonce):
    """The CONNECT `sig` of a user's seed over the server's nonce (base64url, no padding)."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(decode(seed)[2:])
    sig = key.sign(nonce.encode() if isinstance(nonce, str) else nonce)
    return base64.urlsafe_b64encode(sig).decode().rstrip("=")


if __name__ == "__main__":
    pub, seed = user_pair()
    assert pub.startswith("U") and seed.startswith("SU"), (pub, seed)
    assert decode(pub)[0] == PREFIX_USER and len(decode(seed)) == 34
    print(pub)
    print(seed)
