#!/usr/bin/python3
"""An independent implementation of printgate's sealed-job format v1.

Written from docs/sealed-job.md, not from the Rust code, so that tests/seal_interop.rs can check
that the document and printgate agree. Needs Debian's python3-cryptography and python3-zstandard
(run it with /usr/bin/python3).

    sealed_job.py open --key SITE.key.pem --job-id HEX32 --site NAME IN.sealed OUT.pdf
    sealed_job.py seal --pub SITE.pub.pem --job-id HEX32 --site NAME IN.pdf OUT.sealed
    sealed_job.py fingerprint (--pub SITE.pub.pem | --key SITE.key.pem)
    sealed_job.py keygen --bits N --out-key SITE.key.pem --out-pub SITE.pub.pem
    sealed_job.py flipcheck --key SITE.key.pem --job-id HEX32 --site NAME [--all] IN.sealed
    sealed_job.py selftest DIR          (DIR = tests/vectors)

`open` checks, in the document's order: magic, version, that every field fits, the key
fingerprint, the site, the job id, the RSA-OAEP unwrap, the AES-GCM tag over the header (AAD),
and the bounded zstd decompression. On any failure it prints one line on stderr and exits 1
(2 for a usage error). It writes OUT.pdf only when everything passed.

`seal` has two test-only options: `--flags N` writes another flags byte, and `--payload FILE`
encrypts FILE's bytes as they are instead of zstd-compressing IN.pdf (to check how readers
treat odd compressed streams).

`flipcheck` checks that the file opens, then tries single-byte changes (XOR 0x01 and 0xFF) at
every header byte and at the first, last and every 97th body byte (every body byte with
`--all`), and truncations to every header length and the same body sample. It prints one line
per attempt, `flip OFFSET MASK KIND` or `trunc LENGTH KIND`, where KIND names the check that
failed (`opened` if none did), and exits 1 if any attempt opened.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import struct
import sys

try:
    import zstandard
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(f"sealed_job.py: error: {e} (install python3-cryptography and python3-zstandard, "
             f"and run /usr/bin/python3)")

MAGIC = b"PGSJ"
VERSION = 1
FLAG_ZSTD = 0x01
FINGERPRINT_LEN = 32
CONTENT_KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
MAX_PLAINTEXT = 512 * 1024 * 1024
ZSTD_LEVEL = 3
MIN_RSA_BITS = 2048
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class SealError(Exception):
    """A sealed job that cannot be opened (or made). `kind` names the failed check."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class UsageError(Exception):
    """A bad argument or key file: exit status 2 / 1, not a property of the sealed job."""


# ---------------------------------------------------------------------------------------------
# Keys (docs: "Keys")


def pem_block(text: str, label: str) -> bytes:
    """DER of the first PEM block labelled exactly `label`."""
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.find(begin)
    if start < 0:
        raise UsageError(f"no {begin} block")
    start += len(begin)
    stop = text.find(end, start)
    if stop < 0:
        raise UsageError(f"no {end} line")
    try:
        return base64.b64decode("".join(text[start:stop].split()), validate=True)
    except ValueError as e:
        raise UsageError(f"bad base64 in {label}: {e}") from None


def read_text(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None


def load_private(path: str) -> rsa.RSAPrivateKey:
    """An unencrypted PKCS#8 `PRIVATE KEY` PEM (PKCS#1 and encrypted PKCS#8 are refused)."""
    der = pem_block(read_text(path), "PRIVATE KEY")
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{path}: not a PKCS#8 private key: {e}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UsageError(f"{path}: not an RSA private key")
    return key


def load_public(path: str) -> rsa.RSAPublicKey:
    """An SPKI `PUBLIC KEY` PEM of at least 2048 bits."""
    der = pem_block(read_text(path), "PUBLIC KEY")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{path}: not an SPKI public key: {e}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise UsageError(f"{path}: not an RSA public key")
    if key.key_size < MIN_RSA_BITS:
        raise UsageError(f"{path}: RSA key of {key.key_size} bits is too small (need {MIN_RSA_BITS}+)")
    return key


def fingerprint(public: rsa.RSAPublicKey) -> bytes:
    """SHA-256 of the canonical SPKI DER of the public key."""
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()


# ---------------------------------------------------------------------------------------------
# Layout (docs: "Layout")


class Header:
    def __init__(self, flags, job_id, site, key_fingerprint, wrapped_key, nonce, length):
        self.flags = flags
        self.job_id = job_id
        self.site = site
        self.key_fingerprint = key_fingerprint
        self.wrapped_key = wrapped_key
        self.nonce = nonce
        self.length = length  # H: the header (= AAD) is sealed[0:H]


def parse_header(sealed: bytes) -> Header:
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(sealed):
            raise SealError("truncated", "sealed job is truncated")
        pos += n
        return sealed[pos - n:pos]

    if take(4) != MAGIC:
        raise SealError("bad-magic", "not a sealed job (bad magic)")
    version = take(1)[0]
    if version != VERSION:
        raise SealError("version", f"unsupported sealed-job version {version}")
    flags = take(1)[0]  # other bits than 0x01 are not rejected
    job_id = take(16)
    site_len = take(1)[0]
    try:
        site = take(site_len).decode("utf-8")
    except UnicodeDecodeError:
        raise SealError("truncated", "sealed job is truncated") from None  # as the doc says
    key_fingerprint = take(FINGERPRINT_LEN)
    (wrapped_len,) = struct.unpack(">H", take(2))
    wrapped_key = take(wrapped_len)
    nonce = take(NONCE_LEN)
    return Header(flags, job_id, site, key_fingerprint, wrapped_key, nonce, pos)


def encode_header(flags: int, job_id: bytes, site: str, key_fingerprint: bytes, wrapped_key: bytes,
                  nonce: bytes) -> bytes:
    site_bytes = site.encode("utf-8")
    if len(site_bytes) > 255:
        raise SealError("site-name", "site name too long")
    if len(job_id) != 16 or len(key_fingerprint) != FINGERPRINT_LEN or len(nonce) != NONCE_LEN:
        raise SealError("internal", "bad header field size")
    return (MAGIC + bytes([VERSION, flags]) + job_id + bytes([len(site_bytes)]) + site_bytes
            + key_fingerprint + struct.pack(">H", len(wrapped_key)) + wrapped_key + nonce)


# ---------------------------------------------------------------------------------------------
# Writing and opening (docs: "How printgate writes a job", "How a station opens a job")


def seal(pdf: bytes, job_id: bytes, site: str, public: rsa.RSAPublicKey, *, flags: int = FLAG_ZSTD,
         payload: bytes | None = None) -> bytes:
    plaintext = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(pdf) if payload is None else payload
    content_key = os.urandom(CONTENT_KEY_LEN)
    nonce = os.urandom(NONCE_LEN)
    wrapped_key = public.encrypt(content_key, OAEP)
    header = encode_header(flags, job_id, site, fingerprint(public), wrapped_key, nonce)
    return header + AESGCM(content_key).encrypt(nonce, plaintext, header)


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def open_job(sealed: bytes, private: rsa.RSAPrivateKey, job_id: bytes, site: str,
             own_fingerprint: bytes | None = None) -> bytes:
    # 1. Header.
    header = parse_header(sealed)
    # 2. Key.
    mine = own_fingerprint if own_fingerprint is not None else fingerprint(private.public_key())
    if header.key_fingerprint != mine:
        raise SealError("wrong-key", f"job was sealed for key {header.key_fingerprint.hex()}, "
                                     f"this key is {mine.hex()}")
    # 3. Site.
    if header.site != site:
        raise SealError("wrong-site", f"job is for site {quote(header.site)}, expected {quote(site)}")
    # 4. Job id.
    if header.job_id != job_id:
        raise SealError("wrong-job", f"job id in the envelope is {header.job_id.hex()}, expected {job_id.hex()}")
    # 5. Unwrap.
    try:
        content_key = private.decrypt(header.wrapped_key, OAEP)
    except ValueError:
        raise SealError("unwrap", "cannot unwrap the job key") from None
    if len(content_key) != CONTENT_KEY_LEN:
        raise SealError("unwrap", "cannot unwrap the job key")
    # 6. Decrypt, AAD = sealed[0:H], input sealed[H:] (ciphertext || 16-byte tag).
    aad, body = sealed[:header.length], sealed[header.length:]
    try:
        if len(body) < TAG_LEN:
            raise InvalidTag()
        plaintext = AESGCM(content_key).decrypt(header.nonce, body, aad)
    except InvalidTag:
        raise SealError("decrypt", "decryption failed: the job was altered or the key is wrong") from None
    # 7. Decompress.
    if not header.flags & FLAG_ZSTD:
        return plaintext
    return decompress_bounded(plaintext)


# Input fed to zstd per step. A zstd block of >= 4 input bytes yields <= 128 KiB, so one step
# yields at most ~8 MiB: the output is checked against the bound long before it gets large.
_ZSTD_STEP = 256


def decompress_bounded(data: bytes) -> bytes:
    """One or more complete zstd frames, at most MAX_PLAINTEXT bytes of output."""
    out, total, rest = [], 0, memoryview(data)
    while True:  # one frame per turn; an empty stream is an incomplete frame
        d = zstandard.ZstdDecompressor().decompressobj()
        pos = 0
        try:
            while not d.eof and pos < len(rest):
                chunk = d.decompress(rest[pos:pos + _ZSTD_STEP].tobytes())
                pos += _ZSTD_STEP
                total += len(chunk)
                if total > MAX_PLAINTEXT:
                    raise SealError("decompress", "decompression failed: larger than the plaintext limit")
                out.append(chunk)
        except zstandard.ZstdError as e:
            raise SealError("decompress", f"decompression failed: {e}") from None
        if not d.eof:
            raise SealError("decompress", "decompression failed: incomplete frame")
        rest = memoryview(d.unused_data + rest[pos:].tobytes())
        if not rest:
            return b"".join(out)


# ---------------------------------------------------------------------------------------------
# Mutation checks


def body_sample(header_len: int, total: int, every: int):
    return sorted(set(range(header_len, total, every)) | ({total - 1} if total > header_len else set()))


def mutations(sealed: bytes, header_len: int, every: int):
    """(label, mutated bytes) for every header byte and a sample of body bytes, then truncations."""
    offsets = list(range(header_len)) + body_sample(header_len, len(sealed), every)
    for off in offsets:
        for mask in (0x01, 0xFF):
            bad = bytearray(sealed)
            bad[off] ^= mask
            yield f"flip {off} {mask:#04x}", bytes(bad)
    for n in sorted(set(range(header_len + 1)) | set(body_sample(header_len, len(sealed), every))):
        yield f"trunc {n}", sealed[:n]


class _MemoKey:
    """A private key that remembers its last RSA-OAEP result: most mutations leave the wrapped
    key alone, and a 3072-bit decryption costs milliseconds. Failures are never cached."""

    def __init__(self, key):
        self._key, self._last = key, (None, None)

    def public_key(self):
        return self._key.public_key()

    def decrypt(self, ciphertext, pad):
        if self._last[0] != ciphertext:
            self._last = (ciphertext, self._key.decrypt(ciphertext, pad))
        return self._last[1]


def flipcheck(sealed: bytes, private, job_id: bytes, site: str, every: int, out) -> int:
    """Prints one line per mutation; returns how many mutations opened (must be 0)."""
    own = fingerprint(private.public_key())
    private = _MemoKey(private)
    open_job(sealed, private, job_id, site, own)  # the unchanged file must open
    header_len = parse_header(sealed).length
    opened = 0
    for label, bad in mutations(sealed, header_len, every):
        try:
            open_job(bad, private, job_id, site, own)
            kind = "opened"
            opened += 1
        except SealError as e:
            kind = e.kind
        print(f"{label} {kind}", file=out)
    return opened


# ---------------------------------------------------------------------------------------------
# Self-test against the committed vectors (docs: "Test vectors")


def selftest(directory: str) -> str:
    def path(name):
        return os.path.join(directory, name)

    readme = read_text(path("README.md"))
    job_hex = re.search(r"job id `([0-9a-f]{32})`", readme).group(1)
    site = re.search(r"site `([^`]+)`", readme).group(1)
    want_fp = re.search(r"`([0-9a-f]{64})`", readme).group(1)
    job_id = bytes.fromhex(job_hex)
    private, public = load_private(path("main.key.pem")), load_public(path("main.pub.pem"))
    with open(path("job-v1.pgsj"), "rb") as f:
        sealed = f.read()
    with open(path("job-v1.pdf"), "rb") as f:
        pdf = f.read()

    # Reader step 1: fingerprints.
    site_len = sealed[22]
    fps = {fingerprint(private.public_key()).hex(), fingerprint(public).hex(),
           sealed[23 + site_len:23 + site_len + 32].hex()}
    if fps != {want_fp}:
        raise SealError("selftest", f"fingerprints disagree: {sorted(fps)} vs README {want_fp}")
    # Reader step 2: opens to the PDF.
    if open_job(sealed, private, job_id, site) != pdf:
        raise SealError("selftest", "job-v1.pgsj does not open to job-v1.pdf")
    # Reader step 3: negative checks, each must fail with the expected check.
    expect_failure(lambda: open_job(sealed, private, bytes(16), site), "wrong-job")
    expect_failure(lambda: open_job(sealed, private, job_id, site + "x"), "wrong-site")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expect_failure(lambda: open_job(sealed, other, job_id, site), "wrong-key")
    opened = flipcheck(sealed, private, job_id, site, every=1, out=_Discard())
    if opened:
        raise SealError("selftest", f"{opened} changed or truncated copies of job-v1.pgsj opened")
    # Writer: our own job for the same PDF opens, and no header flip opens.
    mine = seal(pdf, job_id, site, public)
    if open_job(mine, private, job_id, site) != pdf:
        raise SealError("selftest", "a job sealed by this script does not open to job-v1.pdf")
    if parse_header(mine).length != parse_header(sealed).length:  # same key and site: same H
        raise SealError("selftest", "a job sealed by this script has another header length")
    opened = flipcheck(mine, private, job_id, site, every=97, out=_Discard())
    if opened:
        raise SealError("selftest", f"{opened} changed copies of a job sealed by this script opened")
    return f"selftest OK: {directory} (site {site}, job {job_hex}, key {want_fp[:16]}...)"


class _Discard:
    def write(self, _text):
        pass


def expect_failure(fn, kind):
    try:
        fn()
    except SealError as e:
        if e.kind != kind:
            raise SealError("selftest", f"expected a {kind} failure, got {e.kind}: {e}") from None
        return
    raise SealError("selftest", f"expected a {kind} failure, but the job opened")


# ---------------------------------------------------------------------------------------------
# Command line


def job_id_arg(text: str) -> bytes:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", text):
        raise argparse.ArgumentTypeError(f"job id must be 32 hex digits, got {text!r}")
    return bytes.fromhex(text)


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None


def write_bytes(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="sealed_job.py", description="printgate sealed-job format v1")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("open", help="open a sealed job")
    p.add_argument("--key", required=True)
    p.add_argument("--job-id", required=True, type=job_id_arg)
    p.add_argument("--site", required=True)
    p.add_argument("sealed")
    p.add_argument("out")

    p = sub.add_parser("seal", help="seal a PDF")
    p.add_argument("--pub", required=True)
    p.add_argument("--job-id", required=True, type=job_id_arg)
    p.add_argument("--site", required=True)
    p.add_argument("--flags", type=lambda s: int(s, 0), default=FLAG_ZSTD, help=argparse.SUPPRESS)
    p.add_argument("--payload", help=argparse.SUPPRESS)
    p.add_argument("pdf")
    p.add_argument("out")

    p = sub.add_parser("fingerprint", help="print a key's fingerprint (hex)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--pub")
    g.add_argument("--key")

    p = sub.add_parser("keygen", help="make an RSA key pair (PKCS#8 + SPKI PEM)")
    p.add_argument("--bits", type=int, default=3072)
    p.add_argument("--out-key", required=True)
    p.add_argument("--out-pub", required=True)

    p = sub.add_parser("flipcheck", help="check that changed or truncated copies fail")
    p.add_argument("--key", required=True)
    p.add_argument("--job-id", required=True, type=job_id_arg)
    p.add_argument("--site", required=True)
    p.add_argument("--all", action="store_true", help="flip every body byte, not a sample")
    p.add_argument("sealed")

    p = sub.add_parser("selftest", help="check this script against the committed test vectors")
    p.add_argument("dir")

    args = parser.parse_args(argv)
    try:
        if args.command == "open":
            pdf = open_job(read_bytes(args.sealed), load_private(args.key), args.job_id, args.site)
            write_bytes(args.out, pdf)
        elif args.command == "seal":
            payload = read_bytes(args.payload) if args.payload else None
            sealed = seal(read_bytes(args.pdf), args.job_id, args.site, load_public(args.pub),
                          flags=args.flags, payload=payload)
            write_bytes(args.out, sealed)
        elif args.command == "fingerprint":
            key = load_public(args.pub) if args.pub else load_private(args.key).public_key()
            print(fingerprint(key).hex())
        elif args.command == "keygen":
            key = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
            write_bytes(args.out_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
            write_bytes(args.out_pub, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
        elif args.command == "flipcheck":
            opened = flipcheck(read_bytes(args.sealed), load_private(args.key), args.job_id, args.site,
                               every=1 if args.all else 97, out=sys.stdout)
            if opened:
                print(f"sealed_job.py: error: {opened} changed or truncated copies opened", file=sys.stderr)
                return 1
        elif args.command == "selftest":
            print(selftest(args.dir))
    except (SealError, UsageError) as e:
        print(f"sealed_job.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
