/* BIP32: the official test vectors 1-5 (bitcoin/bips bip-0032.mediawiki),
 * private and public derivation, parsing, paths, Dogecoin serialization. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include "core/util.h"
#include "keys/bip32.h"

struct step {
        const char *path, *xpub, *xprv;
};

static const struct {
        const char *seed;
        struct step steps[6];
} vectors[] = {
    {"000102030405060708090a0b0c0d0e0f",
     {
         {"m",
          "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8Yt"
          "GqsefD265TMg7usUDFdp6W1EGMcet8",
          "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5"
          "kejMRNNU3TGtRBeJgk33yuGBxrMPHi"},
         {"m/0h",
          "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdr"
          "fp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
          "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7o"
          "WgT11eZG7XnxHrnYeSvkzY7d2bhkJ7"},
         {"m/0h/1",
          "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7S"
          "yYq527Hqck2AxYysAA7xmALppuCkwQ",
          "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXw"
          "TCg8MSY3H2EU4pWcQDnRnrVA1xe8fs"},
         {"m/0h/1/2h",
          "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5u"
          "Jh7n7epu4trkrX7x7DogT5Uv6fcLW5",
          "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSA"
          "ewRiNMjANTtpgP4mLTj34bhnZX7UiM"},
         {"m/0h/1/2h/2",
          "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACT"
          "j37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
          "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbd"
          "qqsunu5Mm3wDvUAKRHSC34sJ7in334"},
         {"m/0h/1/2h/2/1000000000",
          "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro4"
          "9S8yGasTvXEYBVPamhGW6cFJodrTHy",
          "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie"
          "1rFSruoUihUZREPSL39UNdE3BBDu76"},
     }},
    {"fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7"
     "b7875726f6c696663605d5a5754514e4b484542",
     {
         {"m",
          "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc"
          "4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
          "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSB"
          "HNqPqm55Qn3LqFtT2emdEXVYsCzC2U"},
         {"m/0",
          "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmm"
          "DznezpbZb7ap6r1D3tgFxHmwMkQTPH",
          "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZX"
          "o1ex8G81dwSM1fwqWpWkeS3v86pgKt"},
         {"m/0/2147483647h",
          "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNR"
          "ts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
          "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy"
          "2kRgVsFawNzmjuHc2YmYRmagcEPdU9"},
         {"m/0/2147483647h/1",
          "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCW"
          "h89LojfZ537wTfunKau47EL2dhHKon",
          "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtH"
          "jXajPPdbRCHuWS6T8XA2ECKADdw4Ef"},
         {"m/0/2147483647h/1/2147483646h",
          "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4A"
          "LHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
          "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6"
          "rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"},
         {"m/0/2147483647h/1/2147483646h/2",
          "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3e"
          "mM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
          "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9"
          "QWTyefMLEcBYJUuekgW4BYPJcr9E7j"},
     }},
    /* Vector 3: retention of leading zeros. */
    {"4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab"
     "5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be",
     {
         {"m",
          "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3"
          "ND1cZAceL7SfJ1Z3GC8vBgp2epUt13",
          "xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9X"
          "vz9dGuVrtHHs7pXeTzjuxBrCmmhgC6"},
         {"m/0h",
          "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9f"
          "q9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y",
          "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcB"
          "UdJCVVFceUvJFjaPdGZ2y9WACViL4L"},
     }},
    /* Vector 4: retention of leading zeros in hardened derivation. */
    {"3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678",
     {
         {"m",
          "xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPr"
          "Ez92mBXjByMRiJdba9wpnN37RLLAXa",
          "xprv9s21ZrQH143K48vGoLGRPxgo2JNkJ3J3fqkirQC2zVdk5Dgd5w14S7fRDyHH4dWNHUgkvsvNDCkvA"
          "wcSHNAQwhwgNMgZhLtQC63zxwhQmRv"},
         {"m/0h",
          "xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AeP"
          "AgCjYdvpW2PU2jbUPFKsav5ut6Ch1m",
          "xprv9vB7xEWwNp9kh1wQRfCCQMnZUEG21LpbR9NPCNN1dwhiZkjjeGRnaALmPXCX7SgjFTiCTT6bXes17"
          "boXtjq3xLpcDjzEuGLQBM5ohqkao9G"},
         {"m/0h/1h",
          "xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdM"
          "f17C9T5XnxkopaeS7jGk1GyyVziaMt",
          "xprv9xJocDuwtYCMNAo3Zw76WENQeAS6WGXQ55RCy7tDJ8oALr4FWkuVoHJeHVAcAqiZLE7Je3vZJHxsp"
          "ZdFHfnBEjHqU5hG1Jaj32dVoS6XLT1"},
     }},
};

static void assert_key_equal(const struct bip32_key *a, const struct bip32_key *b)
{
        assert_int_equal(a->depth, b->depth);
        assert_memory_equal(a->parent_fingerprint, b->parent_fingerprint, 4);
        assert_int_equal(a->child_number, b->child_number);
        assert_memory_equal(a->chain_code, b->chain_code, 32);
        assert_int_equal(a->has_private, b->has_private);
        if (a->has_private)
                assert_memory_equal(a->private_key, b->private_key, 32);
        assert_memory_equal(a->public_key, b->public_key, BIP32_PUBKEY_SIZE);
}

static void test_vectors_derive(void **state)
{
        for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
                uint8_t seed[64];
                size_t slen = strlen(vectors[v].seed) / 2;
                struct bip32_key m, k, prev;
                assert_int_equal(hex_decode(vectors[v].seed, seed, slen), 0);
                assert_int_equal(bip32_master_from_seed(seed, slen, &m), 0);
                for (size_t s = 0; s < 6 && vectors[v].steps[s].path; s++) {
                        const struct step *st = &vectors[v].steps[s];
                        char x[BIP32_XKEY_STR_MAX];
                        struct dbx_error err = {0};
                        assert_int_equal(bip32_derive_path(&m, st->path, &k, &err), 0);
                        assert_int_equal(bip32_serialize(&k, &bip32_bitcoin, true, x, sizeof(x)),
                                         0);
                        assert_string_equal(x, st->xprv);
                        assert_int_equal(bip32_serialize(&k, &bip32_bitcoin, false, x, sizeof(x)),
                                         0);
                        assert_string_equal(x, st->xpub);
                        /* Step by step from the previous key gives the same. */
                        if (s > 0) {
                                struct bip32_key c;
                                assert_int_equal(bip32_derive_child(&prev, k.child_number, &c), 0);
                                assert_key_equal(&c, &k);
                        }
                        prev = k;
                }
        }
}

/* For every non-hardened step, deriving from the parent's xpub alone gives
 * the child's xpub (CKDpub = neuter(CKDpriv)). */
static void test_vectors_public_derivation(void **state)
{
        size_t checked = 0;
        for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++)
                for (size_t s = 1; s < 6 && vectors[v].steps[s].path; s++) {
                        const struct step *st = &vectors[v].steps[s];
                        struct bip32_key parent, child;
                        const struct bip32_network *net = NULL;
                        char x[BIP32_XKEY_STR_MAX];
                        uint32_t idx[BIP32_PATH_MAX];
                        int n = bip32_path_parse(st->path, idx, BIP32_PATH_MAX, NULL);
                        assert_true(n > 0);
                        if (idx[n - 1] & BIP32_HARDENED) {
                                assert_int_equal(bip32_parse(vectors[v].steps[s - 1].xpub, NULL,
                                                             &parent, &net, NULL),
                                                 0);
                                assert_int_equal(bip32_derive_child(&parent, idx[n - 1], &child),
                                                 -EINVAL);
                                continue;
                        }
                        assert_int_equal(
                            bip32_parse(vectors[v].steps[s - 1].xpub, NULL, &parent, &net, NULL),
                            0);
                        assert_ptr_equal(net, &bip32_bitcoin);
                        assert_false(parent.has_private);
                        assert_int_equal(bip32_derive_child(&parent, idx[n - 1], &child), 0);
                        assert_false(child.has_private);
                        assert_int_equal(bip32_serialize(&child, net, false, x, sizeof(x)), 0);
                        assert_string_equal(x, st->xpub);
                        assert_int_equal(bip32_serialize(&child, net, true, x, sizeof(x)), -EINVAL);
                        checked++;
                }
        assert_int_equal(checked, 6);
}

static void test_parse_roundtrip(void **state)
{
        for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++)
                for (size_t s = 0; s < 6 && vectors[v].steps[s].path; s++) {
                        const struct step *st = &vectors[v].steps[s];
                        struct bip32_key k, pub;
                        char x[BIP32_XKEY_STR_MAX];
                        struct dbx_error err = {0};
                        assert_int_equal(bip32_parse(st->xprv, NULL, &k, NULL, &err), 0);
                        assert_true(k.has_private);
                        assert_int_equal(bip32_serialize(&k, &bip32_bitcoin, true, x, sizeof(x)),
                                         0);
                        assert_string_equal(x, st->xprv);
                        /* The public key computed from the private one matches
                         * the xpub's. */
                        assert_int_equal(bip32_parse(st->xpub, NULL, &pub, NULL, &err), 0);
                        assert_memory_equal(pub.public_key, k.public_key, BIP32_PUBKEY_SIZE);
                        bip32_neuter(&k, &k);
                        assert_key_equal(&k, &pub);
                }
}

static void test_fingerprint(void **state)
{
        struct bip32_key m, c;
        uint8_t seed[16], fp[4];
        assert_int_equal(hex_decode(vectors[0].seed, seed, sizeof(seed)), 0);
        assert_int_equal(bip32_master_from_seed(seed, sizeof(seed), &m), 0);
        bip32_fingerprint(&m, fp);
        assert_int_equal(fp[0], 0x34);
        assert_int_equal(fp[1], 0x42);
        assert_int_equal(fp[2], 0x19);
        assert_int_equal(fp[3], 0x3e);
        assert_int_equal(bip32_derive_child(&m, BIP32_HARDENED, &c), 0);
        assert_memory_equal(c.parent_fingerprint, fp, 4);
        assert_int_equal(c.depth, 1);
        assert_int_equal(c.child_number, BIP32_HARDENED);
}

/* Vector 5: every one of these must be rejected. */
static const struct {
        const char *key;
        const char *why; /* substring of the message */
} invalid[] = {
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZa"
     "fEz7mnzBBsz4wKY5fTtTQBm",
     "public extended key: key data must start with 0x02 or 0x03"}, /* pub version, prv key */
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5"
     "cxi9gafk7NF3pnBju6dwKvH",
     "private extended key: key data must start with 0x00"}, /* prv version, pub key */
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62T"
     "G4McvMGcAUjeuwZdduYEvFn",
     "found 0x04"}, /* invalid pubkey prefix 04 */
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXu"
     "WCmTQLxEK9vbz5gPstX92JQ",
     "found 0x04"}, /* invalid prvkey prefix 04 */
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJ"
     "JwpzZS4HS2fxvyYUA4q2Xe4",
     "found 0x01"}, /* invalid pubkey prefix 01 */
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gk"
     "Z6Eq3Rjuahrv17fEQ3Qen6J",
     "found 0x01"}, /* invalid prvkey prefix 01 */
    {"xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZ"
     "zCHshoQnNf4GvELZfqTUrcv",
     "non-zero parent fingerprint"}, /* depth 0, parent fingerprint set */
    {"xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewA"
     "TdCEebj6znwMfQkhRYHRLpJ",
     "non-zero parent fingerprint"},
    {"xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePm"
     "jzsB3eFKSUEh3Gu1N3cqVUN",
     "non-zero child index"}, /* depth 0, index set */
    {"xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjN"
     "DRmXzSZe4c7mnTK97pTvGS8",
     "non-zero child index"},
    {"DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6S"
     "t24UVf2Qgo6oujFktLHdHY4",
     "unknown extended key version"},
    {"DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwV"
     "bbNfvT2MTcAqj3nesx8uBf9",
     "unknown extended key version"},
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52"
     "uPPxFnfoLZB21Teqt1VvEHx",
     "not in 1..n-1"}, /* private key 0 */
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr"
     "24z3aiUvKr9bJpdrcLg1y3G",
     "not in 1..n-1"}, /* private key n */
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1"
     "xefsM58PgBMrvdYre8QyULY",
     "not on the curve"}, /* pubkey 020000...07 */
    {"xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRN"
     "NU3TGtRBeJgk33yuGBxrMPHL",
     "checksum does not match"},
    /* Beyond vector 5: not Base58, wrong length, empty. */
    {"xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRN"
     "NU3TGtRBeJgk33yuGBxrMP0i",
     "outside the Base58 alphabet"},
    {"1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", "wrong length; expected 78 bytes"},
    {"", "extended key is empty"},
};

static void test_vector5_invalid(void **state)
{
        for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
                struct bip32_key k;
                struct dbx_error err = {0};
                int r = bip32_parse(invalid[i].key, NULL, &k, NULL, &err);
                if (r >= 0 || !strstr(err.message, invalid[i].why))
                        fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, r, err.message,
                                 invalid[i].why);
                assert_int_equal(err.code, r);
        }
}

static void test_networks(void **state)
{
        /* The same key as dgpv/dgub: version bytes 0x02fac398/0x02facafd,
         * and the strings start with "dgpv"/"dgub" at every depth. */
        uint8_t seed[16];
        struct bip32_key m, k, back;
        const struct bip32_network *net = NULL;
        const struct bip32_network *only_btc[] = {&bip32_bitcoin, NULL};
        char x[BIP32_XKEY_STR_MAX], y[BIP32_XKEY_STR_MAX];
        struct dbx_error err = {0};
        assert_int_equal(hex_decode(vectors[0].seed, seed, sizeof(seed)), 0);
        assert_int_equal(bip32_master_from_seed(seed, sizeof(seed), &m), 0);
        const char *paths[] = {"m", "m/1000'", "m/1000'/2'", "m/1000'/2'/1'", "m/0/1/2/3/4/5"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                assert_int_equal(bip32_derive_path(&m, paths[i], &k, &err), 0);
                assert_int_equal(bip32_serialize(&k, &bip32_dogecoin, true, x, sizeof(x)), 0);
                assert_memory_equal(x, "dgpv", 4);
                assert_int_equal(bip32_parse(x, NULL, &back, &net, &err), 0);
                assert_ptr_equal(net, &bip32_dogecoin);
                assert_key_equal(&back, &k);
                assert_int_equal(bip32_serialize(&k, &bip32_dogecoin, false, y, sizeof(y)), 0);
                assert_memory_equal(y, "dgub", 4);
                /* Restricting the accepted networks rejects Dogecoin keys. */
                assert_int_equal(bip32_parse(x, only_btc, &back, &net, &err), -EPROTONOSUPPORT);
                assert_non_null(strstr(err.message, "0x02fac398"));
        }
        /* Buffer too small. */
        assert_int_equal(bip32_serialize(&m, &bip32_dogecoin, true, x, 100), -ENOBUFS);
}

static const struct {
        const char *path;
        int count; /* or negative errno */
        const char *message;
} paths[] = {
    {"m", 0, NULL},
    {"M", 0, NULL},
    {"m/0", 1, NULL},
    {"m/1000'/2'/3'", 3, NULL},
    {"m/1000h/2H/3", 3, NULL},
    {"1000'/2'", 2, NULL},
    {"m/2147483647'", 1, NULL},
    {"", -EINVAL, "empty"},
    {"m/", -EINVAL, "component 1 is not a number"},
    {"m//1", -EINVAL, "component 1 is not a number"},
    {"m/1/", -EINVAL, "component 2 is not a number"},
    {"m1", -EINVAL, "expected \"/\" after \"m\""},
    {"m/2147483648", -ERANGE, "component 1 is out of range; expected 0 to 2147483647"},
    {"m/0/99999999999999999999", -ERANGE, "component 2 is out of range"},
    {"m/-1", -EINVAL, "not a number"},
    {"m/1''", -EINVAL, "unexpected character '''"},
    {"m/1x", -EINVAL, "unexpected character 'x' in component 1"},
    {"m/ 1", -EINVAL, "not a number"},
};

static void test_paths(void **state)
{
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                uint32_t idx[8];
                struct dbx_error err = {0};
                int r = bip32_path_parse(paths[i].path, idx, 8, &err);
                if (r != paths[i].count ||
                    (paths[i].message && !strstr(err.message, paths[i].message)))
                        fail_msg("case %zu \"%s\": got %d \"%s\"", i, paths[i].path, r,
                                 err.message);
        }
        uint32_t idx[3];
        assert_int_equal(bip32_path_parse("m/1000'/2'/3", idx, 3, NULL), 3);
        assert_int_equal(idx[0], BIP32_HARDENED | 1000);
        assert_int_equal(idx[1], BIP32_HARDENED | 2);
        assert_int_equal(idx[2], 3);
        assert_int_equal(bip32_path_parse("m/1/2/3/4", idx, 3, NULL), -E2BIG);
}

static void test_derive_path_errors(void **state)
{
        uint8_t seed[16];
        struct bip32_key m, c, pub;
        struct dbx_error err = {0};
        assert_int_equal(hex_decode(vectors[0].seed, seed, sizeof(seed)), 0);
        assert_int_equal(bip32_master_from_seed(seed, sizeof(seed), &m), 0);
        assert_int_equal(bip32_derive_path(&m, "m/0'", &c, &err), 0);
        /* "m/..." from a non-master key. */
        assert_int_equal(bip32_derive_path(&c, "m/1", &m, &err), -EINVAL);
        assert_non_null(strstr(err.message, "depth 1"));
        /* Relative path from a non-master key is fine. */
        assert_int_equal(bip32_derive_path(&c, "1/2'", &pub, &err), 0);
        assert_int_equal(pub.depth, 3);
        /* Hardened step from a public key. */
        bip32_neuter(&c, &pub);
        assert_int_equal(bip32_derive_path(&pub, "1/2'", &c, &err), -EINVAL);
        assert_non_null(strstr(err.message, "component 2 is hardened, which needs a private key"));
        /* Deeper than 255 levels. */
        c = m;
        c.depth = 254;
        assert_int_equal(bip32_derive_path(&c, "1/2", &pub, &err), -EOVERFLOW);
        c.depth = 255;
        assert_int_equal(bip32_derive_child(&c, 1, &pub), -EOVERFLOW);
}

static void test_seed_lengths(void **state)
{
        uint8_t seed[65] = {0};
        struct bip32_key m;
        assert_int_equal(bip32_master_from_seed(seed, 15, &m), -EINVAL);
        assert_int_equal(bip32_master_from_seed(seed, 65, &m), -EINVAL);
        assert_int_equal(bip32_master_from_seed(seed, 16, &m), 0);
        assert_int_equal(bip32_master_from_seed(seed, 64, &m), 0);
        assert_true(m.has_private);
        assert_int_equal(m.depth, 0);
        bip32_key_wipe(&m);
        assert_false(m.has_private);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_vectors_derive),
            cmocka_unit_test(test_vectors_public_derivation),
            cmocka_unit_test(test_parse_roundtrip),
            cmocka_unit_test(test_fingerprint),
            cmocka_unit_test(test_vector5_invalid),
            cmocka_unit_test(test_networks),
            cmocka_unit_test(test_paths),
            cmocka_unit_test(test_derive_path_errors),
            cmocka_unit_test(test_seed_lengths),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
