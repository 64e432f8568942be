/* Custom metrics that pups push through the pup gateway API
 * (POST /dbx/metrics, docs/api.md "Pup gateway API"): checked against the
 * manifest's metrics, kept in memory in one ring buffer of `history`
 * values per metric, shown in stats and GET /pup/{id}/metrics. Like
 * upstream they are not persisted. */
#include <math.h>
#include "core/macro.h"
#include "pups/internal.h"

struct pup_metric_ring {
        json_t **v;            /* history slots */
        unsigned cap, n, head; /* head: next write position */
        size_t bytes;          /* string bytes held */
};

static const struct manifest_metric *metric_find(const struct manifest *m, const char *name,
                                                 size_t *ret_i)
{
        for (size_t i = 0; m && i < m->n_metrics; i++)
                if (streq(m->metrics[i].name, name)) {
                        *ret_i = i;
                        return &m->metrics[i];
                }
        return NULL;
}

static size_t value_bytes(const json_t *v)
{
        return json_is_string(v) ? json_string_length(v) : 0;
}

/* The stored form of value for metric m, or NULL with errs filled. */
static json_t *coerce(const struct manifest_metric *m, const json_t *value, const char *name,
                      struct dbx_errors *errs)
{
        switch (m->type) {
        case MANIFEST_METRIC_STRING:
                if (!json_is_string(value)) {
                        dbx_errors_add(errs, -EINVAL, name,
                                       "metric %s is a string metric: send {\"value\": \"text\"}",
                                       name);
                        return NULL;
                }
                if (json_string_length(value) > PUPS_METRIC_STRING_MAX) {
                        dbx_errors_add(errs, -E2BIG, name,
                                       "metric %s: %zu bytes, at most %d per value", name,
                                       json_string_length(value), PUPS_METRIC_STRING_MAX);
                        return NULL;
                }
                return json_copy((json_t *)value);
        case MANIFEST_METRIC_INT: {
                if (json_is_integer(value))
                        return json_integer(json_integer_value(value));
                double d = json_is_real(value) ? json_real_value(value) : NAN;
                /* any number, truncated (upstream); but it must fit */
                if (!json_is_real(value) || !isfinite(d) || d >= 9.2e18 || d <= -9.2e18) {
                        dbx_errors_add(errs, -EINVAL, name,
                                       "metric %s is an int metric: send {\"value\": 123}", name);
                        return NULL;
                }
                return json_integer((json_int_t)d);
        }
        case MANIFEST_METRIC_FLOAT:
                if (!json_is_number(value)) {
                        dbx_errors_add(errs, -EINVAL, name,
                                       "metric %s is a float metric: send {\"value\": 1.5}", name);
                        return NULL;
                }
                return json_real(json_number_value(value));
        }
        return NULL;
}

static void ring_init(struct pup *pup)
{
        if (pup->metrics || !pup->manifest || !pup->manifest->n_metrics)
                return;
        pup->n_metrics = pup->manifest->n_metrics;
        pup->metrics = xcalloc(pup->n_metrics, sizeof(*pup->metrics));
        for (size_t i = 0; i < pup->n_metrics; i++) {
                pup->metrics[i].cap = pup->manifest->metrics[i].history;
                pup->metrics[i].v = xcalloc(pup->metrics[i].cap, sizeof(json_t *));
        }
}

/* Bytes the ring will drop when the next value goes in. */
static size_t ring_evicts(const struct pup_metric_ring *r)
{
        return r->n == r->cap ? value_bytes(r->v[r->head]) : 0;
}

static void ring_push(struct pup *pup, struct pup_metric_ring *r, json_t *v)
{
        if (r->n == r->cap) {
                size_t old = value_bytes(r->v[r->head]);
                r->bytes -= old;
                pup->metrics_bytes -= old;
                json_decref(r->v[r->head]);
        } else {
                r->n++;
        }
        r->v[r->head] = v;
        r->bytes += value_bytes(v);
        pup->metrics_bytes += value_bytes(v);
        r->head = (r->head + 1) % r->cap;
}

int pups_metrics_push(struct pups *p, struct pup *pup, const json_t *body, json_t **ret,
                      struct dbx_errors *errs)
{
        const char *name;
        json_t *entry;
        size_t stored = 0;

        if (!json_is_object(body)) {
                dbx_errors_add(errs, -EINVAL, "",
                               "a JSON object {\"<metric>\": {\"value\": ...}, ...} is expected");
                return -EINVAL;
        }
        if (json_object_size(body) > PUPS_METRICS_PUSH_MAX) {
                dbx_errors_add(errs, -E2BIG, "", "%zu metrics in one push (at most %d)",
                               json_object_size(body), PUPS_METRICS_PUSH_MAX);
                return -E2BIG;
        }
        /* check everything first: a push is stored whole or not at all */
        size_t n = json_object_size(body), k = 0;
        _cleanup_free_ json_t **vals = xcalloc(n + 1, sizeof(json_t *));
        _cleanup_free_ size_t *idx = xcalloc(n + 1, sizeof(size_t));
        json_t *ignored = json_array();
        json_object_foreach((json_t *)body, name, entry)
        {
                size_t i = 0;
                const struct manifest_metric *m = metric_find(pup->manifest, name, &i);
                if (!m) {
                        /* upstream ignores undeclared names; we say so */
                        json_array_append_new(ignored, json_string(name));
                        continue;
                }
                json_t *value = json_is_object(entry) ? json_object_get(entry, "value") : NULL;
                if (!value) {
                        dbx_errors_add(errs, -EINVAL, name,
                                       "metric %s: {\"value\": ...} is expected", name);
                        continue;
                }
                json_t *v = coerce(m, value, name, errs);
                if (v) {
                        vals[k] = v;
                        idx[k++] = i;
                }
        }
        ring_init(pup);
        /* the memory a pup's strings may hold is bounded */
        size_t bytes = pup->metrics_bytes;
        for (size_t j = 0; j < k && !errs->n; j++) {
                bytes -= MIN(bytes, ring_evicts(&pup->metrics[idx[j]]));
                bytes += value_bytes(vals[j]);
        }
        if (!errs->n && bytes > PUPS_METRICS_BYTES_MAX)
                dbx_errors_add(errs, -E2BIG, "",
                               "the metrics of %s would hold %zu bytes of text (at most %d): "
                               "push shorter strings",
                               pup->name, bytes, PUPS_METRICS_BYTES_MAX);
        if (errs->n) {
                for (size_t j = 0; j < k; j++)
                        json_decref(vals[j]);
                json_decref(ignored);
                return errs->items[0].code;
        }
        for (size_t j = 0; j < k; j++, stored++)
                ring_push(pup, &pup->metrics[idx[j]], vals[j]);
        *ret = json_pack("{s:I,s:o}", "stored", (json_int_t)stored, "ignored", ignored);
        return 0;
}

json_t *pup_metric_values_json(struct pup *pup, size_t i)
{
        const struct manifest_metric *m = &pup->manifest->metrics[i];
        json_t *a = json_array();
        const struct pup_metric_ring *r =
            pup->metrics && i < pup->n_metrics ? &pup->metrics[i] : NULL;
        unsigned n = r ? MIN(r->n, m->history) : 0; /* history may differ after an upgrade */
        /* oldest first, null for slots never written, history long (upstream) */
        for (unsigned k = 0; k < m->history - n; k++)
                json_array_append_new(a, json_null());
        for (unsigned k = 0; k < n; k++)
                json_array_append(a, r->v[(r->head + r->cap - n + k) % r->cap]);
        return a;
}

void pup_metrics_free(struct pup *pup)
{
        for (size_t i = 0; pup->metrics && i < pup->n_metrics; i++) {
                for (unsigned k = 0; k < pup->metrics[i].cap; k++)
                        json_decref(pup->metrics[i].v[k]);
                free(pup->metrics[i].v);
        }
        free(pup->metrics);
        pup->metrics = NULL;
        pup->n_metrics = 0;
        pup->metrics_bytes = 0;
}
