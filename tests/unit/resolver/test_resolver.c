/* Table-driven tests for src/resolver: providers (versions, multiple
 * providers, sources, duplicates, hints), automatic selection, checks of
 * the owner's choice, and auto-install plans (transitive, optional deps,
 * cycles, missing providers, limits).
 *
 * A world is written compactly, one pup per row:
 *   state     "ready", "installing" or "cand" (an installable version)
 *   id        installed pups only
 *   source    source id (its location is "loc:" + id)
 *   name, version
 *   provides  "iface@1.0.0 other@2.1.0"
 *   deps      "iface ^1.0.0; other >=2 opt; x 1.0.0 hint=Name@1.0.0"
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/macro.h"
#include "resolver/resolver.h"

#define TPUPS_MAX  10
#define TITEMS_MAX 8
#define TSTR_MAX   64

struct tpup {
        const char *state, *id, *source, *name, *version, *provides, *deps;
};

/* Storage for one parsed world. */
struct tworld {
        struct resolver_pup pups[TPUPS_MAX + 1];
        struct resolver_iface ifaces[TPUPS_MAX + 1][TITEMS_MAX];
        struct resolver_dep deps[TPUPS_MAX + 1][TITEMS_MAX];
        char words[TPUPS_MAX + 1][2 * TITEMS_MAX][5][TSTR_MAX];
        char locs[TPUPS_MAX + 1][TSTR_MAX];
        size_t n;
        struct resolver_world w;
};

static void parse_pup(struct tworld *t, size_t i, const struct tpup *s)
{
        struct resolver_pup *p = &t->pups[i];
        struct dbx_error err = {0};
        memset(p, 0, sizeof(*p));
        p->state = streq(s->state, "ready")        ? RESOLVER_READY
                   : streq(s->state, "installing") ? RESOLVER_INSTALLING
                                                   : RESOLVER_CANDIDATE;
        p->id = s->id;
        p->source_id = s->source;
        snprintf(t->locs[i], TSTR_MAX, "loc:%s", s->source ? s->source : "");
        p->source_location = t->locs[i];
        p->name = s->name;
        p->version = s->version;
        if (semver_parse(s->version, 0, &p->semver, &err) < 0)
                fail_msg("bad version %s in test table: %s", s->version, err.message);
        /* provides: "a@1.0.0 b@2.0.0" */
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", s->provides ? s->provides : "");
        size_t w = 0;
        for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
                char *at = strchr(tok, '@');
                assert_non_null(at);
                *at = 0;
                struct resolver_iface *f = &t->ifaces[i][p->n_ifaces++];
                snprintf(t->words[i][w][0], TSTR_MAX, "%s", tok);
                f->name = t->words[i][w][0];
                w++;
                if (semver_parse(at + 1, 0, &f->version, &err) < 0)
                        fail_msg("bad interface version %s: %s", at + 1, err.message);
        }
        p->ifaces = t->ifaces[i];
        /* deps: "iface constraint [opt] [hint=Name@ver@loc]; ..." */
        snprintf(buf, sizeof(buf), "%s", s->deps ? s->deps : "");
        for (char *save = NULL, *ent = strtok_r(buf, ";", &save); ent;
             ent = strtok_r(NULL, ";", &save)) {
                struct resolver_dep *d = &t->deps[i][p->n_deps++];
                char(*slot)[TSTR_MAX] = t->words[i][w++];
                char *save2 = NULL;
                char *iface = strtok_r(ent, " ", &save2);
                assert_non_null(iface);
                snprintf(slot[0], TSTR_MAX, "%s", iface);
                d->interface = slot[0];
                slot[1][0] = 0;
                /* the constraint runs until "opt" or "hint=" */
                for (char *tok = strtok_r(NULL, " ", &save2); tok;
                     tok = strtok_r(NULL, " ", &save2)) {
                        if (streq(tok, "opt")) {
                                d->optional = true;
                        } else if (!strncmp(tok, "hint=", 5)) {
                                char *name = tok + 5, *ver = strchr(name, '@'), *loc = NULL;
                                if (ver) {
                                        *ver++ = 0;
                                        loc = strchr(ver, '@');
                                        if (loc)
                                                *loc++ = 0;
                                }
                                snprintf(slot[2], TSTR_MAX, "%s", name);
                                for (char *u = slot[2]; *u; u++)
                                        if (*u == '_') /* "Small_Node": names with spaces */
                                                *u = ' ';
                                snprintf(slot[3], TSTR_MAX, "%s", ver ? ver : "");
                                snprintf(slot[4], TSTR_MAX, "%s", loc ? loc : "");
                                d->hint_name = slot[2];
                                d->hint_version = slot[3];
                                d->hint_location = slot[4];
                        } else {
                                size_t l = strlen(slot[1]);
                                snprintf(slot[1] + l, TSTR_MAX - l, "%s%s", l ? " " : "", tok);
                        }
                }
                d->constraint = slot[1];
        }
        p->deps = t->deps[i];
}

static void build(struct tworld *t, const struct tpup *rows)
{
        memset(t, 0, sizeof(*t));
        for (size_t i = 0; rows[i].state; i++) {
                assert_true(i < TPUPS_MAX);
                parse_pup(t, i, &rows[i]);
                t->n++;
        }
        t->w = (struct resolver_world){.pups = t->pups, .n_pups = t->n};
}

/* "source/name@version" of a pup, for comparisons. */
static void label(const struct resolver_pup *p, char *out, size_t size)
{
        if (p->id)
                snprintf(out, size, "%s", p->id);
        else
                snprintf(out, size, "%s/%s@%s", p->source_id, p->name, p->version);
}

static void join(const struct resolver_pup *const *v, size_t n, char *out, size_t size)
{
        size_t len = 0;
        out[0] = 0;
        for (size_t i = 0; i < n; i++) {
                char l[200];
                label(v[i], l, sizeof(l));
                len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", l);
        }
}

/* ---- shared worlds ---- */

static const struct tpup W_BASIC[] = {
    {"ready", "prov1", "main", "Ping Provider", "1.0.0", "ping@1.0.0", ""},
    {"ready", "cons1", "main", "Ping Consumer", "1.0.0", "", "ping ^1.0.0"},
    {"cand", NULL, "main", "Ping Provider", "1.1.0", "ping@1.1.0", ""},
    {"cand", NULL, "main", "Ping Plus", "2.0.0", "ping@1.4.0", ""},
    {"cand", NULL, "other", "Ping Plus", "2.0.0", "ping@1.4.0", ""},
    {"cand", NULL, "other", "Ping Plus", "2.0.0", "ping@1.4.0", ""}, /* listed twice */
    {"cand", NULL, "other", "Old Ping", "3.0.0", "ping@0.9.0", ""},
    {"cand", NULL, "other", "New Ping", "0.1.0", "ping@2.0.0", ""},
    {0},
};

static const struct tpup W_MULTI[] = {
    {"ready", "b2", "main", "Beta", "1.0.0", "ping@1.2.0", ""},
    {"ready", "a1", "main", "Alpha", "1.0.0", "ping@1.0.0", ""},
    {"installing", "c3", "main", "Gamma", "1.0.0", "ping@1.0.0", ""},
    {"ready", "self", "main", "Selfish", "1.0.0", "ping@1.0.0", "ping ^1"},
    {"ready", "v2", "main", "Too New", "1.0.0", "ping@2.0.0", ""},
    {0},
};

/* ---- providers ---- */

static const struct {
        const char *what;
        const struct tpup *world;
        const char *consumer, *iface, *constraint, *hint;
        const char *installed, *installable, *preferred, *auto_selected;
} provider_rows[] = {
    {"caret accepts minor upgrades, refuses 0.x and 2.x; duplicates collapse; the installed "
     "pup's other versions are left out",
     W_BASIC, "cons1", "ping", "^1.0.0", NULL, "prov1",
     "main/Ping Plus@2.0.0 other/Ping Plus@2.0.0", "main/Ping Plus@2.0.0", "prov1"},
    {"exact version", W_BASIC, "cons1", "ping", "1.4.0", NULL, "",
     "main/Ping Plus@2.0.0 other/Ping Plus@2.0.0", "main/Ping Plus@2.0.0", ""},
    {"range across majors", W_BASIC, "cons1", "ping", ">=0.9.0", NULL, "prov1",
     "other/Old Ping@3.0.0 main/Ping Plus@2.0.0 other/Ping Plus@2.0.0 other/New Ping@0.1.0",
     "other/Old Ping@3.0.0", "prov1"},
    {"the hint beats the newest version", W_BASIC, "cons1", "ping", ">=0.9.0", "New Ping@0.1.0",
     "prov1",
     "other/Old Ping@3.0.0 main/Ping Plus@2.0.0 other/Ping Plus@2.0.0 other/New Ping@0.1.0",
     "other/New Ping@0.1.0", "prov1"},
    {"a hint naming another source location does not match", W_BASIC, "cons1", "ping", "^1.0.0",
     "Ping Plus@2.0.0@loc:other", "prov1", "main/Ping Plus@2.0.0 other/Ping Plus@2.0.0",
     "other/Ping Plus@2.0.0", "prov1"},
    {"a hint that matches nothing falls back to the newest", W_BASIC, "cons1", "ping", "^1.0.0",
     "Nope", "prov1", "main/Ping Plus@2.0.0 other/Ping Plus@2.0.0", "main/Ping Plus@2.0.0",
     "prov1"},
    {"nobody provides it", W_BASIC, "cons1", "pong", "^1.0.0", NULL, "", "", "", ""},
    {"several installed: the owner chooses; installing and self are not offered", W_MULTI, "self",
     "ping", "^1.0.0", NULL, "a1 b2", "", "", ""},
    {"one installed after the version filter: chosen automatically", W_MULTI, "self", "ping",
     "~1.2.0", NULL, "b2", "", "", "b2"},
    {"a pup not installed yet sees every installed provider", W_MULTI, NULL, "ping", "^1.0.0", NULL,
     "a1 b2 self", "", "", ""},
    {"a prerelease lower bound accepts the release", W_MULTI, "x", "ping", ">=2.0.0-0", NULL, "v2",
     "", "", "v2"},
};

static void test_providers(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(provider_rows); i++) {
                struct tworld *t = calloc(1, sizeof(*t));
                struct resolver_providers p;
                struct dbx_error err = {0};
                char got[1024], hint[TSTR_MAX] = "", *hv = NULL;
                build(t, provider_rows[i].world);
                struct resolver_dep d = {.interface = provider_rows[i].iface,
                                         .constraint = provider_rows[i].constraint};
                if (provider_rows[i].hint) {
                        snprintf(hint, sizeof(hint), "%s", provider_rows[i].hint);
                        hv = strchr(hint, '@');
                        char *loc = hv ? strchr(hv + 1, '@') : NULL;
                        if (hv)
                                *hv++ = 0;
                        if (loc)
                                *loc++ = 0;
                        d.hint_name = hint;
                        d.hint_version = hv;
                        d.hint_location = loc;
                }
                int r = resolver_providers(&t->w, provider_rows[i].consumer, &d, &p, &err);
                if (r != 0)
                        fail_msg("row %zu (%s): %s", i, provider_rows[i].what, err.message);
                join(p.installed, p.n_installed, got, sizeof(got));
                if (!streq(got, provider_rows[i].installed))
                        fail_msg("row %zu (%s): installed '%s', want '%s'", i,
                                 provider_rows[i].what, got, provider_rows[i].installed);
                join(p.installable, p.n_installable, got, sizeof(got));
                if (!streq(got, provider_rows[i].installable))
                        fail_msg("row %zu (%s): installable '%s', want '%s'", i,
                                 provider_rows[i].what, got, provider_rows[i].installable);
                join(p.preferred ? &p.preferred : NULL, p.preferred ? 1 : 0, got, sizeof(got));
                if (!streq(got, provider_rows[i].preferred))
                        fail_msg("row %zu (%s): preferred '%s', want '%s'", i,
                                 provider_rows[i].what, got, provider_rows[i].preferred);
                const struct resolver_pup *a = resolver_auto_select(&p);
                join(a ? &a : NULL, a ? 1 : 0, got, sizeof(got));
                if (!streq(got, provider_rows[i].auto_selected))
                        fail_msg("row %zu (%s): auto '%s', want '%s'", i, provider_rows[i].what,
                                 got, provider_rows[i].auto_selected);
                resolver_providers_done(&p);
                free(t);
        }
}

static void test_providers_bad_constraint(void **state)
{
        struct tworld *t = calloc(1, sizeof(*t));
        struct resolver_providers p = {0};
        struct dbx_error err = {0};
        build(t, W_BASIC);
        static const char *const bad[] = {"", ">= 1.2 <", "abc", "1.0.0 ||"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct resolver_dep d = {.interface = "ping", .constraint = bad[i]};
                if (resolver_providers(&t->w, "cons1", &d, &p, &err) != -EINVAL)
                        fail_msg("constraint '%s' was accepted", bad[i]);
                assert_non_null(strstr(err.message, "version constraint"));
                assert_non_null(strstr(err.message, "dependency on ping is invalid"));
                assert_int_equal(resolver_provides(&t->pups[0], &d, NULL), -EINVAL);
        }
        struct resolver_dep none = {.interface = "", .constraint = "^1"};
        assert_int_equal(resolver_providers(&t->w, "cons1", &none, &p, &err), -EINVAL);
        assert_non_null(strstr(err.message, "names no interface"));
        free(t);
}

static void test_provides(void **state)
{
        struct tworld *t = calloc(1, sizeof(*t));
        build(t, W_BASIC);
        struct resolver_dep d = {.interface = "ping", .constraint = "^1.0.0"};
        assert_int_equal(resolver_provides(&t->pups[0], &d, NULL), 1);
        assert_int_equal(resolver_provides(&t->pups[1], &d, NULL), 0); /* provides nothing */
        assert_int_equal(resolver_provides(&t->pups[6], &d, NULL), 0); /* 0.9.0 */
        d.interface = "PING";                                          /* case-sensitive */
        assert_int_equal(resolver_provides(&t->pups[0], &d, NULL), 0);
        free(t);
}

/* ---- the owner's choice ---- */

static const struct {
        const char *what, *consumer, *constraint, *provider;
        int rc;
        const char *msg;
} check_rows[] = {
    {"a ready provider at an accepted version", "self", "^1.0.0", "a1", 0, NULL},
    {"unknown pup", "self", "^1.0.0", "nope", -ENOENT, "no installed pup 'nope' to provide ping"},
    {"empty id", "self", "^1.0.0", "", -ENOENT, "no installed pup ''"},
    {"itself", "self", "^1.0.0", "self", -EINVAL, "Selfish cannot provide ping to itself"},
    {"still installing", "self", "^1.0.0", "c3", -EINVAL, "Gamma (c3) is still being installed"},
    {"wrong version", "self", "^1.0.0", "v2", -EINVAL,
     "Too New (v2) provides ping 2.0.0, which does not satisfy \"^1.0.0\""},
    {"exact version pins", "self", "1.0.0", "b2", -EINVAL,
     "Beta (b2) provides ping 1.2.0, which does not satisfy \"1.0.0\""},
    {"bad constraint", "self", ">=", "a1", -EINVAL, "is invalid"},
};

static const struct tpup W_CHECK[] = {
    {"ready", "b2", "main", "Beta", "1.0.0", "ping@1.2.0", ""},
    {"ready", "a1", "main", "Alpha", "1.0.0", "ping@1.0.0", ""},
    {"installing", "c3", "main", "Gamma", "1.0.0", "ping@1.0.0", ""},
    {"ready", "self", "main", "Selfish", "1.0.0", "ping@1.0.0", "ping ^1"},
    {"ready", "v2", "main", "Too New", "1.0.0", "ping@2.0.0", ""},
    {"ready", "np", "main", "No Ping", "1.0.0", "pong@1.0.0", ""},
    {0},
};

static void test_check_provider(void **state)
{
        struct tworld *t = calloc(1, sizeof(*t));
        build(t, W_CHECK);
        for (size_t i = 0; i < ARRAY_SIZE(check_rows); i++) {
                struct dbx_error err = {0};
                const struct resolver_pup *got = NULL;
                struct resolver_dep d = {.interface = "ping",
                                         .constraint = check_rows[i].constraint};
                int r = resolver_check_provider(&t->w, check_rows[i].consumer, &d,
                                                check_rows[i].provider, &got, &err);
                if (r != check_rows[i].rc)
                        fail_msg("row %zu (%s): rc %d want %d (%s)", i, check_rows[i].what, r,
                                 check_rows[i].rc, err.message);
                if (r == 0)
                        assert_string_equal(got->id, check_rows[i].provider);
                else if (!strstr(err.message, check_rows[i].msg))
                        fail_msg("row %zu (%s): message '%s' lacks '%s'", i, check_rows[i].what,
                                 err.message, check_rows[i].msg);
        }
        struct dbx_error err = {0};
        struct resolver_dep d = {.interface = "ping", .constraint = "^1"};
        assert_int_equal(resolver_check_provider(&t->w, "self", &d, "np", NULL, &err), -EINVAL);
        assert_string_equal(err.message, "No Ping (np) does not provide ping");
        assert_string_equal(err.path, "ping");
        free(t);
}

/* ---- plans ---- */

static const struct tpup W_CHAIN[] = {
    /* root: the app, needs a wallet, which needs a node, which needs nothing */
    {"cand", NULL, "main", "App", "1.0.0", "", "wallet ^1; logs ^1 opt"},
    {"cand", NULL, "main", "Wallet", "1.0.0", "wallet@1.0.0", "node ^2"},
    {"cand", NULL, "main", "Wallet", "1.2.0", "wallet@1.2.0", "node ^2"},
    {"cand", NULL, "third", "Node", "2.1.0", "node@2.1.0", ""},
    {"cand", NULL, "main", "Logger", "1.0.0", "logs@1.0.0", ""},
    {0},
};

static const struct tpup W_SHARED[] = {
    /* two dependencies of the root need the same node: it is planned once */
    {"cand", NULL, "main", "App", "1.0.0", "", "wallet ^1; explorer ^1"},
    {"cand", NULL, "main", "Wallet", "1.0.0", "wallet@1.0.0", "node ^2"},
    {"cand", NULL, "main", "Explorer", "1.0.0", "explorer@1.0.0", "node ^2"},
    {"cand", NULL, "main", "Node", "2.0.0", "node@2.0.0", ""},
    {0},
};

static const struct tpup W_INSTALLED[] = {
    {"cand", NULL, "main", "App", "1.0.0", "", "wallet ^1"},
    {"cand", NULL, "main", "Wallet", "1.0.0", "wallet@1.0.0", "node ^2"},
    {"installing", "n1", "main", "Node", "2.0.0", "node@2.0.0", ""},
    {"cand", NULL, "main", "Node", "2.5.0", "node@2.5.0", ""},
    {0},
};

static const struct tpup W_SATISFIED[] = {
    {"cand", NULL, "main", "App", "1.0.0", "", "wallet ^1"},
    {"ready", "w1", "main", "Wallet", "1.0.0", "wallet@1.0.0", "node ^2"},
    {"cand", NULL, "main", "Wallet", "1.1.0", "wallet@1.1.0", "node ^2"},
    {0},
};

static const struct tpup W_CYCLE[] = {
    {"cand", NULL, "main", "A", "1.0.0", "a@1.0.0", "b ^1"},
    {"cand", NULL, "main", "B", "1.0.0", "b@1.0.0", "c ^1"},
    {"cand", NULL, "main", "C", "1.0.0", "c@1.0.0", "a ^1"},
    {0},
};

static const struct tpup W_CYCLE_BROKEN[] = {
    /* the same cycle, but an installed pup provides a: no cycle needed */
    {"cand", NULL, "main", "A", "1.0.0", "a@1.0.0", "b ^1"},
    {"cand", NULL, "main", "B", "1.0.0", "b@1.0.0", "c ^1"},
    {"cand", NULL, "main", "C", "1.0.0", "c@1.0.0", "a ^1"},
    {"ready", "a2", "other", "Another A", "1.0.0", "a@1.1.0", ""},
    {0},
};

static const struct tpup W_OPT_CYCLE[] = {
    /* an optional dependency back to the root is no cycle */
    {"cand", NULL, "main", "A", "1.0.0", "a@1.0.0", "b ^1"},
    {"cand", NULL, "main", "B", "1.0.0", "b@1.0.0", "a ^1 opt"},
    {0},
};

static const struct tpup W_SELF_CYCLE[] = {
    {"cand", NULL, "main", "A", "1.0.0", "a@1.0.0", "b ^1"},
    {"cand", NULL, "main", "B", "1.0.0", "b@1.0.0", "a ^1"},
    {0},
};

static const struct tpup W_INSTALLED_ROOT_CYCLE[] = {
    /* an installed root with a missing dependency whose provider needs the root */
    {"ready", "r1", "main", "Root", "1.0.0", "r@1.0.0", "s ^1"},
    {"cand", NULL, "main", "Svc", "1.0.0", "s@1.0.0", "r ^1"},
    {0},
};

static const struct tpup W_MISSING[] = {
    {"cand", NULL, "main", "App", "1.0.0", "", "wallet ^1; ghost ^1; old ^3"},
    {"cand", NULL, "main", "Wallet", "1.0.0", "wallet@1.0.0", "phantom 1.0.0"},
    {"cand", NULL, "main", "Old", "1.0.0", "old@2.0.0", ""},
    {0},
};

static const struct tpup W_HINT[] = {
    {"cand", NULL, "main", "App", "1.0.0", "", "node ^1 hint=Small_Node@1.0.0@loc:b"},
    {"cand", NULL, "a", "Big Node", "9.0.0", "node@1.9.0", ""},
    {"cand", NULL, "b", "Small Node", "1.0.0", "node@1.0.0", ""},
    {"cand", NULL, "c", "Small Node", "1.0.0", "node@1.0.0", ""},
    {0},
};

static const struct tpup W_SOURCES[] = {
    /* each step comes from its own source, not the root's */
    {"cand", NULL, "root-src", "App", "1.0.0", "", "x ^1"},
    {"cand", NULL, "x-src", "X", "1.0.0", "x@1.0.0", "y ^1"},
    {"cand", NULL, "y-src", "Y", "1.0.0", "y@1.0.0", ""},
    {0},
};

static const struct {
        const char *what;
        const struct tpup *world;
        size_t root;
        int rc;
        const char *steps;   /* "source/name@version>interface>for" */
        const char *missing; /* "interface constraint for" */
        const char *msg;
} plan_rows[] = {
    {"transitive, newest version, optional deps skipped", W_CHAIN, 0, 0,
     "third/Node@2.1.0>node>Wallet main/Wallet@1.2.0>wallet>App", "", NULL},
    {"a shared dependency is planned once", W_SHARED, 0, 0,
     "main/Node@2.0.0>node>Wallet main/Wallet@1.0.0>wallet>App "
     "main/Explorer@1.0.0>explorer>App",
     "", NULL},
    {"an installing pup satisfies; no second version of it", W_INSTALLED, 0, 0,
     "main/Wallet@1.0.0>wallet>App", "", NULL},
    {"an installed provider: nothing to install, no upgrade", W_SATISFIED, 0, 0, "", "", NULL},
    {"a three-pup cycle", W_CYCLE, 0, -ELOOP, "", "",
     "dependency cycle: A needs b from B, B needs c from C, C needs a from A"},
    {"an installed provider breaks the cycle", W_CYCLE_BROKEN, 0, 0,
     "main/C@1.0.0>c>B main/B@1.0.0>b>A", "", NULL},
    {"optional dependencies do not make cycles", W_OPT_CYCLE, 0, 0, "main/B@1.0.0>b>A", "", NULL},
    {"a two-pup cycle", W_SELF_CYCLE, 0, -ELOOP, "", "",
     "dependency cycle: A needs b from B, B needs a from A"},
    {"a cycle through an installed root", W_INSTALLED_ROOT_CYCLE, 0, -ELOOP, "", "",
     "Root needs s from Svc, Svc needs r from Root"},
    {"missing providers are listed, the rest is planned", W_MISSING, 0, 0,
     "main/Wallet@1.0.0>wallet>App", "phantom 1.0.0 Wallet;ghost ^1 App;old ^3 App", NULL},
    {"the hint picks provider and source", W_HINT, 0, 0, "b/Small Node@1.0.0>node>App", "", NULL},
    {"each step from its own source", W_SOURCES, 0, 0, "y-src/Y@1.0.0>y>X x-src/X@1.0.0>x>App", "",
     NULL},
};

static void test_plan(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(plan_rows); i++) {
                struct tworld *t = calloc(1, sizeof(*t));
                struct resolver_plan plan;
                struct dbx_error err = {0};
                char got[1024];
                size_t len = 0;
                build(t, plan_rows[i].world);
                int r = resolver_plan(&t->w, &t->pups[plan_rows[i].root], &plan, &err);
                if (r != plan_rows[i].rc)
                        fail_msg("row %zu (%s): rc %d want %d (%s)", i, plan_rows[i].what, r,
                                 plan_rows[i].rc, err.message);
                if (r < 0) {
                        if (!strstr(err.message, plan_rows[i].msg))
                                fail_msg("row %zu (%s): message '%s' lacks '%s'", i,
                                         plan_rows[i].what, err.message, plan_rows[i].msg);
                        free(t);
                        continue;
                }
                got[0] = 0;
                for (size_t k = 0; k < plan.n_steps; k++) {
                        char l[200];
                        label(plan.steps[k].pup, l, sizeof(l));
                        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s>%s>%s",
                                                k ? " " : "", l, plan.steps[k].interface,
                                                plan.steps[k].for_pup->name);
                }
                if (!streq(got, plan_rows[i].steps))
                        fail_msg("row %zu (%s): steps '%s', want '%s'", i, plan_rows[i].what, got,
                                 plan_rows[i].steps);
                got[0] = 0;
                len = 0;
                for (size_t k = 0; k < plan.n_missing; k++)
                        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s %s %s",
                                                k ? ";" : "", plan.missing[k].interface,
                                                plan.missing[k].constraint,
                                                plan.missing[k].for_pup->name);
                if (!streq(got, plan_rows[i].missing))
                        fail_msg("row %zu (%s): missing '%s', want '%s'", i, plan_rows[i].what, got,
                                 plan_rows[i].missing);
                resolver_plan_done(&plan);
                free(t);
        }
}

/* Plans are a pure function of the world: shuffling the input changes nothing. */
static void test_plan_deterministic(void **state)
{
        struct tworld *t = calloc(1, sizeof(*t));
        struct tpup rows[ARRAY_SIZE(W_CHAIN)];
        memcpy(rows, W_CHAIN, sizeof(rows));
        /* reverse every non-root row */
        size_t n = ARRAY_SIZE(W_CHAIN) - 1;
        for (size_t i = 1, j = n - 1; i < j; i++, j--) {
                struct tpup tmp = rows[i];
                rows[i] = rows[j];
                rows[j] = tmp;
        }
        build(t, rows);
        struct resolver_plan plan;
        assert_int_equal(resolver_plan(&t->w, &t->pups[0], &plan, NULL), 0);
        assert_int_equal(plan.n_steps, 2);
        assert_string_equal(plan.steps[0].pup->name, "Node");
        assert_string_equal(plan.steps[1].pup->version, "1.2.0");
        resolver_plan_done(&plan);
        free(t);
}

/* A chain deeper than RESOLVER_DEPTH_MAX and a plan wider than
 * RESOLVER_PLAN_MAX are refused with a message. */
static void test_plan_limits(void **state)
{
        enum { N = RESOLVER_PLAN_MAX + 2 };
        static struct resolver_pup pups[N + 1];
        static struct resolver_iface ifs[N + 1];
        static struct resolver_dep deps[N + 1][N];
        static char names[N + 1][3][32];
        struct dbx_error err = {0};
        struct resolver_plan plan;

        /* deep: pup i needs i+1 */
        memset(pups, 0, sizeof(pups));
        for (size_t i = 0; i < N; i++) {
                snprintf(names[i][0], 32, "P%zu", i);
                snprintf(names[i][1], 32, "if%zu", i);
                snprintf(names[i][2], 32, "if%zu", i + 1);
                ifs[i] = (struct resolver_iface){.name = names[i][1]};
                semver_parse("1.0.0", 0, &ifs[i].version, NULL);
                deps[i][0] = (struct resolver_dep){.interface = names[i][2], .constraint = "^1"};
                pups[i] = (struct resolver_pup){.state = RESOLVER_CANDIDATE,
                                                .source_id = "s",
                                                .name = names[i][0],
                                                .version = "1.0.0",
                                                .ifaces = &ifs[i],
                                                .n_ifaces = 1,
                                                .deps = deps[i],
                                                .n_deps = i + 1 < N ? 1 : 0};
                semver_parse("1.0.0", 0, &pups[i].semver, NULL);
        }
        struct resolver_world w = {.pups = pups, .n_pups = N};
        assert_int_equal(resolver_plan(&w, &pups[0], &plan, &err), -E2BIG);
        assert_string_equal(err.message, "the dependency chain of P0 is deeper than 16 pups");

        /* wide: the root needs every other pup directly */
        for (size_t i = 1; i < N; i++) {
                pups[i].n_deps = 0;
                deps[0][i - 1] =
                    (struct resolver_dep){.interface = names[i][1], .constraint = "^1"};
        }
        pups[0].n_deps = N - 1;
        assert_int_equal(resolver_plan(&w, &pups[0], &plan, &err), -E2BIG);
        assert_string_equal(err.message, "installing P0 would add more than 64 pups");

        /* exactly at the limit is fine */
        pups[0].n_deps = RESOLVER_PLAN_MAX;
        assert_int_equal(resolver_plan(&w, &pups[0], &plan, &err), 0);
        assert_int_equal(plan.n_steps, RESOLVER_PLAN_MAX);
        resolver_plan_done(&plan);

        /* a bad constraint deep in the tree names its pup */
        pups[0].n_deps = 1;
        deps[1][0] = (struct resolver_dep){.interface = "x", .constraint = "~>"};
        pups[1].n_deps = 1;
        assert_int_equal(resolver_plan(&w, &pups[0], &plan, &err), -EINVAL);
        assert_non_null(strstr(err.message, "P1: the version constraint \"~>\""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_providers),   cmocka_unit_test(test_providers_bad_constraint),
            cmocka_unit_test(test_provides),    cmocka_unit_test(test_check_provider),
            cmocka_unit_test(test_plan),        cmocka_unit_test(test_plan_deterministic),
            cmocka_unit_test(test_plan_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
