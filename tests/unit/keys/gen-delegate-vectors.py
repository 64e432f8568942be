#!/usr/bin/python3
"""Independent reference for the delegate-key vectors in test-keys.c.

Pure Python (hashlib + integer arithmetic, no shared code with src/keys):
BIP39 seed (PBKDF2-HMAC-SHA512), BIP32 master and hardened derivation on
secp256k1, Dogecoin mainnet serialization (dgpv 0x02fac398, dgub 0x02facafd).
Run it to print the values the C test table holds:

    /usr/bin/python3 tests/unit/keys/gen-delegate-vectors.py
"""
import hashlib
import hmac

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def mul(k, pt=G):
    r = None
    while k:
        if k & 1:
            r = add(r, pt)
        pt = add(pt, pt)
        k >>= 1
    return r


def ser_p(pt):
    return bytes([2 + (pt[1] & 1)]) + pt[0].to_bytes(32, "big")


def b58check(payload):
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + s


def fingerprint(k):
    return hashlib.new("ripemd160", hashlib.sha256(ser_p(mul(k))).digest()).digest()[:4]


def xprv(version, depth, parent_fp, index, chain, k):
    return b58check(version.to_bytes(4, "big") + bytes([depth]) + parent_fp +
                    index.to_bytes(4, "big") + chain + b"\0" + k.to_bytes(32, "big"))


def ckd_hardened(k, chain, i):
    i |= 0x80000000
    I = hmac.new(chain, b"\0" + k.to_bytes(32, "big") + i.to_bytes(4, "big"),
                 hashlib.sha512).digest()
    return (int.from_bytes(I[:32], "big") + k) % N, I[32:]


def main():
    for words in ["abandon " * 23 + "art",
                  "legal winner thank year wave sausage worth useful legal winner thank year "
                  "wave sausage worth useful legal winner thank year wave sausage worth title"]:
        seed = hashlib.pbkdf2_hmac("sha512", words.encode(), b"mnemonic", 2048)
        I = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
        k, c = int.from_bytes(I[:32], "big"), I[32:]
        print(f"mnemonic   {words}")
        print(f"master_pub {ser_p(mul(k)).hex()}")
        path = [(k, c, b"\0" * 4)]
        for i in (1000, 2):
            pk, pc, _ = path[-1]
            nk, nc = ckd_hardened(pk, pc, i)
            path.append((nk, nc, fingerprint(pk)))
        pk, pc, pfp = path[-1]
        print(f"parent     {xprv(0x02fac398, 2, pfp, 0x80000002, pc, pk)}")
        for n in (1, 2, 3, 2147483647):
            ck, cc = ckd_hardened(pk, pc, n)
            print(f"  N={n:<10} key {ck.to_bytes(32, 'big').hex()}")
            print(f"  {'':12} pub {ser_p(mul(ck)).hex()}")
            print(f"  {'':12} ext {xprv(0x02fac398, 3, fingerprint(pk), 0x80000000 | n, cc, ck)}")


if __name__ == "__main__":
    main()
