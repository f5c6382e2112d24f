/*
 * fuzz_http.c - the studio server's HTTP layer and API handlers under
 * libFuzzer (issue 13): the real server (src/server, libmicrohttpd and all)
 * runs in this process on a loopback port, without the model
 * (srv_start_without_model: nothing is synthesised, a render fails at once),
 * on a temporary data directory made once per process; each input is a few
 * raw HTTP requests sent to it, one connection each.
 *
 * An input is up to MAX_REQUESTS chunks separated by "@@@@". Before a chunk
 * is sent, in it:
 *   $P  becomes the id of the project the last 201 of this input created
 *       (0 before any), $S and $T its first and last segment's ids;
 *   $N  (in the header part only) the length of what follows the first
 *       blank line, so that mutated bodies keep a right Content-Length.
 * The chunk is written, the connection's sending side shut (the request
 * ends there), and the answer read until the server closes. The Host
 * "fuzz" is allowed (--allow-host fuzz), so inputs need not know the port.
 * After an input that created a project (a 201) every project is deleted
 * (GET /api/projects, DELETE each), so that each input starts from an
 * empty store (ids go on
 * growing: AUTOINCREMENT; hence $P).
 *
 * What it checks, besides the sanitizers (the fuzz build) and crashes:
 *   - an answer, when one comes, is an HTTP/1.x status line with a status
 *     of 100..599 and never 500 (an "internal" error is a defect: every
 *     failure a client can cause has its own status);
 *   - a JSON answer (application/json) parses and is valid UTF-8;
 *   - the server answers or closes within ANSWER_S (no request holds its
 *     connection; event streams are left as soon as their header comes);
 *   - every line the server logs (--log-requests is on) holds no control
 *     byte (log injection, issue 13 item 5).
 * A broken check prints what broke and calls abort(). FUZZ_HTTP_TRACE=1
 * in the environment prints each answer's first line and its time (and
 * the request, when it took over 0.5 s).
 *
 * Not covered: synthesis and the audio and subtitle writers (every render
 * fails without the model, so exports answer before writing anything), and
 * previews' audio.
 *
 * The process-wide server is the harness's one global state (libFuzzer
 * calls LLVMFuzzerTestOneInput with nothing else to hold it); it stops and
 * its directory is removed at exit.
 */
/* nftw() is X/Open, beyond the POSIX level the build asks for. */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "kk_time.h"
#include "kk_utf8.h"
#include "server.h"
#include "server_internal.h"

#define MAX_REQUESTS 8
#define MAX_CHUNK (256 * 1024)
#define KEEP_BYTES (256 * 1024) /* of an answer, for the checks */
#define ANSWER_S 10.0
#define QUIET_MS 1000
#define SHORT_MS 2
#define SEPARATOR "@@@@"

static struct {
    kk_server *srv;
    int port;
    char dir[256];
} fz;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_http: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* The server's log (any thread): no control byte may reach it. */
static void on_log(void *user, const char *line)
{
    (void)user;
    for (const unsigned char *p = (const unsigned char *)line; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "fuzz_http: a control byte 0x%02x in a log line: ", *p);
            for (const unsigned char *q = (const unsigned char *)line; *q; q++)
                fprintf(stderr, *q < 0x20 || *q >= 0x7f ? "\\x%02x" : "%c", *q);
            fputc('\n', stderr);
            abort();
        }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void teardown(void)
{
    kk_server_stop(fz.srv);
    fz.srv = NULL;
    if (fz.dir[0])
        nftw(fz.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fz.dir, rel);
    FILE *fp = fopen(path, "wb");
    if (!fp || fputs(text, fp) < 0 || fclose(fp))
        die("cannot write", path);
}

static void sub_dir(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fz.dir, rel);
    if (mkdir(path, 0700))
        die("cannot make", path);
}

/* The temporary directory (in /dev/shm when there is one: the store's
 * writes stay in memory), its fake voices and web studio, the server. */
static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct stat st;
    const char *tmp = !stat("/dev/shm", &st) && S_ISDIR(st.st_mode) && !access("/dev/shm", W_OK) ? "/dev/shm"
                      : getenv("TMPDIR")                                                      ? getenv("TMPDIR")
                                                                                              : "/tmp";
    snprintf(fz.dir, sizeof fz.dir, "%s/kk-fuzz-http-XXXXXX", tmp);
    if (!mkdtemp(fz.dir))
        die("cannot make a temporary directory in", tmp);
    atexit(teardown);
    sub_dir("voices");
    sub_dir("web");
    sub_dir("web/assets");
    /* Voice packs are only listed, never loaded (nothing is synthesised):
     * empty files do. A Japanese one for the unsupported-voice paths. */
    static const char *const voices[] = {"af_heart", "am_adam", "bf_emma", "ff_siwis", "jf_alpha", "zf_xiaobei"};
    for (size_t i = 0; i < sizeof voices / sizeof voices[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "voices/%s.bin", voices[i]);
        put_file(rel, "");
    }
    put_file("web/index.html", "<!doctype html><title>studio</title>\n");
    put_file("web/assets/app.js", "console.log('studio');\n");
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/web/fifo", fz.dir);
    mkfifo(fifo, 0600); /* served as 404, never opened */

    char data[512], voices_dir[512], web[512];
    snprintf(data, sizeof data, "%s/data", fz.dir);
    snprintf(voices_dir, sizeof voices_dir, "%s/voices", fz.dir);
    snprintf(web, sizeof web, "%s/web", fz.dir);
    static const char *const hosts[] = {"fuzz", NULL};
    static const char *const origins[] = {"http://studio.example", NULL};
    kk_server_params p = kk_server_default_params();
    p.port = 0;
    p.data_dir = data;
    p.voices_dir = voices_dir;
    p.web_dir = web;
    p.no_cache = 1;
    /* Small limits, so that inputs reach them. */
    p.max_upload_bytes = 16 * 1024;
    p.max_body_bytes = 16 * 1024;
    p.max_json_depth = 8;
    p.max_segments = 64;
    p.max_text_bytes = 512;
    p.http_threads = 2;
    p.slow_threads = 1;
    p.render_workers = 1;
    p.max_connections = 1024;
    p.max_client_connections = 1024;
    /* Short: a guess of exchange's that is wrong costs one of these. */
    p.idle_timeout_s = 1;
    p.request_timeout_s = 2;
    p.memory_bytes = 1 << 20;
    p.allow_hosts = hosts;
    p.allow_origins = origins;
    p.log_requests = 1;
    p.log = on_log;
    kk_error err = {0};
    if (srv_start_without_model(&p, &fz.srv, &err) != KK_OK)
        die("the server did not start", err.msg);
    fz.port = kk_server_port(fz.srv);
}

/* ---- one request ---- */

typedef struct answer {
    char *data; /* the first KEEP_BYTES, NUL-terminated */
    size_t len;
    unsigned status; /* 0: none came */
    int stream;      /* an event stream, left after its header */
} answer;

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fz.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a))
        die("connect", strerror(errno));
    return fd;
}

/* Whether the last request of req (len bytes, requests back to back)
 * looks whole: its header ended by a blank line, then as many bytes as its
 * Content-Length says, or a chunked body's last chunk. A guess (the server
 * decides), good for when to shut the sending side (exchange). */
static int looks_complete(const char *req, size_t len)
{
    const char *p = req, *end = req + len;
    for (int k = 0;; k++) {
        while (p < end && (*p == '\r' || *p == '\n'))
            p++;
        if (p == end)
            return k > 0; /* nothing at all: no answer will come */
        const char *h = NULL; /* the header's end: CRLF CRLF, or LF LF as libmicrohttpd takes too */
        for (const char *q = p; q + 2 <= end && !h; q++)
            if (q + 4 <= end && !memcmp(q, "\r\n\r\n", 4))
                h = q + 4;
            else if (!memcmp(q, "\n\n", 2))
                h = q + 2;
        if (!h)
            return 0;
        unsigned long long cl = 0;
        int chunked = 0;
        for (const char *l = p; l < h; l++) {
            if (l != p && l[-1] != '\n')
                continue;
            if ((size_t)(h - l) > 15 && !strncasecmp(l, "Content-Length:", 15))
                cl = strtoull(l + 15, NULL, 10);
            else if ((size_t)(h - l) > 18 && !strncasecmp(l, "Transfer-Encoding:", 18))
                chunked = 1;
        }
        if (chunked) {
            for (const char *q = h; q + 5 <= end; q++)
                if (!memcmp(q, "0\r\n\r\n", 5) && (q == h || q[-1] == '\n'))
                    return 1; /* and whatever follows is not looked at */
            return 0;
        }
        if (cl > (unsigned long long)(end - h))
            return 0;
        p = h + cl;
    }
}

/* Sends req (len bytes) on a fresh connection, ends the request side, and
 * reads the answer until the server closes (at most ANSWER_S). */
static void exchange(const char *req, size_t len, answer *out)
{
    memset(out, 0, sizeof *out);
    out->data = malloc(KEEP_BYTES + 1);
    if (!out->data)
        die("out of memory", NULL);
    int fd = connect_server();
    double t0 = kk_now_s();
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* refused midway (413 at once, the connection closed): read what came */
        off += (size_t)n;
    }
    int shut = 0, complete = looks_complete(req, len);
    char buf[16384];
    for (;;) {
        double left = ANSWER_S - (kk_now_s() - t0);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        /* When to shut the sending side: shut with the request, the end
         * comes in the same read as the request's last bytes, and
         * libmicrohttpd (epoll, edge-triggered) misses it and keeps the
         * connection for its idle timeout; never shut, an incomplete
         * request waits for the rest until the request timeout. So: once
         * the answer begins, or when none has come after QUIET_MS (a
         * request that looks whole, looks_complete) or SHORT_MS (one that
         * does not: the end then comes in a read of its own). */
        int wait_ms = shut ? (int)(left * 1000) + 1 : complete ? QUIET_MS : SHORT_MS;
        int r = left > 0 ? poll(&pf, 1, wait_ms) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && !shut++) {
            shutdown(fd, SHUT_WR);
            continue;
        }
        if (r == 0) {
            out->data[out->len] = '\0';
            fprintf(stderr, "fuzz_http: no answer and no close within %.0f s; so far: %.300s\n", ANSWER_S, out->data);
            abort();
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (!shut++)
            shutdown(fd, SHUT_WR);
        if (n <= 0)
            break; /* closed (or reset) */
        size_t k = (size_t)n < KEEP_BYTES - out->len ? (size_t)n : KEEP_BYTES - out->len;
        memcpy(out->data + out->len, buf, k);
        out->len += k;
        out->data[out->len] = '\0';
        if (!out->stream && strstr(out->data, "\r\n\r\n") && strstr(out->data, "text/event-stream")) {
            out->stream = 1; /* it would go on: leave it (a reset, as a tab closed) */
            break;
        }
    }
    out->data[out->len] = '\0';
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (out->stream)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    if (getenv("FUZZ_HTTP_TRACE")) /* what was sent and answered, when slow */
        fprintf(stderr, "%.3f s: %.60s\n%.*s\n", kk_now_s() - t0, out->data,
                kk_now_s() - t0 > 0.5 ? (int)(len < 600 ? len : 600) : 0, req);
    if (out->len >= 12 && (!strncmp(out->data, "HTTP/1.1 ", 9) || !strncmp(out->data, "HTTP/1.0 ", 9)))
        out->status = (unsigned)strtoul(out->data + 9, NULL, 10);
}

/* The body of the first answer in a (one per request; pipelined ones
 * follow it), from its Content-Length. NULL when it has none. */
static const char *first_body(const answer *a, size_t *len)
{
    const char *end = strstr(a->data, "\r\n\r\n");
    if (!end)
        return NULL;
    const char *body = end + 4;
    size_t n = (size_t)(a->data + a->len - body);
    for (const char *h = strstr(a->data, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (!strncasecmp(h + 2, "Content-Length:", 15)) {
            size_t cl = (size_t)strtoull(h + 17, NULL, 10);
            if (cl < n)
                n = cl;
            break;
        }
    *len = n;
    return body;
}

static int header_has(const answer *a, const char *name, const char *value)
{
    const char *end = strstr(a->data, "\r\n\r\n");
    size_t nl = strlen(name);
    for (const char *h = strstr(a->data, "\r\n"); h && end && h < end; h = strstr(h + 2, "\r\n"))
        if (!strncasecmp(h + 2, name, nl) && h[2 + nl] == ':') {
            const char *v = h + 3 + nl, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            size_t vl = strlen(value);
            return e && (size_t)(e - v) >= vl && !strncasecmp(v, value, vl);
        }
    return 0;
}

static void check_answer(const answer *a, const char *req, size_t req_len)
{
    if (!a->len)
        return; /* closed without one: a request cut short, refused framing */
    if (a->status < 100 || a->status > 599) {
        fprintf(stderr, "fuzz_http: not an HTTP status line: %.200s\n", a->data);
        abort();
    }
    if (a->status == 500) {
        fprintf(stderr, "fuzz_http: 500 for the request:\n%.*s\n--- answer:\n%.2000s\n", (int)(req_len < 4000 ? req_len : 4000),
                req, a->data);
        abort();
    }
    size_t n = 0;
    const char *m = req;
    while (m < req + req_len && (*m == '\r' || *m == '\n'))
        m++;
    int head = req_len - (size_t)(m - req) >= 4 && !strncmp(m, "HEAD", 4); /* its answer has no body */
    const char *body = head ? NULL : first_body(a, &n);
    if (body && n && a->len < KEEP_BYTES && header_has(a, "Content-Type", "application/json")) {
        if (!kk_utf8_valid(body, n)) {
            fprintf(stderr, "fuzz_http: a JSON answer that is not UTF-8: %.300s\n", body);
            abort();
        }
        cJSON *j = cJSON_ParseWithLength(body, n);
        if (!j) {
            fprintf(stderr, "fuzz_http: a JSON answer that does not parse (%zu bytes): %.300s\n", n, body);
            abort();
        }
        cJSON_Delete(j);
    }
}

/* What a 201 created: the project's id, its first and last segment's. */
static void note_created(const answer *a, int64_t v[3])
{
    size_t n = 0;
    const char *body = first_body(a, &n);
    cJSON *j = body && a->status == 201 ? cJSON_ParseWithLength(body, n) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(j, "segments");
    if (cJSON_IsNumber(id)) {
        v[0] = (int64_t)id->valuedouble;
        v[1] = v[2] = 0;
        int k = cJSON_GetArraySize(segs);
        const cJSON *first = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(segs, 0), "id");
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(segs, k - 1), "id");
        if (cJSON_IsNumber(first))
            v[1] = (int64_t)first->valuedouble;
        if (cJSON_IsNumber(last))
            v[2] = (int64_t)last->valuedouble;
    }
    cJSON_Delete(j);
}

/* chunk with $P $S $T replaced, then $N in its header part; NULL when it
 * would be too long. */
static char *expand(const char *chunk, size_t len, const int64_t v[3], size_t *out_len)
{
    char *a = malloc(len * 10 + 64), *b = NULL; /* "$P" (2 bytes) is at most 20 */
    size_t n = 0;
    if (!a)
        die("out of memory", NULL);
    for (size_t i = 0; i < len; i++) {
        const char *key = "PST";
        const char *k = i + 1 < len && chunk[i] == '$' && chunk[i + 1] ? strchr(key, chunk[i + 1]) : NULL;
        if (k) {
            n += (size_t)sprintf(a + n, "%lld", (long long)v[k - key]);
            i++;
        } else {
            a[n++] = chunk[i];
        }
        if (n > MAX_CHUNK)
            break;
    }
    a[n] = '\0';
    /* The header ends at the first blank line (CRLF or LF). */
    const char *crlf = strstr(a, "\r\n\r\n"), *lf = strstr(a, "\n\n");
    size_t head = crlf && (!lf || crlf < lf) ? (size_t)(crlf - a) + 4 : lf ? (size_t)(lf - a) + 2 : n;
    size_t body = n - head;
    if ((b = malloc(n + 64 * 8 + 1))) {
        size_t m = 0, subs = 0;
        for (size_t i = 0; i < n; i++) {
            if (i < head && i + 1 < n && a[i] == '$' && a[i + 1] == 'N' && subs++ < 8) {
                m += (size_t)sprintf(b + m, "%zu", body);
                i++;
            } else {
                b[m++] = a[i];
            }
        }
        b[m] = '\0';
        *out_len = m;
    }
    free(a);
    if (!b)
        die("out of memory", NULL);
    return b;
}

/* Deletes every project (the next input starts from an empty store). */
static void clean_store(void)
{
    static const char list[] = "GET /api/projects HTTP/1.1\r\nHost: fuzz\r\n\r\n";
    answer a;
    exchange(list, sizeof list - 1, &a);
    size_t n = 0;
    const char *body = a.status == 200 ? first_body(&a, &n) : NULL;
    cJSON *j = body ? cJSON_ParseWithLength(body, n) : NULL;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "projects"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
        if (!cJSON_IsNumber(id))
            continue;
        char req[128];
        int len = snprintf(req, sizeof req, "DELETE /api/projects/%lld HTTP/1.1\r\nHost: fuzz\r\n\r\n",
                           (long long)id->valuedouble);
        answer d;
        exchange(req, (size_t)len, &d);
        if (d.status != 204)
            die("could not delete a project", d.data);
        free(d.data);
    }
    if (!j || a.status != 200)
        die("could not list the projects", a.data);
    cJSON_Delete(j);
    free(a.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz.srv)
        setup();
    const char *p = (const char *)data, *end = p + size;
    int64_t v[3] = {0, 0, 0};
    int created = 0;
    for (int k = 0; k < MAX_REQUESTS && p <= end; k++) {
        const char *sep = NULL;
        for (const char *q = p; q + 4 <= end; q++)
            if (!memcmp(q, SEPARATOR, 4)) {
                sep = q;
                break;
            }
        const char *stop = sep ? sep : end;
        if (stop > p) {
            size_t len = 0;
            char *req = expand(p, (size_t)(stop - p), v, &len);
            answer a;
            exchange(req, len, &a);
            check_answer(&a, req, len);
            note_created(&a, v);
            created |= strstr(a.data, " 201 Created\r\n") != NULL; /* pipelined ones too */
            free(a.data);
            free(req);
        }
        if (!sep)
            break;
        p = sep + 4;
    }
    if (created) /* only POST /api/projects creates (201) */
        clean_store();
    return 0;
}
