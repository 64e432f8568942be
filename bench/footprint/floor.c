/* bench/footprint/floor.c: the memory floor of the libraries DESIGN.md keeps
 * inside the daemon process. Built at LEVEL 0..4 by bench/footprint/run; each
 * level adds libraries (cumulative), initialises them the way the daemon
 * does, then prints VmRSS after the process has settled.
 *   0  libc only
 *   1  + libsystemd (sd-event loop with a timer)
 *   2  + libmicrohttpd (external-epoll daemon on a port; Debian builds it
 *        with GnuTLS, which it loads with its own dependencies)
 *   3  + SQLite (a WAL database) + jansson
 *   4  + libnftables, libsodium, libsecp256k1 (firewall, auth, keys) */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if LEVEL >= 1
#include <systemd/sd-event.h>
#endif
#if LEVEL >= 2
#include <microhttpd.h>
#endif
#if LEVEL >= 3
#include <jansson.h>
#include <sqlite3.h>
#endif
#if LEVEL >= 4
#include <nftables/libnftables.h>
#include <secp256k1.h>
#include <sodium.h>
#endif

#if LEVEL >= 2
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **state)
{
        (void)cls, (void)c, (void)url, (void)method, (void)version, (void)data, (void)size;
        (void)state;
        return MHD_NO;
}
#endif

static long rss_kib(void)
{
        char line[256];
        long kib = -1;
        FILE *f = fopen("/proc/self/status", "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "VmRSS:", 6))
                        sscanf(line + 6, "%ld", &kib);
        fclose(f);
        return kib;
}

int main(int argc, char **argv)
{
        const char *dir = argc > 1 ? argv[1] : "/tmp";
        (void)dir;
#if LEVEL >= 1
        sd_event *e = NULL;
        if (sd_event_default(&e) < 0)
                return 1;
        sd_event_source *t = NULL;
        if (sd_event_add_time_relative(e, &t, CLOCK_MONOTONIC, 1000000, 0, NULL, NULL) < 0)
                return 1;
#endif
#if LEVEL >= 2
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
                                                handler, NULL, MHD_OPTION_END);
        if (!d)
                return 1;
#endif
#if LEVEL >= 3
        char path[4096];
        sqlite3 *db = NULL;
        snprintf(path, sizeof(path), "%s/floor.db", dir);
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(k TEXT, v TEXT);"
                         "INSERT INTO t VALUES ('a', 'b'); SELECT * FROM t;",
                         NULL, NULL, NULL) != SQLITE_OK)
                return 1;
        json_t *j = json_loads("{\"a\": [1, 2, {\"b\": null}]}", 0, NULL);
        if (!j)
                return 1;
        json_decref(j);
#endif
#if LEVEL >= 4
        struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!nft || sodium_init() < 0)
                return 1;
        secp256k1_context *secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
        if (!secp)
                return 1;
#endif
        sleep(1);
        printf("%ld\n", rss_kib());
        return 0;
}
