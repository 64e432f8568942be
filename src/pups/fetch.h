/* The lifecycle's view of sources: look a pup version up in a source's
 * catalog (loop thread) and materialize its payload into a directory (a
 * worker thread). A thin adapter over the sources module so that the
 * lifecycle does not depend on how each kind of source stores pups. */
#pragma once

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include "core/error.h"

struct sources;
struct pup_fetch;

struct pup_source_info {
        char *manifest_json;   /* the version's manifest */
        json_t *source;        /* PupState.source: {"id","name","description","location","type"} */
        uint64_t payload_size; /* bytes to download (0 when unknown / local) */
        void *priv;            /* what pup_fetch_start needs */
};

/* -ENOENT with a message naming what is missing (source, pup, version),
 * -EINVAL when that version is listed but invalid (with its first error). */
int pup_lookup(struct sources *s, const char *source_id, const char *name, const char *version,
               struct pup_source_info *ret, struct dbx_error *err);
void pup_source_info_done(struct pup_source_info *info);

/* Prepare a fetch of info's payload into dest (created; must not exist).
 * Run pup_fetch_run on a worker; then read the outcome on the loop with
 * pup_fetch_result. On failure nothing is left at dest. abort (may be
 * NULL, must outlive the fetch): once set, a download in progress is
 * stopped and the fetch fails with -ECANCELED. */
int pup_fetch_start(struct sources *s, const struct pup_source_info *info, const char *dest,
                    const atomic_bool *abort, struct pup_fetch **ret, struct dbx_error *err);
void pup_fetch_run(struct pup_fetch *f);
int pup_fetch_result(struct pup_fetch *f, struct dbx_error *err);
struct pup_fetch *pup_fetch_free(struct pup_fetch *f);
