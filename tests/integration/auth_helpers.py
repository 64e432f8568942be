"""Helpers for the auth integration tests: BIP39 checks against the official
word list, an independent delegate-key derivation, settings in the
daemon's database."""
import hashlib
import importlib.util
import os
import re
import sqlite3

from harness import REPO

PASSWORD = "correct horse battery staple"


def wordlist():
    src = open(os.path.join(REPO, "src", "keys", "bip39_english.c")).read()
    words = re.findall(r'"([a-z]+)"', src)
    assert len(words) == 2048
    return words


def bip39_valid(words):
    """Checksum of a 24-word English mnemonic, computed here from scratch."""
    wl = {w: i for i, w in enumerate(wordlist())}
    bits = "".join(format(wl[w], "011b") for w in words)
    ent_bits = len(bits) * 32 // 33
    entropy = int(bits[:ent_bits], 2).to_bytes(ent_bits // 8, "big")
    want = format(hashlib.sha256(entropy).digest()[0], "08b")[: len(bits) - ent_bits]
    return bits[ent_bits:] == want


def _ref():
    path = os.path.join(REPO, "tests", "unit", "keys", "gen-delegate-vectors.py")
    spec = importlib.util.spec_from_file_location("delegate_ref", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def delegate_keys(words, n):
    """(delegated.key, delegated.extended.key) of m/1000'/2'/n' for a
    mnemonic, by the keys module's pure-Python reference (no shared code
    with the daemon)."""
    import hmac
    m = _ref()
    seed = hashlib.pbkdf2_hmac("sha512", " ".join(words).encode(), b"mnemonic", 2048)
    I = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
    k, c = int.from_bytes(I[:32], "big"), I[32:]
    for i in (1000, 2):
        k, c = m.ckd_hardened(k, c, i)
    ck, cc = m.ckd_hardened(k, c, n)
    return (ck.to_bytes(32, "big").hex(),
            m.xprv(0x02fac398, 3, m.fingerprint(k), 0x80000000 | n, cc, ck))


def set_settings(daemon, **settings):
    """Write settings into a stopped daemon's database."""
    assert daemon.proc is None or daemon.proc.poll() is not None
    db = sqlite3.connect(os.path.join(daemon.data_dir, "dogebox.db"))
    for k, v in settings.items():
        db.execute("INSERT INTO settings(key, value) VALUES(?, ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (k, str(v)))
    db.commit()
    db.close()


def db_query(daemon, sql, *args):
    db = sqlite3.connect(os.path.join(daemon.data_dir, "dogebox.db"))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def bearer(token):
    return {"Authorization": "Bearer " + token}
