/* vwallctl: the command-line client of vwall's control socket (docs/control-protocol.md).
 * Sends one request, prints the reply; `watch` prints events until interrupted.
 * Exit status: 0 ok, 1 the wall answered with an error, 2 the wall could not be reached
 * (or hung up), 64 usage. Only cJSON and POSIX sockets. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXIT_REPLY_ERROR 1
#define EXIT_UNREACHABLE 2
#define EXIT_USAGE 64
#define MAX_REPLY (64 * 1024 * 1024)
#define MAX_TIMEOUT_S 86400.0 /* --timeout's range: (0, one day] */
#define NOISE_LINES_SHOWN 3   /* non-JSON lines printed before they are only counted */

static const char *prog = "vwallctl";
static double connect_timeout_s = 30; /* --timeout: connect and send are bounded by it too */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *to)
{
    fprintf(
        to,
        "usage: vwallctl [-s ENDPOINT] [--token T] [--json] [--timeout SEC] COMMAND [ARGS]\n"
        "commands:\n"
        "  scene list                     the scenes, and which one shows\n"
        "  scene switch ID                make ID the base scene\n"
        "  scene push ID [--ttl SEC] [--priority N]\n"
        "                                 push an incident scene (ttl 0: until popped)\n"
        "  scene pop ID                   take an incident scene off the stack\n"
        "  tile assign TILE SOURCE        show SOURCE in TILE (index or tile id) of the scene showing\n"
        "  sources                        the sources and their state\n"
        "  status                         the wall's state\n"
        "  reload                         reload the wall file\n"
        "  screenshot NAME.png            write the wall as a PNG into control.screenshot_dir\n"
        "  watch [EVENT...]               print events, one JSON line each, until interrupted\n"
        "  ping | help                    check the wall answers | list the wall's commands\n"
        "  raw JSON                       send one request as is, e.g. raw '{\"cmd\":\"ping\"}'\n"
        "options:\n"
        "  -s, --socket EP    unix:PATH, tcp:HOST:PORT or tcp:PORT (default: $VWALL_SOCKET, else\n"
        "                     unix:$XDG_RUNTIME_DIR/vwall.sock, else unix:/tmp/vwall-$UID.sock)\n"
        "  -t, --token T      token for TCP endpoints (default: $VWALL_TOKEN)\n"
        "  -j, --json         print the reply line as it came\n"
        "  --timeout SEC      wait this long for a reply (default 30)\n"
        "exit status: 0 ok, 1 the wall replied with an error, 2 the wall can't be reached, 64 usage\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try %s --help)\n", prog);
    return EXIT_USAGE;
}

/* ---- connection ------------------------------------------------------------------------ */

struct conn {
    int fd;
    char *buf; /* received, not yet returned */
    size_t len, cap;
    double timeout_s;    /* for a whole reply, whatever arrives meanwhile; <= 0: forever */
    int64_t deadline_ms; /* the current reply's, on the monotonic clock; 0: none */
    int noise;           /* lines that were not JSON, so far */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts the clock for one reply: it must be complete within timeout_s, however the server
 * drips, chatters or stays silent meanwhile. */
static void start_deadline(struct conn *c)
{
    c->deadline_ms = c->timeout_s > 0 ? now_ms() + (int64_t)(c->timeout_s * 1000) : 0;
}

static void default_endpoint(char *buf, size_t cap)
{
    const char *env = getenv("VWALL_SOCKET");
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (env && *env)
        snprintf(buf, cap, "%s", env);
    else if (rt && *rt)
        snprintf(buf, cap, "unix:%s/vwall.sock", rt);
    else
        snprintf(buf, cap, "unix:/tmp/vwall-%u.sock", (unsigned)getuid());
}

/* Bounds connect (a wall that does not accept: full backlog, black-holed TCP) and send by
 * --timeout. */
static void set_send_timeout(int fd)
{
    struct timeval tv = {.tv_sec = (time_t)connect_timeout_s,
                         .tv_usec =
                             (suseconds_t)((connect_timeout_s - (time_t)connect_timeout_s) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static const char *connect_error(int err, char *buf, size_t n)
{
    if (err == EAGAIN || err == EINPROGRESS)
        snprintf(buf, n, "no answer within %g s", connect_timeout_s);
    else
        snprintf(buf, n, "%s", strerror(err));
    return buf;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "%s: socket path too long: %s\n", prog, path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        set_send_timeout(fd);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        char e[96];
        fprintf(stderr, "%s: can't connect to unix:%s: %s\n", prog, path,
                connect_error(errno, e, sizeof e));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int connect_tcp(const char *spec)
{
    char host[256] = "127.0.0.1";
    const char *port = spec, *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
            spec++;
            n -= 2;
        }
        if (n >= sizeof host) {
            fprintf(stderr, "%s: host name too long\n", prog);
            return -1;
        }
        if (n) {
            memcpy(host, spec, n);
            host[n] = '\0';
        }
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: tcp:%s:%s: %s\n", prog, host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        set_send_timeout(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    char e[96];
    if (fd < 0)
        fprintf(stderr, "%s: can't connect to tcp:%s:%s: %s\n", prog, host, port,
                connect_error(err, e, sizeof e));
    return fd;
}

/* -1 when the endpoint can't be reached (message printed). */
static int connect_endpoint(const char *ep)
{
    if (strncmp(ep, "unix:", 5) == 0)
        return connect_unix(ep + 5);
    if (strncmp(ep, "tcp:", 4) == 0)
        return connect_tcp(ep + 4);
    if (ep[0] == '/' || ep[0] == '.')
        return connect_unix(ep); /* a bare path */
    fprintf(stderr, "%s: endpoint '%s': expected unix:PATH, tcp:HOST:PORT or tcp:PORT\n", prog, ep);
    return -1;
}

static bool send_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, data, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            char e[96];
            fprintf(stderr, "%s: send: %s\n", prog, connect_error(errno, e, sizeof e));
            return false;
        }
        data += k;
        n -= (size_t)k;
    }
    return true;
}

static bool send_json(struct conn *c, cJSON *req)
{
    char *text = cJSON_PrintUnformatted(req);
    if (!text)
        return false;
    bool ok = send_all(c->fd, text, strlen(text)) && send_all(c->fd, "\n", 1);
    free(text);
    return ok;
}

/* Next line (caller frees), NULL on EOF/error/timeout/interrupt (message printed). */
static char *read_line(struct conn *c)
{
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = malloc(n + 1);
            if (!line)
                return NULL;
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        if (c->len == c->cap) {
            if (c->cap >= MAX_REPLY) {
                fprintf(stderr, "%s: reply too long\n", prog);
                return NULL;
            }
            size_t cap = c->cap ? c->cap * 2 : 65536;
            char *p = realloc(c->buf, cap);
            if (!p)
                return NULL;
            c->buf = p;
            c->cap = cap;
        }
        int wait_ms = -1;
        if (c->deadline_ms) {
            int64_t left = c->deadline_ms - now_ms();
            wait_ms = left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = wait_ms == 0 ? 0 : poll(&p, 1, wait_ms);
        if (interrupted)
            return NULL;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            fprintf(stderr, "%s: no reply from the wall within %g s%s\n", prog, c->timeout_s,
                    c->noise ? " (it sent only lines that are not JSON)"
                    : c->len ? " (only part of a line arrived)"
                             : "");
            return NULL;
        }
        ssize_t k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (interrupted)
                return NULL;
            fprintf(stderr, "%s: the wall closed the connection%s%s\n", prog, k < 0 ? ": " : "",
                    k < 0 ? strerror(errno) : "");
            return NULL;
        }
        c->len += (size_t)k;
    }
}

/* The reply to the request with this id (event lines before it are skipped). NULL: the
 * connection ended. `raw` receives the line as it came (caller frees). */
static cJSON *read_reply(struct conn *c, const char *id, char **raw)
{
    for (;;) {
        char *line = read_line(c);
        if (!line)
            return NULL;
        cJSON *msg = cJSON_Parse(line);
        if (!msg) {
            if (++c->noise <= NOISE_LINES_SHOWN)
                fprintf(stderr, "%s: the wall sent a line that is not JSON: %.200s\n", prog, line);
            free(line);
            continue;
        }
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(msg, "ok");
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(msg, "id");
        bool mine = cJSON_IsBool(ok) &&
                    (!rid || (cJSON_IsString(rid) && strcmp(rid->valuestring, id) == 0));
        if (mine) {
            *raw = line;
            return msg;
        }
        cJSON_Delete(msg); /* an event, or a reply to an earlier request */
        free(line);
    }
}

/* ---- printing -------------------------------------------------------------------------- */

static const char *str_field(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static void print_value(const cJSON *v)
{
    if (cJSON_IsString(v)) {
        printf("%s", v->valuestring);
    } else {
        char *t = cJSON_PrintUnformatted(v);
        printf("%s", t ? t : "?");
        free(t);
    }
}

static void print_fields(const cJSON *reply)
{
    int shown = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, reply)
    {
        if (strcmp(f->string, "id") == 0 || strcmp(f->string, "ok") == 0)
            continue;
        printf("%s: ", f->string);
        print_value(f);
        printf("\n");
        shown++;
    }
    if (!shown)
        printf("ok\n");
}

static void print_scenes(const cJSON *reply)
{
    const char *current = str_field(reply, "current", "");
    const char *base = str_field(reply, "base", "");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(reply, "scenes"))
    {
        const char *id = str_field(s, "id", "?");
        const char *name = str_field(s, "name", id);
        printf("%s %-20s %s%s\n", strcmp(id, current) == 0 ? "*" : " ", id, name,
               strcmp(id, base) == 0 && strcmp(id, current) != 0 ? "  (base)" : "");
    }
}

static void print_sources(const cJSON *reply)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(reply, "sources"))
    {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(s, "width");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "height");
        const cJSON *fps = cJSON_GetObjectItemCaseSensitive(s, "fps");
        printf("%-20s %-12s", str_field(s, "id", "?"), str_field(s, "state", "?"));
        if (cJSON_IsNumber(w) && cJSON_IsNumber(h) && w->valuedouble > 0)
            printf(" %4.0fx%-4.0f", w->valuedouble, h->valuedouble);
        if (cJSON_IsNumber(fps) && fps->valuedouble > 0)
            printf(" %5.1f fps", fps->valuedouble);
        const char *err = str_field(s, "error", NULL);
        if (err)
            printf("  %s", err);
        printf("  %s\n", str_field(s, "name", ""));
    }
}

static void print_errors_reply(const cJSON *reply)
{
    fprintf(stderr, "%s: %s: %s\n", prog, str_field(reply, "error", "error"),
            str_field(reply, "message", ""));
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(reply, "errors"))
    {
        if (cJSON_IsString(e))
            fprintf(stderr, "  %s\n", e->valuestring);
    }
}

/* ---- commands -------------------------------------------------------------------------- */

enum print_kind { PRINT_FIELDS, PRINT_SCENES, PRINT_SOURCES };

static cJSON *request(const char *cmd)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "cmd", cmd);
    return r;
}

/* Parses a number argument; false when it isn't one. */
static bool parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && errno == 0;
}

/* Builds the request for argv (after the options). NULL with the exit status in *rc. */
static cJSON *build_request(int argc, char **argv, enum print_kind *kind, bool *watch, int *rc)
{
    *rc = EXIT_USAGE;
    *kind = PRINT_FIELDS;
    *watch = false;
    const char *what = argv[0];
    if (strcmp(what, "scene") == 0) {
        if (argc < 2) {
            usage_error("scene: expected list, switch, push or pop%s", "");
            return NULL;
        }
        const char *sub = argv[1];
        if (strcmp(sub, "list") == 0 && argc == 2) {
            *kind = PRINT_SCENES;
            return request("scene.list");
        }
        if ((strcmp(sub, "switch") == 0 || strcmp(sub, "pop") == 0) && argc == 3) {
            cJSON *r = request(strcmp(sub, "switch") == 0 ? "scene.switch" : "scene.pop");
            cJSON_AddStringToObject(r, "scene", argv[2]);
            return r;
        }
        if (strcmp(sub, "push") == 0 && argc >= 3) {
            cJSON *r = request("scene.push");
            cJSON_AddStringToObject(r, "scene", argv[2]);
            for (int i = 3; i < argc; i++) {
                double v;
                bool ttl = strcmp(argv[i], "--ttl") == 0, prio = strcmp(argv[i], "--priority") == 0;
                if ((!ttl && !prio) || i + 1 >= argc || !parse_number(argv[i + 1], &v)) {
                    cJSON_Delete(r);
                    usage_error("scene push: expected ID [--ttl SEC] [--priority N], at '%s'",
                                argv[i]);
                    return NULL;
                }
                cJSON_AddNumberToObject(r, ttl ? "ttl" : "priority", v);
                i++;
            }
            return r;
        }
        usage_error("scene %s: wrong arguments", sub);
        return NULL;
    }
    if (strcmp(what, "tile") == 0) {
        if (argc != 4 || strcmp(argv[1], "assign") != 0) {
            usage_error("tile: expected tile assign TILE SOURCE%s", "");
            return NULL;
        }
        cJSON *r = request("tile.assign");
        char *end;
        long idx = strtol(argv[2], &end, 10);
        if (argv[2][0] && !*end)
            cJSON_AddNumberToObject(r, "tile", (double)idx);
        else
            cJSON_AddStringToObject(r, "tile", argv[2]);
        cJSON_AddStringToObject(r, "source", argv[3]);
        return r;
    }
    static const struct {
        const char *word, *cmd;
        enum print_kind kind;
    } simple[] = {
        {"status", "status", PRINT_FIELDS},
        {"sources", "source.list", PRINT_SOURCES},
        {"reload", "config.reload", PRINT_FIELDS},
        {"ping", "ping", PRINT_FIELDS},
        {"help", "help", PRINT_FIELDS},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (strcmp(what, simple[i].word) == 0) {
            if (argc != 1) {
                usage_error("%s takes no arguments", what);
                return NULL;
            }
            *kind = simple[i].kind;
            return request(simple[i].cmd);
        }
    }
    if (strcmp(what, "screenshot") == 0) {
        if (argc != 2) {
            usage_error("screenshot: expected a file name such as wall.png%s", "");
            return NULL;
        }
        cJSON *r = request("screenshot");
        cJSON_AddStringToObject(r, "file", argv[1]);
        return r;
    }
    if (strcmp(what, "watch") == 0) {
        cJSON *r = request("subscribe");
        if (argc > 1) {
            cJSON *names = cJSON_AddArrayToObject(r, "events");
            for (int i = 1; i < argc; i++)
                cJSON_AddItemToArray(names, cJSON_CreateString(argv[i]));
        }
        *watch = true;
        return r;
    }
    if (strcmp(what, "raw") == 0) {
        if (argc != 2) {
            usage_error("raw: expected one JSON request%s", "");
            return NULL;
        }
        cJSON *r = cJSON_Parse(argv[1]);
        if (!cJSON_IsObject(r)) {
            cJSON_Delete(r);
            usage_error("raw: not a JSON object: %s", argv[1]);
            return NULL;
        }
        return r;
    }
    usage_error("unknown command '%s'", what);
    return NULL;
}

/* Sends `req` (taking it) with id `id`; returns the reply or NULL. */
static cJSON *call(struct conn *c, cJSON *req, const char *id, char **raw)
{
    cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
    cJSON_AddStringToObject(req, "id", id);
    bool sent = send_json(c, req);
    cJSON_Delete(req);
    if (!sent)
        return NULL;
    start_deadline(c);
    return read_reply(c, id, raw);
}

int main(int argc, char **argv)
{
    char endpoint[4200];
    default_endpoint(endpoint, sizeof endpoint);
    const char *token = getenv("VWALL_TOKEN");
    bool json = false;
    double timeout = 30;

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if ((strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) && has_next) {
            snprintf(endpoint, sizeof endpoint, "%s", argv[++i]);
        } else if ((strcmp(a, "-t") == 0 || strcmp(a, "--token") == 0) && has_next) {
            token = argv[++i];
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--timeout") == 0 && has_next) {
            if (!parse_number(argv[++i], &timeout) || !(timeout > 0) || timeout > MAX_TIMEOUT_S)
                return usage_error("--timeout %s: expected seconds, more than 0 and at most 86400",
                                   argv[i]);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    enum print_kind kind;
    bool watch;
    int rc;
    cJSON *req = build_request(argc - i, argv + i, &kind, &watch, &rc);
    if (!req)
        return rc;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    connect_timeout_s = timeout;
    struct conn c = {.fd = connect_endpoint(endpoint), .timeout_s = timeout};
    if (c.fd < 0) {
        cJSON_Delete(req);
        return EXIT_UNREACHABLE;
    }
    char *raw = NULL;
    cJSON *reply = NULL;
    rc = EXIT_UNREACHABLE;
    if (token && *token && strncmp(endpoint, "tcp:", 4) == 0) {
        cJSON *auth = request("auth");
        cJSON_AddStringToObject(auth, "token", token);
        reply = call(&c, auth, "vwallctl-auth", &raw);
        if (!reply)
            goto out;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
            if (json)
                printf("%s\n", raw);
            else
                print_errors_reply(reply);
            rc = EXIT_REPLY_ERROR;
            goto out;
        }
        cJSON_Delete(reply);
        free(raw);
        reply = NULL;
        raw = NULL;
    }
    /* `raw` requests keep their own id when they have one. */
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(req, "id");
    if (own) {
        bool sent = send_json(&c, req);
        cJSON_Delete(req);
        req = NULL;
        if (!sent)
            goto out;
        start_deadline(&c);
        char *line = read_line(&c);
        if (!line)
            goto out;
        reply = cJSON_Parse(line);
        raw = line;
    } else {
        reply = call(&c, req, "vwallctl", &raw);
        req = NULL;
    }
    if (!reply)
        goto out;
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
    if (json)
        printf("%s\n", raw);
    else if (!ok)
        print_errors_reply(reply);
    else if (!watch && kind == PRINT_SCENES)
        print_scenes(reply);
    else if (!watch && kind == PRINT_SOURCES)
        print_sources(reply);
    else if (!watch)
        print_fields(reply);
    fflush(stdout);
    rc = ok ? 0 : EXIT_REPLY_ERROR;
    if (ok && watch) {
        c.timeout_s = 0;
        c.deadline_ms = 0;
        for (;;) {
            char *line = read_line(&c);
            if (!line) {
                rc = interrupted ? 0 : EXIT_UNREACHABLE;
                break;
            }
            printf("%s\n", line);
            fflush(stdout);
            free(line);
        }
    }
out:
    cJSON_Delete(req);
    cJSON_Delete(reply);
    free(raw);
    free(c.buf);
    close(c.fd);
    return rc;
}
