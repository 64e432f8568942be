/* dre: route patterns, nginx.conf rendering, environment, hosts, ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "dre/dre.h"

static void test_route_validate(void **state)
{
        static const struct {
                const char *pattern;
                const char *msg; /* NULL = valid */
        } t[] = {
            {"/", NULL},
            {"/*", NULL},
            {"/nodes", NULL},
            {"/nodes/", NULL},
            {"/api/v1/*", NULL},
            {"/a-b_c.d~e:f@g!h,i+j=k", NULL},
            {"/.well-known/x", NULL},
            {"/..x/y", NULL}, /* "..x" is a name, not ".." */
            {"", "route '' must be 1-256 characters"},
            {"nodes", "route 'nodes' must start with '/'"},
            {"*", "route '*' must start with '/'"},
            {"/a*", "route '/a*': '*' is only allowed as the whole last segment"},
            {"/*/b", "route '/*/b': '*' is only allowed as the whole last segment"},
            {"/a/**", "route '/a/**': '*' is only allowed"},
            {"/a b", "route '/a b': character ' ' is not allowed"},
            {"/a?b=1", "route '/a?b=1': character '?' is not allowed"},
            {"/a%2f", "route '/a%2f': character '%' is not allowed"},
            {"/a;b", "character ';' is not allowed"},
            {"/a\"b", "character '\"' is not allowed"},
            {"/a$b", "character '$' is not allowed"},
            {"/a{b", "character '{' is not allowed"},
            {"/a\\b", "character '\\' is not allowed"},
            {"/a\nb", "character '?' is not allowed"},
            {"/\xc3\xa9", "character '?' is not allowed"},
            {"//a", "route '//a' contains '//'"},
            {"/a//b", "contains '//'"},
            {"/a/./b", "contains a '.' or '..' segment"},
            {"/a/..", "contains a '.' or '..' segment"},
            {"/../a", "contains a '.' or '..' segment"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                struct dbx_error err = {0};
                int r = dre_route_validate(t[i].pattern, &err);
                if (!t[i].msg) {
                        if (r != 0)
                                print_error("'%s': %s\n", t[i].pattern, err.message);
                        assert_int_equal(r, 0);
                } else {
                        assert_int_equal(r, -EINVAL);
                        if (!strstr(err.message, t[i].msg)) {
                                print_error("'%s': '%s' lacks '%s'\n", t[i].pattern, err.message,
                                            t[i].msg);
                                fail();
                        }
                }
        }
        char big[DRE_ROUTE_MAX + 2];
        memset(big, 'a', sizeof(big));
        big[0] = '/';
        big[DRE_ROUTE_MAX] = 0; /* exactly the limit */
        assert_int_equal(dre_route_validate(big, NULL), 0);
        big[DRE_ROUTE_MAX] = 'a';
        big[DRE_ROUTE_MAX + 1] = 0;
        assert_int_equal(dre_route_validate(big, NULL), -EINVAL);
        assert_int_equal(dre_route_validate(NULL, NULL), -EINVAL);
}

static void test_route_match(void **state)
{
        static const struct {
                const char *pattern, *path;
                bool match;
        } t[] = {
            {"/", "/", true},
            {"/", "/a/b/c", true},
            {"/*", "/", true},
            {"/*", "/a", true},
            {"/*", "/a/b", true}, /* upstream's matcher refused exactly this */
            {"/*", "/a/b/c", true},
            {"/nodes", "/nodes", true},
            {"/nodes", "/nodes/", false},
            {"/nodes", "/nodes/1", false},
            {"/nodes", "/nodesx", false},
            {"/nodes", "/Nodes", false},
            {"/nodes", "/", false},
            {"/api/*", "/api/", true},
            {"/api/*", "/api/x", true},
            {"/api/*", "/api/x/y/z", true},
            {"/api/*", "/api", false},
            {"/api/*", "/apix", false},
            {"/api/*", "/apix/y", false},
            {"/api/", "/api/x", true},
            {"/api/", "/api", false},
            {"/a.b", "/a.b", true},
            {"/a.b", "/aXb", false}, /* '.' is literal */
            {"/a+b", "/a+b", true},
            {"/a+b", "/aab", false},
            {"/api/*", "api/x", false}, /* not a path */
            {"/api/*", "", false},
            {"bad", "/bad", false}, /* invalid patterns never match */
            {"/x*", "/xy", false},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                if (dre_route_match(t[i].pattern, t[i].path) != t[i].match) {
                        print_error("'%s' vs '%s': expected %d\n", t[i].pattern, t[i].path,
                                    t[i].match);
                        fail();
                }
        }
        assert_false(dre_route_match("/", NULL));
}

/* ---- nginx.conf ---- */

struct fixture {
        const char *routes_a[3];
        struct dre_consumer cons[2];
        uint16_t tcp[1];
        struct dre_binding b[2];
        struct dre_webui w[1];
        const char *listen[2];
        struct dre_nginx_conf c;
};

static void fixture_init(struct fixture *f)
{
        memset(f, 0, sizeof(*f));
        f->routes_a[0] = "/nodes";
        f->routes_a[1] = "/api/*";
        f->routes_a[2] = "/nodes"; /* duplicates collapse */
        f->cons[0] = (struct dre_consumer){"wallet", "10.69.0.5", f->routes_a, 3};
        f->cons[1] = (struct dre_consumer){"map", "10.69.0.40", NULL, 0};
        f->tcp[0] = 22555;
        f->b[0] = (struct dre_binding){.interface = "core-rpc",
                                       .provider_id = "core",
                                       .provider_ip = "10.69.0.2",
                                       .service_addr = "10.69.192.7",
                                       .http_port = 22555,
                                       .tcp_ports = f->tcp,
                                       .n_tcp_ports = 1,
                                       .consumers = f->cons,
                                       .n_consumers = 2};
        f->b[1] = (struct dre_binding){.interface = "dogenet-web-api",
                                       .provider_id = "dogenet",
                                       .provider_ip = "10.69.0.3",
                                       .service_addr = "10.69.192.3",
                                       .http_port = 8080};
        f->w[0] = (struct dre_webui){"map", "website", 10000, "10.69.0.40", 8080};
        f->listen[0] = "0.0.0.0";
        f->listen[1] = "::";
        f->c = (struct dre_nginx_conf){
            .run_dir = "/var/lib/dogebox/run/nginx",
            .stream_module = "/usr/lib/nginx/modules/ngx_stream_module.so",
            .workers = 2,
            .listen_addrs = f->listen,
            .n_listen_addrs = 2,
            .bindings = f->b,
            .n_bindings = 2,
            .webuis = f->w,
            .n_webuis = 1,
        };
}

static const char golden_head[] =
    "# dogeboxd: generated, do not edit. docs/networking.md explains it.\n"
    "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
    "worker_processes 2;\n"
    "user nobody nogroup;\n"
    "pid /var/lib/dogebox/run/nginx/nginx.pid;\n"
    "lock_file /var/lib/dogebox/run/nginx/nginx.lock;\n"
    "error_log /var/lib/dogebox/run/nginx/logs/error.log notice;\n";

/* Bindings are sorted by service address: dogenet (.3) is binding 0. */
static const char golden_bindings[] = "\tupstream dbx_up_0 {\n"
                                      "\t\tserver 10.69.0.3:8080;\n"
                                      "\t\tkeepalive 32;\n"
                                      "\t}\n"
                                      "\t# interface dogenet-web-api, provider dogenet\n"
                                      "\tserver {\n"
                                      "\t\tlisten 10.69.192.3:80;\n"
                                      "\t\tserver_name dogenet-web-api.localhost 10.69.192.3;\n"
                                      "\t\tlocation / {\n"
                                      "\t\t\treturn 403;\n"
                                      "\t\t}\n"
                                      "\t}\n"
                                      "\tupstream dbx_up_1 {\n"
                                      "\t\tserver 10.69.0.2:22555;\n"
                                      "\t\tkeepalive 32;\n"
                                      "\t}\n"
                                      "\t# interface core-rpc, provider core\n"
                                      "\tserver {\n"
                                      "\t\tlisten 10.69.192.7:80;\n"
                                      "\t\tserver_name core-rpc.localhost 10.69.192.7;\n"
                                      "\t\tlocation / {\n"
                                      "\t\t\treturn 403;\n"
                                      "\t\t}\n"
                                      "\t\tlocation = /api {\n"
                                      "\t\t\treturn 403;\n"
                                      "\t\t}\n"
                                      "\t\tlocation /api/ {\n"
                                      "\t\t\tallow 10.69.0.5; # wallet\n"
                                      "\t\t\tdeny all;\n"
                                      "\t\t\tproxy_pass http://dbx_up_1/api/;\n"
                                      "\t\t}\n"
                                      "\t\tlocation = /nodes {\n"
                                      "\t\t\tallow 10.69.0.5; # wallet\n"
                                      "\t\t\tdeny all;\n"
                                      "\t\t\tproxy_pass http://dbx_up_1/nodes;\n"
                                      "\t\t}\n"
                                      "\t}\n"
                                      "\t# web UI 'website' of map\n"
                                      "\tserver {\n"
                                      "\t\tlisten 0.0.0.0:10000;\n"
                                      "\t\tlisten [::]:10000;\n"
                                      "\t\tlocation / {\n"
                                      "\t\t\tproxy_pass http://10.69.0.40:8080;\n"
                                      "\t\t}\n"
                                      "\t}\n"
                                      "}\n"
                                      "stream {\n"
                                      "\tproxy_connect_timeout 5s;\n"
                                      "\tproxy_timeout 1h;\n"
                                      "\t# interface core-rpc, provider core\n"
                                      "\tserver {\n"
                                      "\t\tlisten 10.69.192.7:22555;\n"
                                      "\t\tallow 10.69.0.5; # wallet\n"
                                      "\t\tallow 10.69.0.40; # map\n"
                                      "\t\tdeny all;\n"
                                      "\t\tproxy_pass 10.69.0.2:22555;\n"
                                      "\t}\n"
                                      "}\n";

static void test_render_golden(void **state)
{
        struct fixture f;
        struct dbx_error err = {0};
        char *text = NULL;

        fixture_init(&f);
        assert_int_equal(dre_nginx_render(&f.c, &text, &err), 0);
        assert_true(strncmp(text, golden_head, strlen(golden_head)) == 0);
        const char *b = strstr(text, "\tupstream dbx_up_0 {");
        assert_non_null(b);
        assert_string_equal(b, golden_bindings);
        /* every path nginx writes is under run_dir */
        assert_non_null(strstr(text, "\tclient_body_temp_path /var/lib/dogebox/run/nginx/tmp/"
                                     "client_body;\n"));
        assert_non_null(strstr(text, "\taccess_log /var/lib/dogebox/run/nginx/logs/access.log"));
        /* the consumer's address is trusted (anti-spoofing), headers are not */
        assert_non_null(strstr(text, "proxy_set_header X-Forwarded-For $remote_addr;"));
        assert_null(strstr(text, "proxy_add_x_forwarded_for"));

        /* the same state in another order renders the same bytes */
        char *again = NULL;
        struct dre_binding swapped[2] = {f.b[1], f.b[0]};
        struct dre_consumer cswapped[2] = {f.cons[1], f.cons[0]};
        swapped[1].consumers = cswapped;
        f.c.bindings = swapped;
        assert_int_equal(dre_nginx_render(&f.c, &again, &err), 0);
        assert_string_equal(text, again);
        free(again);
        free(text);
}

static void test_render_minimal(void **state)
{
        struct dbx_error err = {0};
        char *text = NULL;
        struct dre_nginx_conf c = {.run_dir = "/run/x"};

        /* nothing configured: a valid nginx.conf without stream and modules */
        assert_int_equal(dre_nginx_render(&c, &text, &err), 0);
        assert_null(strstr(text, "load_module"));
        assert_null(strstr(text, "stream {"));
        assert_non_null(strstr(text, "worker_processes auto;\n"));
        free(text);

        /* HTTP only: no stream module needed; custom http port and user */
        struct dre_binding b = {.interface = "x",
                                .provider_id = "p",
                                .provider_ip = "10.0.0.2",
                                .service_addr = "10.0.0.200",
                                .http_port = 8080};
        c.bindings = &b;
        c.n_bindings = 1;
        c.http_port = 8000;
        c.user = "dbxproxy";
        assert_int_equal(dre_nginx_render(&c, &text, &err), 0);
        assert_null(strstr(text, "load_module"));
        assert_non_null(strstr(text, "\t\tlisten 10.0.0.200:8000;\n"));
        assert_non_null(strstr(text, "user dbxproxy;\n"));
        free(text);
}

/* Each location lets in exactly the consumers whose patterns cover it,
 * which is what makes nginx agree with dre_route_match(). */
static void test_render_locations(void **state)
{
        struct dbx_error err = {0};
        char *text = NULL;
        const char *routes_c[] = {"/v1.0/x+y", "/a.b/*", "/*"};
        const char *routes_d[] = {"/a.b/c", "/a.b/c"};
        struct dre_consumer k[] = {{"c", "10.0.0.3", routes_c, 3}, {"d", "10.0.0.4", routes_d, 2}};
        struct dre_binding b = {.interface = "x",
                                .provider_id = "p",
                                .provider_ip = "10.0.0.2",
                                .service_addr = "10.0.0.200",
                                .http_port = 80,
                                .consumers = k,
                                .n_consumers = 2};
        struct dre_nginx_conf c = {.run_dir = "/run/x", .bindings = &b, .n_bindings = 1};

        assert_int_equal(dre_nginx_render(&c, &text, &err), 0);
        const char *want = "\t\tlocation / {\n"
                           "\t\t\tallow 10.0.0.3; # c\n"
                           "\t\t\tdeny all;\n"
                           "\t\t\tproxy_pass http://dbx_up_0/;\n"
                           "\t\t}\n"
                           "\t\tlocation = /a.b {\n"
                           "\t\t\tallow 10.0.0.3; # c\n"
                           "\t\t\tdeny all;\n"
                           "\t\t\tproxy_pass http://dbx_up_0/a.b;\n"
                           "\t\t}\n"
                           "\t\tlocation /a.b/ {\n"
                           "\t\t\tallow 10.0.0.3; # c\n"
                           "\t\t\tdeny all;\n"
                           "\t\t\tproxy_pass http://dbx_up_0/a.b/;\n"
                           "\t\t}\n"
                           "\t\tlocation = /a.b/c {\n"
                           "\t\t\tallow 10.0.0.3; # c\n"
                           "\t\t\tallow 10.0.0.4; # d\n"
                           "\t\t\tdeny all;\n"
                           "\t\t\tproxy_pass http://dbx_up_0/a.b/c;\n"
                           "\t\t}\n"
                           "\t\tlocation = /v1.0/x+y {\n"
                           "\t\t\tallow 10.0.0.3; # c\n"
                           "\t\t\tdeny all;\n"
                           "\t\t\tproxy_pass http://dbx_up_0/v1.0/x+y;\n"
                           "\t\t}\n"
                           "\t}\n";
        assert_non_null(strstr(text, want));
        /* no regexes, maps or ifs: plain locations only */
        assert_null(strstr(text, "map \""));
        assert_null(strstr(text, "location ~"));
        assert_null(strstr(text, " if ("));
        free(text);
}

static void test_render_errors(void **state)
{
        static const char *const msgs[] = {
            "run_dir: 'relative' must be an absolute path",
            "run_dir: '/run/a b' must be an absolute path",
            "interface name 'Core' may only hold lowercase letters",
            "interface name '-x' cannot start or end with '-'",
            "interface name 'a.b' may only hold",
            "provider_ip '10.0.0' is not an IPv4 address",
            "service_addr 'x' is not an IPv4 address",
            "interface core-rpc of core has neither an HTTP nor a TCP port",
            "interface core-rpc: tcp port 80 collides with the HTTP proxy port",
            "tcp port 22555 listed twice",
            "interface core-rpc has TCP ports but no stream module is configured",
            "pup wallet cannot consume its own interface core-rpc",
            "consumer 10.69.0.5 listed twice",
            "route '/a b': character ' ' is not allowed",
            "service address 10.69.192.7 is used by",
            "host port 10000 is given to two web UIs",
            "web UI port 22555 of map is also a TCP port of interface core-rpc",
            "web UIs need at least one listen address",
            "'10.0.0.300' is not an IPv4 or IPv6 address",
            "'bad user!' is not 'user' or 'user group'",
            "stream_module: 'lib/x.so' must be an absolute path",
            "pup id '' is not valid",
        };
        for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
                struct fixture f;
                struct dbx_error err = {0};
                char *text = NULL;
                uint16_t t80[] = {80};
                uint16_t tdup[] = {22555, 22555};
                const char *bad_routes[] = {"/ok", "/a b"};
                struct dre_consumer twice[2];
                struct dre_binding two_same[2];
                struct dre_webui two_ui[2];
                const char *bad_listen[] = {"10.0.0.300"};

                fixture_init(&f);
                twice[0] = f.cons[0];
                twice[1] = f.cons[0];
                two_same[0] = f.b[0];
                two_same[1] = f.b[0];
                two_ui[0] = f.w[0];
                two_ui[1] = f.w[0];
                switch (i) {
                case 0:
                        f.c.run_dir = "relative";
                        break;
                case 1:
                        f.c.run_dir = "/run/a b";
                        break;
                case 2:
                        f.b[0].interface = "Core";
                        break;
                case 3:
                        f.b[0].interface = "-x";
                        break;
                case 4:
                        f.b[0].interface = "a.b";
                        break;
                case 5:
                        f.b[0].provider_ip = "10.0.0";
                        break;
                case 6:
                        f.b[0].service_addr = "x";
                        break;
                case 7:
                        f.b[0].http_port = 0;
                        f.b[0].n_tcp_ports = 0;
                        break;
                case 8:
                        f.b[0].tcp_ports = t80;
                        break;
                case 9:
                        f.b[0].tcp_ports = tdup;
                        f.b[0].n_tcp_ports = 2;
                        break;
                case 10:
                        f.c.stream_module = NULL;
                        break;
                case 11:
                        f.cons[0].ip = "10.69.0.2";
                        break;
                case 12:
                        f.b[0].consumers = twice;
                        break;
                case 13:
                        f.cons[0].routes = bad_routes;
                        f.cons[0].n_routes = 2;
                        break;
                case 14:
                        f.c.bindings = two_same;
                        break;
                case 15:
                        f.c.webuis = two_ui;
                        f.c.n_webuis = 2;
                        break;
                case 16:
                        f.w[0].host_port = 22555;
                        break;
                case 17:
                        f.c.n_listen_addrs = 0;
                        break;
                case 18:
                        f.c.listen_addrs = bad_listen;
                        f.c.n_listen_addrs = 1;
                        break;
                case 19:
                        f.c.user = "bad user!";
                        break;
                case 20:
                        f.c.stream_module = "lib/x.so";
                        break;
                case 21:
                        f.cons[1].pup_id = "";
                        break;
                }
                int r = dre_nginx_render(&f.c, &text, &err);
                assert_true(r < 0);
                assert_null(text);
                char buf[1024];
                dbx_error_text(&err, buf, sizeof(buf));
                if (!strstr(buf, msgs[i])) {
                        print_error("case %zu: '%s' lacks '%s'\n", i, buf, msgs[i]);
                        fail();
                }
        }
}

static void test_render_limits(void **state)
{
        struct dbx_error err = {0};
        char *text = NULL;
        const char *routes[DRE_ROUTES_MAX + 1];
        for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
                routes[i] = "/x";
        struct dre_consumer k = {"c", "10.0.0.3", routes, DRE_ROUTES_MAX};
        struct dre_binding b = {.interface = "x",
                                .provider_id = "p",
                                .provider_ip = "10.0.0.2",
                                .service_addr = "10.0.0.200",
                                .http_port = 80,
                                .consumers = &k,
                                .n_consumers = 1};
        struct dre_nginx_conf c = {.run_dir = "/run/x", .bindings = &b, .n_bindings = 1};

        assert_int_equal(dre_nginx_render(&c, &text, &err), 0);
        free(text);
        k.n_routes = DRE_ROUTES_MAX + 1;
        assert_int_equal(dre_nginx_render(&c, &text, &err), -E2BIG);
        assert_string_equal(err.message, "257 routes (at most 256)");
        k.n_routes = 1;
        c.n_bindings = DRE_BINDINGS_MAX + 1;
        assert_int_equal(dre_nginx_render(&c, &text, &err), -E2BIG);
        c.n_bindings = 1;
        c.n_webuis = DRE_WEBUIS_MAX + 1;
        assert_int_equal(dre_nginx_render(&c, &text, &err), -E2BIG);
        c.n_webuis = 0;
        c.workers = 65;
        assert_int_equal(dre_nginx_render(&c, &text, &err), -EINVAL);
        char longdir[DRE_RUN_DIR_MAX + 2];
        memset(longdir, 'd', sizeof(longdir));
        longdir[0] = '/';
        longdir[DRE_RUN_DIR_MAX + 1] = 0;
        c.workers = 0;
        c.run_dir = longdir;
        assert_int_equal(dre_nginx_render(&c, &text, &err), -EINVAL);
        longdir[DRE_RUN_DIR_MAX] = 0;
        assert_int_equal(dre_nginx_render(&c, &text, &err), 0);
        free(text);
}

/* ---- environment and hosts ---- */

static void test_env_key(void **state)
{
        static const struct {
                const char *in, *out;
                int rc;
        } t[] = {
            {"core-rpc", "CORE_RPC", 0},
            {"dogenet-web-api", "DOGENET_WEB_API", 0},
            {"Gigawallet Public", "GIGAWALLET_PUBLIC", 0},
            {"a.b/c", "ABC", 0},
            {"x_y", "X_Y", 0},
            {"9lives", "9LIVES", 0},
            {"é-x", "_X", 0},
            {"!!!", NULL, -EINVAL},
            {"", NULL, -EINVAL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                char out[DRE_IFACE_NAME_MAX + 1];
                assert_int_equal(dre_env_iface_key(t[i].in, out, sizeof(out)), t[i].rc);
                if (t[i].out)
                        assert_string_equal(out, t[i].out);
        }
        char small[4];
        assert_int_equal(dre_env_iface_key("core-rpc", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_env_build(void **state)
{
        struct dbx_error err = {0};
        struct dre_env_iface ifs[] = {
            {"core-zmq", "zmq", "10.69.192.8", 28332},
            {"core-rpc", "rpc", "10.69.192.7", 80},
        };
        struct dre_env_spec s = {
            "0123456789abcdef0123456789abcdef", "10.69.0.5", "10.69.0.1", 8080, ifs, 2};
        char **env = NULL;
        size_t n = 0;
        static const char *const want[] = {
            "DBX_HOST=10.69.0.1",
            "DBX_IFACE_CORE_RPC_HOST=10.69.192.7",
            "DBX_IFACE_CORE_RPC_NAME=rpc",
            "DBX_IFACE_CORE_RPC_PORT=80",
            "DBX_IFACE_CORE_ZMQ_HOST=10.69.192.8",
            "DBX_IFACE_CORE_ZMQ_NAME=zmq",
            "DBX_IFACE_CORE_ZMQ_PORT=28332",
            "DBX_PORT=8080",
            "DBX_PUP_ID=0123456789abcdef0123456789abcdef",
            "DBX_PUP_IP=10.69.0.5",
        };

        assert_int_equal(dre_env_build(&s, &env, &n, &err), 0);
        assert_int_equal(n, ARRAY_SIZE(want));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(env[i], want[i]);
        assert_null(env[n]);
        dre_env_free(env);

        /* errors */
        struct dre_env_iface clash[] = {
            {"core-rpc", "rpc", "10.69.192.7", 80},
            {"core rpc", "rpc", "10.69.192.9", 80},
        };
        s.ifaces = clash;
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -EINVAL);
        assert_string_equal(err.message, "interfaces 'core-rpc' and 'core rpc' both map to "
                                         "DBX_IFACE_CORE_RPC_*");
        s.ifaces = ifs;
        s.dbx_port = 0;
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -EINVAL);
        assert_string_equal(err.message, "0 is not a port (1-65535)");
        s.dbx_port = 80;
        s.pup_ip = "10.69.0";
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -EINVAL);
        s.pup_ip = "10.69.0.5";
        ifs[0].name = "a\nb";
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -EINVAL);
        assert_string_equal(err.message, "interface core-zmq: the expose name must be 1-256 "
                                         "printable characters");
        ifs[0].name = "zmq";
        ifs[0].port = 0;
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -EINVAL);
        ifs[0].port = 1;
        s.n_ifaces = DRE_ENV_IFACES_MAX + 1;
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -E2BIG);
        s.n_ifaces = 0;
        s.pup_id = NULL;
        assert_int_equal(dre_env_build(&s, &env, &n, &err), -EINVAL);
}

static void test_hosts(void **state)
{
        struct dbx_error err = {0};
        char *text = NULL;
        struct dre_hosts_entry e[] = {{"core-rpc", "10.69.192.7"}, {"core-zmq", "10.69.192.8"}};

        assert_int_equal(dre_hosts_render("10.69.0.1", e, 2, &text, &err), 0);
        assert_string_equal(text, "# generated by dogeboxd\n"
                                  "127.0.0.1\tlocalhost\n"
                                  "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                  "10.69.0.1\tdogeboxd dogeboxd.local dogebox dogebox.local\n"
                                  "10.69.192.7\tcore-rpc.localhost\n"
                                  "10.69.192.8\tcore-zmq.localhost\n");
        free(text);
        assert_int_equal(dre_hosts_render("10.69.0.1", NULL, 0, &text, &err), 0);
        free(text);

        struct dre_hosts_entry bad1[] = {{"Core RPC", "10.69.192.7"}};
        assert_int_equal(dre_hosts_render("10.69.0.1", bad1, 1, &text, &err), -EINVAL);
        assert_true(strstr(err.message, "'Core RPC' cannot be a host name") != NULL);
        struct dre_hosts_entry bad2[] = {{"x", "10.69.192.7"}, {"x", "10.69.192.8"}};
        assert_int_equal(dre_hosts_render("10.69.0.1", bad2, 2, &text, &err), -EINVAL);
        assert_string_equal(err.message, "interface x listed twice");
        struct dre_hosts_entry bad3[] = {{"x", "::1"}};
        assert_int_equal(dre_hosts_render("10.69.0.1", bad3, 1, &text, &err), -EINVAL);
        assert_int_equal(dre_hosts_render("gw", e, 2, &text, &err), -EINVAL);
}

/* ---- web UI ports ---- */

static int probe_10000_busy(uint16_t port, bool *ret)
{
        *ret = port == 10000;
        return 0;
}

static int probe_all_busy(uint16_t port, bool *ret)
{
        *ret = true;
        return 0;
}

static int probe_fails(uint16_t port, bool *ret)
{
        return -EACCES;
}

static void test_webui_ports(void **state)
{
        struct dbx_error err = {0};
        uint16_t p = 0;
        uint16_t used[] = {10001, 10000, 10003};

        assert_int_equal(dre_webui_port_allocate(NULL, 0, NULL, &p, &err), 0);
        assert_int_equal(p, 10000);
        assert_int_equal(dre_webui_port_allocate(used, 3, NULL, &p, &err), 0);
        assert_int_equal(p, 10002);
        assert_int_equal(dre_webui_port_allocate(NULL, 0, probe_10000_busy, &p, &err), 0);
        assert_int_equal(p, 10001);
        assert_int_equal(dre_webui_port_allocate(used, 3, probe_all_busy, &p, &err), -ENOSPC);
        assert_string_equal(err.message, "no free web UI port left in 10000-65535");
        assert_int_equal(dre_webui_port_allocate(NULL, 0, probe_fails, &p, &err), -EACCES);
}

static void test_find_stream_module(void **state)
{
        /* libnginx-mod-stream is a runtime dependency (scripts/install-deps) */
        char path[4096];
        assert_int_equal(dre_nginx_find_stream_module(NULL, path, sizeof(path)), 0);
        assert_non_null(strstr(path, "ngx_stream_module.so"));
        assert_int_equal(dre_nginx_find_stream_module(NULL, path, 8), -ENAMETOOLONG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_route_validate),   cmocka_unit_test(test_route_match),
            cmocka_unit_test(test_render_golden),    cmocka_unit_test(test_render_minimal),
            cmocka_unit_test(test_render_locations), cmocka_unit_test(test_render_errors),
            cmocka_unit_test(test_render_limits),    cmocka_unit_test(test_env_key),
            cmocka_unit_test(test_env_build),        cmocka_unit_test(test_hosts),
            cmocka_unit_test(test_webui_ports),      cmocka_unit_test(test_find_stream_module),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
