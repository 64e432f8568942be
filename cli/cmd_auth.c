/* dbx setup, login, logout, passwd: the owner's password and first-run
 * setup from a terminal or a script (docs/api.md, "dbx").
 *
 * Over the admin socket (root) no session is needed, as upstream; over
 * --url, `dbx login` stores a session token in ~/.config/dbx/token (0600,
 * a JSON object url -> token) that later --url calls use when no --token
 * is given. Passwords are read from the terminal without echo, or from a
 * file (--password-file) for scripts; they are never taken as arguments
 * (visible in ps and shell history). */
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "cli/client.h"
#include "cli/commands.h"
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "keys/bip39.h"
#include "keys/keys.h"

#define TOKEN_FILE_MAX    (256 * 1024) /* a token per box: thousands of boxes fit */
#define CONFIRM_WORDS     3            /* words of the recovery phrase asked back */
#define CONFIRM_ATTEMPTS  5            /* per word, then give up */
#define SETUP_SOURCES_MAX 16
#define SSH_KEY_FILE_MAX  16384
#define LINE_MAX_INPUT    (BIP39_INPUT_MAX + 2)

/* --- Stored tokens ------------------------------------------------------- */

static char *token_path(void)
{
        const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (x && *x == '/')
                return xasprintf("%s/dbx/token", x);
        if (home && *home)
                return xasprintf("%s/.config/dbx/token", home);
        return NULL;
}

static char *url_key(const char *url)
{
        char *k = xstrdup(url);
        size_t n = strlen(k);
        while (n > 0 && k[n - 1] == '/')
                k[--n] = 0;
        return k;
}

/* The stored tokens, or an empty object. Files others can read are
 * ignored with a warning, as ssh does with keys. */
static json_t *tokens_load(const char *path, bool warn)
{
        struct stat st;
        _cleanup_free_ char *s = NULL;
        if (!path || stat(path, &st) < 0)
                return json_object();
        if (st.st_mode & 077) {
                if (warn)
                        fprintf(stderr,
                                "dbx: ignoring %s: others can read it (chmod 600 %s, or log in "
                                "again)\n",
                                path, path);
                return json_object();
        }
        if (fs_read_file(path, TOKEN_FILE_MAX, &s, NULL) < 0)
                return json_object();
        json_t *j = json_loads(s, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return json_object();
        }
        return j;
}

static int tokens_save(const char *path, json_t *j)
{
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = 0;
        int r = fs_mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        _cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        return fs_write_atomic(path, s, strlen(s), 0600);
}

char *cmd_auth_stored_token(const char *url)
{
        _cleanup_free_ char *path = token_path(), *key = url_key(url);
        json_t *j = tokens_load(path, true);
        const char *t = json_string_value(json_object_get(j, key));
        char *r = t ? xstrdup(t) : NULL;
        json_decref(j);
        return r;
}

static int token_store(const char *url, const char *token)
{
        _cleanup_free_ char *path = token_path(), *key = url_key(url);
        if (!path) {
                fprintf(stderr, "dbx: $HOME is not set: cannot store the session token\n");
                return -ENOENT;
        }
        json_t *j = tokens_load(path, false);
        if (token)
                json_object_set_new(j, key, json_string(token));
        else
                json_object_del(j, key);
        int r = tokens_save(path, j);
        json_decref(j);
        if (r < 0)
                fprintf(stderr, "dbx: cannot write %s: %s\n", path, strerror(-r));
        return r;
}

/* --- Reading secrets ----------------------------------------------------- */

/* A password file: its content up to the first newline. */
static int read_password_file(const char *path, char *out, size_t size, const char *what)
{
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        int r = fs_read_file(path, size + 2, &s, &len);
        if (r == -EFBIG) {
                fprintf(stderr, "dbx: %s file %s is longer than %zu bytes\n", what, path, size - 1);
                return r;
        }
        if (r < 0) {
                fprintf(stderr, "dbx: cannot read %s file %s: %s\n", what, path, strerror(-r));
                return r;
        }
        len = strcspn(s, "\r\n");
        if (len == 0 || len >= size) {
                sodium_memzero(s, strlen(s));
                fprintf(stderr, "dbx: %s file %s: the first line must hold 1 to %zu bytes\n", what,
                        path, size - 1);
                return -EINVAL;
        }
        memcpy(out, s, len);
        out[len] = 0;
        sodium_memzero(s, strlen(s));
        return 0;
}

/* One line from the terminal, echo off unless echo. */
static int tty_read(const char *prompt, bool echo, char *out, size_t size)
{
        _cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        struct termios old, raw;
        if (fd < 0) {
                fprintf(stderr, "dbx: no terminal to ask on: use --password-file FILE\n");
                return -ENOTTY;
        }
        bool restore = !echo && tcgetattr(fd, &old) == 0;
        if (restore) {
                raw = old;
                raw.c_lflag &= ~(tcflag_t)ECHO;
                raw.c_lflag |= ECHONL;
                tcsetattr(fd, TCSAFLUSH, &raw);
        }
        (void)!write(fd, prompt, strlen(prompt));
        size_t n = 0;
        int r = 0;
        for (;;) {
                char ch;
                ssize_t k = read(fd, &ch, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = n ? 0 : -EIO;
                        break;
                }
                if (ch == '\n' || ch == '\r')
                        break;
                if (n + 1 >= size) {
                        r = -E2BIG;
                        continue; /* swallow the rest of the line */
                }
                out[n++] = ch;
        }
        out[n] = 0;
        if (restore)
                tcsetattr(fd, TCSAFLUSH, &old);
        if (r == -E2BIG) {
                sodium_memzero(out, size);
                fprintf(stderr, "dbx: input longer than %zu bytes\n", size - 1);
        }
        return r;
}

/* The new password: from a file, or typed twice. */
static int new_password(const char *file, char *out, size_t size, const char *label)
{
        char again[KEYS_PASSWORD_MAX + 1];
        if (file)
                return read_password_file(file, out, size, label);
        for (int tries = 0; tries < 3; tries++) {
                char prompt[64];
                snprintf(prompt, sizeof(prompt), "%s: ", label);
                if (tty_read(prompt, false, out, size) < 0)
                        return -EIO;
                if (!*out) {
                        fprintf(stderr, "dbx: the password must not be empty\n");
                        continue;
                }
                if (tty_read("Repeat it: ", false, again, sizeof(again)) < 0)
                        return -EIO;
                bool same = streq(out, again);
                sodium_memzero(again, sizeof(again));
                if (same)
                        return 0;
                fprintf(stderr, "dbx: the two passwords differ; again\n");
        }
        sodium_memzero(out, size);
        fprintf(stderr, "dbx: no password set\n");
        return -EINVAL;
}

/* --- Helpers ------------------------------------------------------------- */

/* request + a message for non-2xx; returns the status or -errno. */
static long call(struct dbx_client *c, const char *method, const char *path, json_t *body,
                 json_t **ret)
{
        long status = 0;
        json_t *j = NULL;
        if (client_request(c, method, path, body, &status, &j, NULL) < 0)
                return -EIO;
        if (ret)
                *ret = j;
        else
                json_decref(j);
        return status;
}

static void print_error(const char *cmd, json_t *j, long status)
{
        char buf[1024];
        fprintf(stderr, "dbx %s: %s\n", cmd, client_error_message(j, status, buf, sizeof(buf)));
}

static void wipe_json_strings(json_t *o)
{
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
        {
                if (json_is_string(v))
                        sodium_memzero((char *)json_string_value(v), json_string_length(v));
        }
}

/* A request that must answer 200: 0 with *ret set, or -1 after printing
 * the error. The strings of body (passwords, phrases) are wiped after it
 * is sent; the caller still owns it. */
static int call_ok(struct dbx_client *c, const char *cmd, const char *method, const char *path,
                   json_t *body, json_t **ret)
{
        json_t *j = NULL;
        long st = call(c, method, path, body, &j);
        if (body)
                wipe_json_strings(body);
        if (st < 0)
                return -1;
        if (st != 200) {
                print_error(cmd, j, st);
                json_decref(j);
                return -1;
        }
        *ret = j;
        return 0;
}

/* Ask for CONFIRM_WORDS random words of the phrase. */
static int confirm_words(json_t *words)
{
        size_t n = json_array_size(words), picked[CONFIRM_WORDS];
        char answer[64];
        printf("\nTo make sure it is written down, type back %d of the words.\n", CONFIRM_WORDS);
        fflush(stdout);
        for (size_t i = 0; i < CONFIRM_WORDS; i++) {
                bool again;
                do {
                        picked[i] = randombytes_uniform((uint32_t)n);
                        again = false;
                        for (size_t k = 0; k < i; k++)
                                again |= picked[k] == picked[i];
                } while (again);
        }
        for (size_t i = 0; i < CONFIRM_WORDS; i++) {
                const char *want = json_string_value(json_array_get(words, picked[i]));
                char prompt[32];
                snprintf(prompt, sizeof(prompt), "Word #%zu: ", picked[i] + 1);
                for (int t = 0;; t++) {
                        if (t == CONFIRM_ATTEMPTS) {
                                fprintf(stderr,
                                        "dbx setup: the words do not match. The master key "
                                        "exists, but setup is not finished: check your copy "
                                        "of the phrase, then run `dbx setup` again to "
                                        "finish\n");
                                return -EINVAL;
                        }
                        if (tty_read(prompt, true, answer, sizeof(answer)) < 0)
                                return -EIO;
                        char *a = answer;
                        while (*a == ' ')
                                a++;
                        for (char *p = a; *p; p++)
                                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
                        a[strcspn(a, " ")] = 0;
                        if (streq(a, want))
                                break;
                        fprintf(stderr, "That is not word #%zu; look again.\n", picked[i] + 1);
                }
        }
        sodium_memzero(answer, sizeof(answer));
        return 0;
}

static bool have_tty(void)
{
        int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* --- dbx setup ----------------------------------------------------------- */

static void setup_usage(FILE *f)
{
        fprintf(f,
                "Usage: dbx setup [--password-file FILE] [--yes] [--source LOCATION]...\n"
                "                 [--no-sources] [--ssh-key-file FILE]\n"
                "\n"
                "First-run setup: creates the owner's password and master key, shows the\n"
                "24-word recovery phrase once, asks for %d of its words back, and finishes\n"
                "setup. Without --password-file the password is asked twice on the terminal.\n"
                "  --yes              do not ask for words back (scripts, tests): the phrase\n"
                "                     is printed once and never again, keep it\n"
                "  --source LOCATION  initial pup source (repeatable); default: the upstream\n"
                "                     source github.com/Dogebox-WG/pups\n"
                "  --no-sources       no initial source\n"
                "  --ssh-key-file F   an SSH public key to record (sshd is the host's)\n",
                CONFIRM_WORDS);
}

int cmd_setup(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"password-file", required_argument, NULL, 'p'},
            {"yes", no_argument, NULL, 'y'},
            {"source", required_argument, NULL, 's'},
            {"no-sources", no_argument, NULL, 'n'},
            {"ssh-key-file", required_argument, NULL, 'k'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *pw_file = NULL, *ssh_file = NULL, *sources[SETUP_SOURCES_MAX];
        size_t nsources = 0;
        bool yes = false, no_sources = false;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (o) {
                case 'p':
                        pw_file = optarg;
                        break;
                case 'y':
                        yes = true;
                        break;
                case 's':
                        if (nsources == SETUP_SOURCES_MAX) {
                                fprintf(stderr, "dbx setup: at most %d --source\n",
                                        SETUP_SOURCES_MAX);
                                return 2;
                        }
                        sources[nsources++] = optarg;
                        break;
                case 'n':
                        no_sources = true;
                        break;
                case 'k':
                        ssh_file = optarg;
                        break;
                case 'h':
                        setup_usage(stdout);
                        return 0;
                default:
                        setup_usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "dbx setup: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (no_sources && nsources) {
                fprintf(stderr, "dbx setup: --source and --no-sources contradict each other\n");
                return 2;
        }
        _cleanup_free_ char *ssh_key = NULL;
        if (ssh_file) {
                size_t len;
                int r = fs_read_file(ssh_file, SSH_KEY_FILE_MAX, &ssh_key, &len);
                if (r < 0) {
                        fprintf(stderr, "dbx setup: cannot read %s: %s\n", ssh_file,
                                r == -EFBIG ? "larger than an SSH public key" : strerror(-r));
                        return 1;
                }
        }

        json_t *j = NULL, *keys = NULL;
        if (call_ok(c, "setup", "GET", "/keys", NULL, &keys) < 0)
                return 1;
        bool has_key = json_array_size(json_object_get(keys, "keys")) > 0;
        json_decref(keys);
        _cleanup_free_ char *token = NULL;

        if (!has_key) {
                if (!yes && !have_tty()) {
                        fprintf(stderr,
                                "dbx setup: no terminal to confirm the recovery phrase on: run it "
                                "interactively, or pass --yes (the phrase is printed once)\n");
                        return 2;
                }
                char pw[KEYS_PASSWORD_MAX + 1];
                if (new_password(pw_file, pw, sizeof(pw), "New owner password") < 0)
                        return 1;
                json_t *body = json_pack("{s:s}", "password", pw);
                sodium_memzero(pw, sizeof(pw));
                int r = call_ok(c, "setup", "POST", "/keys/create-master", body, &j);
                json_decref(body);
                if (r < 0)
                        return 1;
                json_t *words = json_object_get(j, "seedPhrase");
                const char *t = json_string_value(json_object_get(j, "token"));
                token = t ? xstrdup(t) : NULL;
                if (c->json) {
                        json_t *out = json_pack("{s:O}", "seedPhrase", words);
                        client_print_json(out);
                        json_decref(out);
                } else {
                        printf("Your recovery phrase. Write it down and keep it safe: it is the "
                               "only way\nto reset the password, and it is shown only this "
                               "once.\n\n");
                        for (size_t i = 0; i < json_array_size(words); i++)
                                printf("%2zu. %-10s%s", i + 1,
                                       json_string_value(json_array_get(words, i)),
                                       i % 4 == 3 ? "\n" : " ");
                        if (json_array_size(words) % 4)
                                printf("\n");
                }
                fflush(stdout);
                r = yes ? 0 : confirm_words(words);
                for (size_t i = 0; i < json_array_size(words); i++) {
                        json_t *w = json_array_get(words, i);
                        sodium_memzero((char *)json_string_value(w), json_string_length(w));
                }
                json_decref(j);
                if (r < 0)
                        return 1;
                if (c->url && token) {
                        c->token = token;
                        token_store(c->url, token);
                }
        } else if (c->url && !c->token) {
                fprintf(stderr, "dbx setup: this box has a master key already: log in (dbx "
                                "login) to finish setup\n");
                return 1;
        } else if (!c->json) {
                printf("A master key exists already; finishing setup.\n");
        }

        json_t *body = json_object();
        if (no_sources || nsources) {
                json_t *a = json_array();
                for (size_t i = 0; i < nsources; i++)
                        json_array_append_new(a, json_string(sources[i]));
                json_object_set_new(body, "sources", a);
        }
        if (ssh_key)
                json_object_set_new(body, "initialSSHKey", json_string(ssh_key));
        int r = call_ok(c, "setup", "POST", "/system/bootstrap", body, &j);
        json_decref(body);
        if (r < 0)
                return 1;
        json_decref(j);
        if (!c->json)
                printf("Setup complete.%s\n",
                       c->url ? " This dbx is logged in (token in ~/.config/dbx/token)." : "");
        return 0;
}

/* --- dbx login / logout --------------------------------------------------- */

int cmd_login(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"password-file", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *pw_file = NULL;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (o) {
                case 'p':
                        pw_file = optarg;
                        break;
                case 'h':
                        printf("Usage: dbx --url URL login [--password-file FILE]\n"
                               "Log in and keep the session token in ~/.config/dbx/token for "
                               "later --url calls.\n");
                        return 0;
                default:
                        fprintf(stderr, "Usage: dbx --url URL login [--password-file FILE]\n");
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "dbx login: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (!c->url) {
                fprintf(stderr, "dbx login: not needed over the admin socket (root needs no "
                                "password); give --url URL to log in to a dogeboxd over HTTP\n");
                return 2;
        }
        char pw[KEYS_PASSWORD_MAX + 1];
        int r = pw_file ? read_password_file(pw_file, pw, sizeof(pw), "password")
                        : tty_read("Password: ", false, pw, sizeof(pw));
        if (r < 0)
                return 1;
        json_t *body = json_pack("{s:s}", "password", pw), *j = NULL;
        sodium_memzero(pw, sizeof(pw));
        c->token = NULL; /* a stale stored token must not ride along */
        r = call_ok(c, "login", "POST", "/authenticate", body, &j);
        json_decref(body);
        if (r < 0)
                return 1;
        r = token_store(c->url, json_string_value(json_object_get(j, "token")));
        json_decref(j);
        if (r < 0)
                return 1;
        if (!c->json)
                printf("Logged in to %s.\n", c->url);
        return 0;
}

int cmd_logout(struct dbx_client *c, int argc, char **argv)
{
        if (argc > 1) {
                fprintf(stderr, "dbx logout: no arguments expected\n");
                return 2;
        }
        if (!c->url) {
                fprintf(stderr, "dbx logout: nothing to do over the admin socket\n");
                return 2;
        }
        json_t *j = NULL;
        long st = c->token ? call(c, "POST", "/logout", NULL, &j) : 401;
        token_store(c->url, NULL);
        if (st < 0)
                return 1;
        if (st != 200 && st != 401) {
                print_error("logout", j, st);
                json_decref(j);
                return 1;
        }
        json_decref(j);
        if (!c->json)
                printf("Logged out of %s.\n", c->url);
        return 0;
}

/* --- dbx passwd ---------------------------------------------------------- */

int cmd_passwd(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"password-file", required_argument, NULL, 'p'},
            {"seed-phrase-file", required_argument, NULL, 's'},
            {"new-password-file", required_argument, NULL, 'n'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *cur_file = NULL, *seed_file = NULL, *new_file = NULL;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (o) {
                case 'p':
                        cur_file = optarg;
                        break;
                case 's':
                        seed_file = optarg;
                        break;
                case 'n':
                        new_file = optarg;
                        break;
                case 'h':
                        printf("Usage: dbx passwd [--password-file FILE | --seed-phrase-file "
                               "FILE] [--new-password-file FILE]\n"
                               "Change the owner password, proving the current password or the "
                               "recovery\nphrase (also as root: the key is encrypted under the "
                               "password). Every\nsession is logged out.\n");
                        return 0;
                default:
                        fprintf(stderr, "Usage: dbx passwd [--password-file FILE | "
                                        "--seed-phrase-file FILE] [--new-password-file FILE]\n");
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "dbx passwd: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (cur_file && seed_file) {
                fprintf(stderr, "dbx passwd: give the current password or the recovery phrase, "
                                "not both\n");
                return 2;
        }
        _cleanup_(json_decrefp) json_t *body = json_object();
        char secret[LINE_MAX_INPUT];
        int r;
        if (seed_file) {
                r = read_password_file(seed_file, secret, sizeof(secret), "recovery phrase");
                if (r >= 0)
                        json_object_set_new(body, "seedphrase", json_string(secret));
        } else {
                r = cur_file
                        ? read_password_file(cur_file, secret, KEYS_PASSWORD_MAX + 1, "password")
                        : tty_read("Current password: ", false, secret, KEYS_PASSWORD_MAX + 1);
                if (r >= 0)
                        json_object_set_new(body, "current_password", json_string(secret));
        }
        sodium_memzero(secret, sizeof(secret));
        if (r < 0)
                return 1;
        char pw[KEYS_PASSWORD_MAX + 1];
        if (new_password(new_file, pw, sizeof(pw), "New password") < 0) {
                wipe_json_strings(body);
                return 1;
        }
        json_object_set_new(body, "new_password", json_string(pw));
        sodium_memzero(pw, sizeof(pw));
        json_t *j = NULL;
        if (call_ok(c, "passwd", "POST", "/change-password", body, &j) < 0)
                return 1;
        const char *token = json_string_value(json_object_get(j, "token"));
        if (c->url && token)
                token_store(c->url, token);
        json_decref(j);
        if (!c->json)
                printf("Password changed; every session was logged out%s.\n",
                       c->url && token ? " (this dbx has a new one)" : "");
        return 0;
}
