/* The HTTP source index (docs/sources.md): one JSON document listing a
 * source's pups and, per version, the manifest inline, a logo and the
 * archive to download; optionally signed with Ed25519 in a detached
 * "<index URL>.sig". Pure: no I/O, no logging (the fuzz target and the
 * catalog benchmark call it directly).
 *
 * Two kinds of problems: the index as a whole (not JSON, unknown format,
 * bad id, structure that makes entries unidentifiable, duplicates) fails
 * the parse with every error listed; a problem confined to one version
 * (its manifest, logo or archive) marks that version invalid with its
 * errors and the rest of the index stays usable. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "manifest/manifest.h"
#include "sources/catalog.h"

#define INDEX_FORMAT   1                   /* "dogeboxIndex": 1 */
#define INDEX_SIZE_MAX (32u * 1024 * 1024) /* an index of 10,000 versions is ~15 MiB */
/* Nesting: index object > pups > pup > versions > version > manifest. */
#define INDEX_DEPTH_MAX        (MANIFEST_DEPTH_MAX + 5)
#define INDEX_PUPS_MAX         5000         /* distinct pups in one index */
#define INDEX_VERSIONS_MAX     1000         /* versions of one pup */
#define INDEX_LOGO_MAX         (256 * 1024) /* decoded logo bytes; real ones are < 64 KiB */
#define INDEX_URL_MAX          2048
#define INDEX_ARCHIVE_SIZE_MAX (4ULL << 30) /* one pup archive, compressed */
#define INDEX_WARNINGS_MAX     50
#define INDEX_PUBKEY_BYTES     32 /* Ed25519 */
#define INDEX_SIG_BYTES        64
#define INDEX_PUBKEY_HEX       (2 * INDEX_PUBKEY_BYTES)
#define INDEX_SIG_TEXT_MAX     1024 /* the .sig file: 128 hex characters and whitespace */

/* Parse and validate an index of len bytes. On success returns 0, *ret
 * (a finished catalog; archive URLs as written, relative ones are resolved
 * by the caller) and, if the index declares one, *ret_pubkey (64 lowercase
 * hex characters, caller frees; NULL otherwise). On failure returns
 * -EINVAL or -E2BIG with every problem in errs; outputs untouched. */
int index_parse(const char *buf, size_t len, struct catalog **ret, char **ret_pubkey,
                struct dbx_errors *errs);

/* An Ed25519 public key as 64 hex characters (either case, surrounding
 * whitespace ignored) into out. -EINVAL with a message otherwise. */
int index_pubkey_parse(const char *text, uint8_t out[INDEX_PUBKEY_BYTES], struct dbx_error *err);

/* Verify that sig (the .sig file: 128 hex characters, surrounding
 * whitespace ignored) is pubkey's Ed25519 signature over the exact bytes
 * of the index. 0, or -EBADMSG with a message saying what is wrong. */
int index_verify(const char *index, size_t len, const char *sig, size_t sig_len,
                 const uint8_t pubkey[INDEX_PUBKEY_BYTES], struct dbx_error *err);

/* Whether a logo string is a data: URL we serve (png, jpeg, gif, webp,
 * svg; base64; at most INDEX_LOGO_MAX bytes decoded). NULL if fine, or why not. */
const char *index_logo_check(const char *logo);

/* Source ids: [A-Za-z0-9][A-Za-z0-9_.-]*, at most MANIFEST_SOURCE_ID_MAX. */
bool index_source_id_valid(const char *id);
