/*
 * http.c - the server core: the libmicrohttpd daemon (a pool of polling
 * threads), each request's life (headers, body, handler, reply), routing
 * to the handlers of api.c, the limits on bodies and uploads, the security
 * checks (Host, Origin, token), the web studio's static files, the threads
 * that run slow requests (exports, previews) off the pool, and the
 * server's start and orderly stop.
 *
 * A pool thread serves many connections, so nothing may block one for
 * long: event streams suspend their connection while they wait (events.c)
 * and slow handlers run on threads of their own while the connection is
 * suspended, the reply being queued when the connection is resumed.
 *
 * May call everything of the server (server_internal.h lists the files,
 * the threads and the lock order); nothing of the server calls up into
 * this file but through the request and reply helpers declared there.
 */
/* realpath() is X/Open, beyond the POSIX level the build asks for. */
#define _XOPEN_SOURCE 700
#include "server_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kk_fs.h"
#include "kk_time.h"
#include "kk_utf8.h"

#ifndef KOKORO_VERSION
#define KOKORO_VERSION "dev"
#endif
#ifndef KOKORO_SOURCE_DIR
#define KOKORO_SOURCE_DIR ""
#endif
#ifndef KOKORO_SHARE_DIR
#define KOKORO_SHARE_DIR "/usr/local/share/kokoro"
#endif

#define MB ((size_t)1 << 20)
/* A request with files may carry this many files' worth of bytes. */
#define UPLOAD_FILES_PER_REQUEST 4
/* A body announced over its limit (Content-Length) is answered at once,
 * before it is sent (no "100 Continue"). One that comes without a length
 * (chunked) is read and dropped up to this much past the limit, then its
 * connection is closed: a reply sent while the client is still sending
 * may reach it as a reset connection instead. */
#define DRAIN_BYTES ((size_t)16 << 20)
/* More query parameters than this are a 414: libmicrohttpd keeps a record
 * of each in the connection's memory, and one that runs out of it never
 * answers (0.9.75), so they are counted before it parses them (on_uri). */
#define MAX_QUERY_PARAMS 100
/* Fields and files in one multipart/form-data body (more: 413). */
#define MAX_FORM_PARTS 64

/* The length of the UTF-8 sequence at p (n bytes left) if it is well
 * formed and not a C1 control (U+0080..U+009F); else 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n || p[0] > 0xf4 || !kk_utf8_valid((const char *)p, len))
        return 0;
    return p[0] == 0xc2 && p[1] < 0xa0 ? 0 : len;
}

/* Copies src into dst (size bytes, NUL-terminated, cut short if need be)
 * with every control byte written as \xNN: C0, DEL, C1 (as a UTF-8
 * character or a lone byte), any byte of broken UTF-8, and the backslash
 * itself (so that an escape in the log always means one). What a client
 * sends (the decoded URL, names in messages) can then neither start a
 * line of its own nor reach the terminal as an escape sequence. */
static void log_escape(char *dst, size_t size, const char *src)
{
    size_t w = 0, n = strlen(src);
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)src + i;
        size_t len = p[0] >= 0x80 ? utf8_printable(p, n - i) : (p[0] >= 0x20 && p[0] != 0x7f && p[0] != '\\');
        if (len) {
            if (w + len >= size)
                break;
            memcpy(dst + w, p, len);
            w += len, i += len;
        } else {
            if (w + 4 >= size)
                break;
            snprintf(dst + w, 5, "\\x%02x", p[0]);
            w += 4, i++;
        }
    }
    dst[w] = '\0';
}

void srv_log(kk_server *s, const char *fmt, ...)
{
    if (!s->p.log)
        return;
    char line[2048], safe[2048 * 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_escape(safe, sizeof safe, line);
    s->p.log(s->p.log_user, safe);
}

/* A kk_server_log_fn for the layers below (user: the kk_server): their
 * lines quote what clients sent too (a voice, a message), so they are
 * escaped as srv_log's. */
static void log_line(void *user, const char *line) { srv_log(user, "%s", line); }

/* ---- routes ---- */

enum {
    R_JSON = 1 << 0, /* takes a JSON body */
    R_FORM = 1 << 1, /* takes multipart/form-data (uploads) */
    R_SLOW = 1 << 2, /* runs off the pool (renders, exports) */
    R_STREAM = 1 << 3, /* the body (raw, or a form's one file) streams into a file (media.c), not memory */
};

typedef struct route {
    const char *method;
    const char *pattern; /* "#": an id, "*": a name */
    srv_handler fn;
    unsigned flags;
} route;

static const route routes[] = {
    {"GET", "/api/health", api_health, 0},
    {"GET", "/api/voices", api_voices, 0},
    {"GET", "/api/voices/*/preview", api_voice_preview, R_SLOW},
    {"GET", "/api/settings", api_settings_get, 0},
    {"PUT", "/api/settings", api_settings_put, R_JSON},
    {"POST", "/api/projects", api_projects_create, R_JSON | R_FORM | R_SLOW}, /* parses up to 50 MB */
    {"GET", "/api/projects", api_projects_list, 0},
    {"GET", "/api/projects/#", api_project_get, 0},
    {"PATCH", "/api/projects/#", api_project_patch, R_JSON},
    {"DELETE", "/api/projects/#", api_project_delete, 0},
    {"GET", "/api/projects/#/segments", api_segments_list, 0},
    {"POST", "/api/projects/#/segments", api_segments_op, R_JSON},
    {"PATCH", "/api/projects/#/segments/#", api_segment_patch, R_JSON},
    {"DELETE", "/api/projects/#/segments/#", api_segment_delete, 0},
    {"POST", "/api/projects/#/undo", api_undo, R_JSON},
    {"POST", "/api/projects/#/redo", api_redo, R_JSON},
    {"PUT", "/api/projects/#/playhead", api_playhead, R_JSON},
    {"GET", "/api/projects/#/segments/#/audio", api_segment_audio, 0},
    {"GET", "/api/projects/#/events", api_events, 0},
    {"GET", "/api/projects/#/track", api_track, R_SLOW},
    {"GET", "/api/projects/#/subtitles", api_subtitles, R_SLOW},
    {"GET", "/api/projects/#/stems", api_stems, R_SLOW},
    {"GET", "/api/projects/#/sources/#", api_source, 0},
    {"GET", "/api/activity", api_activity, 0},
    /* a project's video (media.c) */
    {"PUT", "/api/projects/#/video", api_video_put, R_STREAM | R_SLOW},
    {"GET", "/api/projects/#/video", api_video_get, 0},
    {"DELETE", "/api/projects/#/video", api_video_delete, 0},
    {"GET", "/api/projects/#/video/info", api_video_info, 0},
    {"GET", "/api/projects/#/video/peaks", api_video_peaks, R_SLOW},
    {"GET", "/api/projects/#/video/export", api_video_export, R_SLOW},
    /* the OpenAI-compatible API (openai.c) and the metrics (metrics.c) */
    {"POST", "/v1/audio/speech", oai_speech, R_JSON},
    {"POST", "/v1/audio/captioned_speech", oai_captioned_speech, R_JSON},
    {"POST", "/dev/captioned_speech", oai_captioned_speech, R_JSON}, /* Kokoro-FastAPI's path */
    {"GET", "/v1/models", oai_models, 0},
    {"GET", "/v1/models/*", oai_model, 0},
    {"GET", "/v1/audio/voices", oai_voices, 0},
    {"GET", "/v1/audio/models", oai_audio_models, 0},
    {"GET", "/metrics", api_metrics, 0},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* A decimal id of at most 18 digits, so that it fits int64: digits only (no
 * sign); leading zeros are accepted ("007" is 7). */
static int parse_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Matches path against pattern, filling ids and the name. */
static int match(const char *pattern, const char *path, int64_t id[2], const char **name, size_t *name_len)
{
    int k = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return 0;
        pattern++, path++;
        const char *pe = strchr(pattern, '/'), *se = strchr(path, '/');
        size_t pn = pe ? (size_t)(pe - pattern) : strlen(pattern), sn = se ? (size_t)(se - path) : strlen(path);
        if (pn == 1 && *pattern == '#') {
            if (k >= 2 || !parse_id(path, sn, &id[k]))
                return 0;
            k++;
        } else if (pn == 1 && *pattern == '*') {
            if (sn == 0)
                return 0;
            *name = path, *name_len = sn;
        } else if (pn != sn || memcmp(pattern, path, pn)) {
            return 0;
        }
        pattern += pn, path += sn;
    }
    return !*pattern && !*path;
}

/* ---- a request's life ---- */

typedef struct http_req http_req;
struct http_req {
    srv_request rq;
    const route *rt;
    int is_api;
    int is_openai; /* under /v1/: errors in OpenAI's shape */
    unsigned status; /* the reply's, once queued */
    int started;  /* the first call (headers) is done */
    size_t n_query; /* query parameters in the URL (on_uri) */
    int deferred; /* 1: running on a slow thread; 2: its reply is ready */
    int too_large;
    int bad_form; /* 1: malformed; 2: too many parts (MAX_FORM_PARTS) */
    size_t limit; /* bytes of body accepted */
    size_t received;
    size_t drained; /* bytes dropped after an upload's file failed */
    kk_buf body;
    struct MHD_PostProcessor *pp;
    size_t part_limit;
    srv_upload *up; /* R_STREAM: where the body goes (media.c); rq.upload points here */
    int up_parts;   /* file parts seen in a streamed form (one allowed) */
    uint64_t up_part_bytes; /* of the current one */
    double t0;
    srv_reply reply;
    char *path;
    http_req *next; /* slow queue */
};

static void reply_init(srv_reply *rp)
{
    memset(rp, 0, sizeof *rp);
    rp->fd = -1;
}

/* A request's state, made when its first line is read (on_uri) or, failing
 * that, on the handler's first call. NULL when memory runs out. */
static http_req *req_new(void)
{
    http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->t0 = kk_now_s();
    reply_init(&r->reply);
    return r;
}

static void reply_free(srv_reply *rp)
{
    free(rp->body);
    if (rp->fd >= 0)
        close(rp->fd);
    if (rp->raw)
        MHD_destroy_response(rp->raw);
    for (size_t i = 0; i < rp->n_headers; i++)
        free(rp->headers[i][0]), free(rp->headers[i][1]);
    reply_init(rp);
}

static void req_free(http_req *r)
{
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    srv_upload_free(r->up); /* an upload not taken by its handler: its file goes */
    for (size_t i = 0; i < r->rq.n_parts; i++) {
        free(r->rq.parts[i].name);
        free(r->rq.parts[i].filename);
        kk_buf_free(&r->rq.parts[i].data);
    }
    free(r->rq.parts);
    cJSON_Delete(r->rq.json);
    free(r->rq.name);
    kk_buf_free(&r->body);
    reply_free(&r->reply);
    free(r->path);
    free(r);
}

const char *srv_query(const srv_request *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *srv_header(const srv_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

void srv_reply_header(srv_reply *rp, const char *name, const char *value)
{
    if (rp->n_headers >= SRV_MAX_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n), free(v);
        return;
    }
    rp->headers[rp->n_headers][0] = n;
    rp->headers[rp->n_headers][1] = v;
    rp->n_headers++;
}

void srv_reply_json(srv_reply *rp, unsigned status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    free(rp->body);
    if (!text) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        rp->status = 500;
        rp->body = strdup(oom);
        rp->len = rp->body ? strlen(rp->body) : 0;
    } else {
        rp->status = status;
        rp->body = text;
        rp->len = strlen(text);
    }
    rp->type = "application/json; charset=utf-8";
}

void srv_message_utf8(char *msg)
{
    if (!kk_utf8_valid(msg, strlen(msg)))
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
}

void srv_reply_error(srv_reply *rp, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[KK_ERROR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_message_utf8(msg); /* messages quote what the client sent */
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    srv_reply_json(rp, status, root);
}

/* A full disk: what the error recorded (kk_error's sys_errno, set where
 * the failed call was made), else the errno the failed write left (errno
 * is cleared before each handler, run_handler, so a value from an earlier
 * request cannot leak into this one) for an error passed on by a layer
 * that set it again later. */
static int disk_full(const kk_error *err, int e)
{
    if (kk_error_disk_full(err))
        return 1;
    if (err->code != KK_ERR_IO)
        return 0;
#ifdef EDQUOT
    if (e == EDQUOT)
        return 1;
#endif
    return e == ENOSPC;
}

unsigned srv_error_status(const kk_error *err, const char **code)
{
    unsigned st;
    const char *c;
    if (disk_full(err, errno)) {
        st = 507, c = "insufficient_storage";
    } else {
        switch (err->code) {
            case KK_ERR_NOT_FOUND: st = 404, c = "not_found"; break;
            case KK_ERR_CONFLICT: st = 409, c = "conflict"; break;
            case KK_ERR_ARG:
            case KK_ERR_INPUT: st = 400, c = "bad_request"; break;
            case KK_ERR_UNSUPPORTED: st = 415, c = "unsupported"; break;
            case KK_ERR_ABORTED: st = 503, c = "unavailable"; break;
            default: st = 500, c = "internal"; break;
        }
    }
    if (code)
        *code = c;
    return st;
}

void srv_reply_status(srv_reply *rp, const kk_error *err)
{
    const char *code;
    unsigned st = srv_error_status(err, &code);
    srv_reply_error(rp, st, code, "%s", err->msg[0] ? err->msg : kk_status_name(err->code));
}

/* ---- security ---- */

static int is_changing(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") || !strcmp(method, "DELETE");
}

/* "name:port" (or "name" on port 80), any case. */
static int host_is(const char *host, const char *name, int port)
{
    size_t n = strlen(name);
    if (strncasecmp(host, name, n))
        return 0;
    if (!host[n])
        return port == 80;
    char *end;
    long p = host[n] == ':' ? strtol(host + n + 1, &end, 10) : -1;
    return host[n] == ':' && host[n + 1] && !*end && p == port;
}

/* An IP address literal with our port ("192.168.1.5:8080", "[fe80::1]:8080"). */
static int host_is_ip(const char *host, int port)
{
    char name[128];
    const char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
    if (!colon)
        return 0;
    size_t n = (size_t)(colon - host) + (host[0] == '[');
    if (n >= sizeof name)
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    if (!host_is(host, name, port))
        return 0;
    unsigned char addr[16];
    if (name[0] == '[') {
        name[n - 1] = '\0';
        return inet_pton(AF_INET6, name + 1, addr) == 1;
    }
    return inet_pton(AF_INET, name, addr) == 1;
}

static int host_ok(const kk_server *s, const char *host)
{
    if (!host)
        return 0;
    static const char *const local[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < 3; i++)
        if (host_is(host, local[i], s->port))
            return 1;
    if (s->host && host_is(host, s->host, s->port))
        return 1;
    /* --allow-host NAME (on our port) or NAME:PORT (exactly: a development
     * server that proxies to us keeps its own Host). */
    for (size_t i = 0; i < s->n_allow_hosts; i++)
        if (host_is(host, s->allow_hosts[i], s->port) || !strcasecmp(host, s->allow_hosts[i]))
            return 1;
    /* Bound to every address the token guards the door; the studio may be
     * reached under any of the machine's addresses. */
    return s->wildcard && host_is_ip(host, s->port);
}

static int origin_ok(const kk_server *s, const char *origin, const char *host)
{
    if (!origin)
        return 1;
    if (!strncasecmp(origin, "http://", 7) && !strcasecmp(origin + 7, host))
        return 1;
    for (size_t i = 0; i < s->n_allow_origins; i++)
        if (!strcasecmp(origin, s->allow_origins[i]))
            return 1;
    return 0;
}

/* Compares in time independent of where the strings differ. */
static int token_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < nb; i++)
        d |= (unsigned char)(a[i % (na ? na : 1)] ^ b[i]);
    return d == 0 && na;
}

static int token_ok(const kk_server *s, struct MHD_Connection *c)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7)) {
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        if (token_equal(t, s->token))
            return 1;
    }
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    return q && token_equal(q, s->token);
}

/* ---- static files ---- */

static const char *content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".wasm", "application/wasm"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".wav", "audio/wav"},
        {".mp3", "audio/mpeg"},
    };
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i][0]))
                return types[i][1];
    return "application/octet-stream";
}

static const char no_studio[] =
    "<!doctype html><meta charset=utf-8><title>Kokoro Studio</title>"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>Kokoro Studio</h1>"
    "<p>The server is running, but the web studio's files were not found. Build them "
    "(<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>) or point the server at them "
    "with <code>kokoro serve --web DIR</code> (or <code>KOKORO_WEB_DIR</code>).</p>"
    "<p>The API answers under <a href=\"/api/health\">/api/</a>.</p></body>";

/* Opens web_dir/rel if it is a regular file inside web_dir. */
static int open_inside(const kk_server *s, const char *rel, struct stat *st)
{
    char full[PATH_MAX], real[PATH_MAX];
    if (snprintf(full, sizeof full, "%s/%s", s->web_dir, rel) >= (int)sizeof full)
        return -1;
    if (!realpath(full, real))
        return -1;
    size_t n = strlen(s->web_dir);
    /* Symbolic links may not lead out of the directory. */
    if (strncmp(real, s->web_dir, n) || real[n] != '/')
        return -1;
    /* Regular files only: a FIFO would block the open (and the pool
     * thread), a device may act on being opened. So: not opened unless
     * stat says regular, opened without blocking and without following a
     * link put there since, and checked again on what was opened. */
    if (stat(real, st) || !S_ISREG(st->st_mode))
        return -1;
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, st) || !S_ISREG(st->st_mode) || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void serve_static(kk_server *s, const char *path, srv_reply *rp)
{
    /* No way out of the directory: no "." or ".." parts, no backslashes,
     * no control characters (a %00 is left escaped by unescape_url). */
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            srv_bad(rp, "path: characters a file name may not have");
            return;
        }
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            srv_bad(rp, "path: \".\" and \"..\" are not allowed");
            return;
        }
        p += n;
    }
    if (!s->web_dir) {
        if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
            rp->status = 200;
            rp->type = "text/html; charset=utf-8";
            rp->body = strdup(no_studio);
            rp->len = rp->body ? strlen(rp->body) : 0;
            srv_reply_header(rp, "Cache-Control", "no-cache");
        } else {
            srv_reply_error(rp, 404, "not_found", "no such file: %s", path);
        }
        return;
    }
    const char *rel = path;
    while (*rel == '/')
        rel++;
    if (!*rel)
        rel = "index.html";
    struct stat st;
    int fd = open_inside(s, rel, &st);
    const char *last = strrchr(path, '/');
    if (fd < 0 && !strchr(last ? last : path, '.') && strncmp(path, "/assets/", 8)) {
        /* A route of the single-page studio (/projects/3): its index.html. */
        rel = "index.html";
        fd = open_inside(s, rel, &st);
    }
    if (fd < 0) {
        srv_reply_error(rp, 404, "not_found", "no such file: %s", path);
        return;
    }
    rp->status = 200;
    rp->fd = fd;
    rp->fd_len = (uint64_t)st.st_size;
    rp->type = content_type(rel);
    if (!strncmp(rel, "assets/", 7))
        srv_reply_header(rp, "Cache-Control", "public, max-age=31536000, immutable");
    else
        srv_reply_header(rp, "Cache-Control", "no-cache");
}

/* ---- slow requests ---- */

/* Runs r's handler on this thread, errno cleared first: srv_reply_status
 * reads a full disk from it (disk_full), and only this request's calls
 * may have set it. */
static void run_handler(http_req *r)
{
    errno = 0;
    r->rt->fn(&r->rq, &r->reply);
}

struct srv_slow {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    http_req *head, *tail;
    int stop;
    pthread_t *threads;
    int n_threads;
};

static void *slow_main(void *arg)
{
    srv_slow *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->cond, &q->lock);
        http_req *r = q->head;
        if (!r) { /* stopping and drained */
            pthread_mutex_unlock(&q->lock);
            return NULL;
        }
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        run_handler(r);
        r->deferred = 2;
        /* The connection was suspended before r was queued; MHD calls the
         * access handler again, which queues the reply. */
        MHD_resume_connection(r->rq.conn);
    }
}

static void slow_stop(srv_slow *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q->threads);
    free(q);
}

static kk_status slow_start(int n, srv_slow **out, kk_error *err)
{
    srv_slow *q = calloc(1, sizeof *q);
    if (!q || !(q->threads = calloc((size_t)n, sizeof *q->threads))) {
        free(q);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    for (; q->n_threads < n; q->n_threads++)
        if (pthread_create(&q->threads[q->n_threads], NULL, slow_main, q)) {
            slow_stop(q);
            return kk_error_set(err, KK_ERR_IO, "cannot start a thread: %s", strerror(errno));
        }
    *out = q;
    return KK_OK;
}

/* Suspends r's connection and queues r; 0 when the server is stopping. */
static int slow_enqueue(srv_slow *q, http_req *r)
{
    pthread_mutex_lock(&q->lock);
    if (q->stop) {
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    r->deferred = 1;
    MHD_suspend_connection(r->rq.conn);
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return 1;
}

/* ---- connection slots ---- */

/* A connection's slot is held only while it is doing something: the
 * daemon's timeout (idle_timeout_s) is the one of a connection with no
 * request in hand, short, so that idle sockets (a crowd of them is an
 * attack on the slots) are closed within seconds; from a request's header
 * to its reply the connection gets request_timeout_s (a body sent slowly,
 * a handler at work), and back to the short one when the reply is queued,
 * for the rest of the reply and the wait for the next request. Suspended
 * connections (event streams, slow requests) have no timeout while they
 * wait; libmicrohttpd restarts the clock when it resumes them. Called only
 * from on_request, on the connection's own pool thread, never while it is
 * suspended. */
static void set_timeout(struct MHD_Connection *c, int seconds)
{
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)seconds);
}

/* ---- replies ---- */

static enum MHD_Result send_reply(kk_server *s, http_req *r)
{
    srv_reply *rp = &r->reply;
    struct MHD_Response *resp;
    set_timeout(r->rq.conn, s->p.idle_timeout_s);
    if (r->is_openai)
        oai_error_shape(rp);
    if (rp->raw) {
        resp = rp->raw;
        rp->raw = NULL;
    } else if (rp->fd >= 0) {
        resp = rp->fd_off ? MHD_create_response_from_fd_at_offset64(rp->fd_len, rp->fd, rp->fd_off)
                          : MHD_create_response_from_fd64(rp->fd_len, rp->fd);
        if (resp)
            rp->fd = -1; /* the response closes it */
    } else if (rp->body) {
        resp = MHD_create_response_from_buffer(rp->len, rp->body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            rp->body = NULL;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    int has_cache = 0;
    if (rp->type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rp->type);
    for (size_t i = 0; i < rp->n_headers; i++) {
        MHD_add_response_header(resp, rp->headers[i][0], rp->headers[i][1]);
        has_cache |= !strcasecmp(rp->headers[i][0], "Cache-Control");
    }
    if (!has_cache && r->is_api)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    unsigned status = rp->status ? rp->status : 500;
    enum MHD_Result ok = MHD_queue_response(r->rq.conn, status, resp);
    MHD_destroy_response(resp);
    r->status = status; /* logged and counted when the request ends (on_completed) */
    return ok;
}

/* Replies at once (an error found before the body): the rest of the body,
 * if any, is not read and the connection closes after the reply. */
static enum MHD_Result reply_now(kk_server *s, http_req *r) { return send_reply(s, r); }

/* ---- bodies ---- */

static srv_part *last_part(http_req *r) { return r->rq.n_parts ? &r->rq.parts[r->rq.n_parts - 1] : NULL; }

static enum MHD_Result on_form_data(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                    const char *content_type_, const char *transfer_encoding, const char *data,
                                    uint64_t off, size_t size)
{
    http_req *r = cls;
    srv_part *p = last_part(r);
    if (!key) { /* a part whose Content-Disposition has no name (libmicrohttpd passes NULL) */
        r->bad_form = 1;
        return MHD_NO;
    }
    int same = p && !strcmp(p->name, key) && !p->filename == !filename && (!filename || !strcmp(p->filename, filename));
    if (off == 0 && !(same && p->data.len == 0)) {
        if (r->rq.n_parts >= MAX_FORM_PARTS) {
            r->bad_form = 2; /* 413, not "malformed" */
            return MHD_NO;
        }
        srv_part *v = realloc(r->rq.parts, (r->rq.n_parts + 1) * sizeof *v);
        if (!v)
            return MHD_NO;
        r->rq.parts = v;
        p = &v[r->rq.n_parts++];
        memset(p, 0, sizeof *p);
        p->name = strdup(key);
        p->filename = filename ? strdup(filename) : NULL;
        if (!p->name || (filename && !p->filename))
            return MHD_NO;
    } else if (!same) {
        r->bad_form = 1;
        return MHD_NO;
    }
    size_t limit = p->filename ? r->part_limit : r->rq.srv->p.max_body_bytes;
    if (p->data.len + size > limit) {
        r->too_large = 2; /* this part, not the whole request */
        return MHD_NO;
    }
    if (size && kk_buf_append(&p->data, data, size))
        return MHD_NO;
    if (!size && kk_buf_reserve(&p->data, 0))
        return MHD_NO;
    return MHD_YES;
}

/* A streamed form (R_STREAM): its one file part goes to the upload's
 * file; plain fields are read and dropped (up to the JSON limit). */
static enum MHD_Result on_stream_form(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                      const char *content_type_, const char *transfer_encoding, const char *data,
                                      uint64_t off, size_t size)
{
    (void)kind, (void)transfer_encoding;
    http_req *r = cls;
    if (!filename) {
        if (off + size > r->rq.srv->p.max_body_bytes) {
            r->too_large = 1;
            return MHD_NO;
        }
        return MHD_YES;
    }
    /* A new part: offset 0, unless the part so far had no bytes
     * (libmicrohttpd may call twice at offset 0, first with none). */
    if (off == 0 && !(r->up_parts && r->up_part_bytes == 0)) {
        if (++r->up_parts > 1) {
            r->bad_form = 1; /* one video per request */
            return MHD_NO;
        }
        srv_upload_name(r->up, filename, content_type_);
    }
    (void)key;
    if (size && srv_upload_write(r->up, data, size))
        return MHD_NO;
    r->up_part_bytes += size;
    return MHD_YES;
}

/* Whether the request's Content-Type is the media type `type` exactly
 * (any case; parameters after a ';' allowed): "application/jsonx" is not
 * JSON. */
static int content_type_is(struct MHD_Connection *c, const char *type)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!v)
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(type);
    if (strncasecmp(v, type, n))
        return 0;
    for (v += n; *v == ' ' || *v == '\t';)
        v++;
    return !*v || *v == ';';
}

/* What check_headers counts: the headers a request may carry once. */
typedef struct header_count {
    unsigned host, content_type, transfer_encoding, content_length;
    const char *length; /* the first Content-Length */
    int lengths_differ;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    header_count *h = cls;
    if (!value)
        value = "";
    if (!strcasecmp(key, "Host"))
        h->host++;
    else if (!strcasecmp(key, "Content-Type"))
        h->content_type++;
    else if (!strcasecmp(key, "Transfer-Encoding"))
        h->transfer_encoding++;
    else if (!strcasecmp(key, "Content-Length") && h->content_length++ == 0)
        h->length = value;
    else if (!strcasecmp(key, "Content-Length") && strcmp(h->length, value))
        h->lengths_differ = 1;
    return MHD_YES;
}

/* The request's framing and its headers that must come once, before
 * anything else reads them: two different Content-Lengths, or one with a
 * Transfer-Encoding, would let a proxy in front of us and us disagree on
 * where the body ends (request smuggling); two Hosts, on which one the
 * checks saw. A refused request closes its connection (its body is never
 * read). 1: go on; 0: a reply was set (400, 414, 501). */
static int check_headers(http_req *r)
{
    srv_reply *rp = &r->reply;
    struct MHD_Connection *c = r->rq.conn;
    header_count h = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &h);
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    if (h.host > 1)
        srv_bad(rp, "Host: given %u times; send it once", h.host);
    else if (h.content_type > 1)
        srv_bad(rp, "Content-Type: given %u times; send it once", h.content_type);
    else if (h.lengths_differ)
        srv_bad(rp, "Content-Length: given twice with different values");
    else if (h.length && (!h.length[0] || strspn(h.length, "0123456789") != strlen(h.length)))
        srv_bad(rp, "Content-Length: \"%.40s\" is not a number of bytes", h.length);
    else if (h.content_length && h.transfer_encoding)
        srv_bad(rp, "Content-Length and Transfer-Encoding together: send one");
    else if (h.transfer_encoding > 1 || (te && strcasecmp(te, "chunked")))
        srv_reply_error(rp, 501, "not_implemented", "Transfer-Encoding: \"%.40s\": only chunked is read",
                        te ? te : "");
    else if (r->n_query > MAX_QUERY_PARAMS)
        srv_reply_error(rp, 414, "uri_too_long", "the URL has %zu query parameters; at most %d are read", r->n_query,
                        MAX_QUERY_PARAMS);
    else
        return 1;
    srv_reply_header(rp, "Connection", "close");
    return 0;
}

/* The first call's security checks: Host, token, Origin, and whether the
 * server still takes requests. 1: go on; 0: a reply was set. */
static int check_access(kk_server *s, http_req *r, const char *method)
{
    srv_reply *rp = &r->reply;
    struct MHD_Connection *c = r->rq.conn;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host_ok(s, host)) {
        srv_reply_error(rp, 403, "forbidden", "Host \"%.200s\" does not name this server", host ? host : "");
        return 0;
    }
    if (s->need_token && r->is_api && !token_ok(s, c)) {
        srv_reply_error(rp, 401, "unauthorized",
                        "a token is needed: Authorization: Bearer TOKEN or ?token=TOKEN (printed by kokoro serve)");
        srv_reply_header(rp, "WWW-Authenticate", "Bearer");
        return 0;
    }
    if (is_changing(method) && !origin_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"), host)) {
        srv_reply_error(rp, 403, "forbidden", "Origin \"%.200s\" may not change anything here",
                        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"));
        return 0;
    }
    if (atomic_load(&s->stopping)) {
        srv_reply_error(rp, 503, "unavailable", "the server is stopping");
        return 0;
    }
    return 1;
}

/* Finds the API route (r->rt, the path's ids and name); a path outside
 * /api/ is a static file, read with GET or HEAD only. 1: go on; 0: a reply
 * was set (404, 405 with Allow). */
static int route_request(http_req *r, const char *method)
{
    srv_reply *rp = &r->reply;
    int head = !strcmp(method, "HEAD");
    const char *want = head ? "GET" : method;
    if (!r->is_api) {
        if (strcmp(want, "GET")) {
            srv_reply_error(rp, 405, "method_not_allowed", "%s %s: files are read with GET", method, r->path);
            srv_reply_header(rp, "Allow", "GET, HEAD");
            return 0;
        }
        return 1;
    }
    char path[1024];
    size_t n = strlen(r->path);
    if (n >= sizeof path) {
        srv_reply_error(rp, 404, "not_found", "no such endpoint");
        return 0;
    }
    memcpy(path, r->path, n + 1);
    while (n > 1 && path[n - 1] == '/') /* /api/projects/ is /api/projects */
        path[--n] = '\0';
    char allow[128] = "";
    for (size_t i = 0; i < N_ROUTES; i++) {
        int64_t id[2] = {0, 0};
        const char *name = NULL;
        size_t name_len = 0;
        if (!match(routes[i].pattern, path, id, &name, &name_len))
            continue;
        if (strcmp(routes[i].method, want)) {
            size_t al = strlen(allow);
            snprintf(allow + al, sizeof allow - al, "%s%s%s", al ? ", " : "", routes[i].method,
                     !strcmp(routes[i].method, "GET") ? ", HEAD" : "");
            continue;
        }
        r->rt = &routes[i];
        r->rq.id[0] = id[0], r->rq.id[1] = id[1];
        if (name && !(r->rq.name = strndup(name, name_len))) {
            srv_reply_error(rp, 500, "internal", "out of memory");
            return 0;
        }
        return 1;
    }
    if (allow[0]) {
        srv_reply_error(rp, 405, "method_not_allowed", "%s %s: use %s", method, r->path, allow);
        srv_reply_header(rp, "Allow", allow);
    } else {
        srv_reply_error(rp, 404, "not_found", "no such endpoint: %s %s", method, r->path);
    }
    return 0;
}

/* What body to expect, and how much of it: a form's post processor, the
 * limit, a Content-Length announced over it refused at once (413, before
 * the client sends it, "100 Continue" or not). 1: go on; 0: a reply was
 * set. */
static int expect_body(kk_server *s, http_req *r)
{
    srv_reply *rp = &r->reply;
    struct MHD_Connection *c = r->rq.conn;
    unsigned fl = r->rt ? r->rt->flags : 0;
    r->limit = s->p.max_body_bytes;
    if (fl & R_STREAM) {
        /* The project is checked and the file opened before a byte comes. */
        if (!srv_upload_begin(&r->rq, &r->up, rp))
            return 0;
        r->rq.upload = r->up;
        r->limit = s->p.max_video_bytes + (content_type_is(c, "multipart/form-data") ? 64 * 1024 : 0);
        if (content_type_is(c, "multipart/form-data") &&
            !(r->pp = MHD_create_post_processor(c, 64 * 1024, on_stream_form, r))) {
            srv_bad(rp, "body: multipart/form-data without a boundary");
            return 0;
        }
    } else if ((fl & R_FORM) && content_type_is(c, "multipart/form-data")) {
        r->part_limit = s->p.max_upload_bytes;
        r->limit = s->p.max_upload_bytes * UPLOAD_FILES_PER_REQUEST + s->p.max_body_bytes;
        r->pp = MHD_create_post_processor(c, 64 * 1024, on_form_data, r);
        if (!r->pp) {
            srv_bad(rp, "body: multipart/form-data without a boundary");
            return 0;
        }
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || *end || v > r->limit) { /* digits only (check_headers) */
            srv_reply_error(rp, 413, "too_large", "the body (%s bytes) is over the limit of %zu bytes%s", cl, r->limit,
                            r->up ? " for a video (--max-video-mb)"
                            : r->pp ? " for a request with files (--max-upload-mb)"
                                    : " for a request (JSON: --max-body-mb)");
            srv_reply_header(rp, "Connection", "close");
            return 0;
        }
    }
    return 1;
}

/* The first call: security, routing, what body to expect. 1: go on; 0: a
 * reply was set. */
static int begin(kk_server *s, http_req *r, const char *method)
{
    r->is_openai = !strncmp(r->path, "/v1/", 4) || !strcmp(r->path, "/v1") || !strncmp(r->path, "/dev/", 5);
    /* The API's rules (token, no-store) hold for /v1/ and /metrics too. */
    r->is_api = !strncmp(r->path, "/api/", 5) || !strcmp(r->path, "/api") || r->is_openai || !strcmp(r->path, "/metrics");
    return check_headers(r) && check_access(s, r, method) && route_request(r, method) && expect_body(s, r);
}

/* The whole body is in: parse it and run the handler. 1: a reply is set;
 * 0: deferred to a slow thread. */
static int finish(kk_server *s, http_req *r)
{
    srv_reply *rp = &r->reply;
    struct MHD_Connection *c = r->rq.conn;
    if (r->too_large == 2) {
        srv_reply_error(rp, 413, "too_large", "an uploaded file is over the limit of %zu bytes (--max-upload-mb)",
                        r->part_limit);
        return 1;
    }
    if (r->too_large) {
        srv_reply_error(rp, 413, "too_large", "the body is over the limit of %zu bytes%s", r->limit,
                        r->up ? " for a video (--max-video-mb)"
                        : r->pp ? " for a request with files" : " for a request (JSON: --max-body-mb)");
        return 1;
    }
    if (r->up && srv_upload_failed(r->up, rp)) /* the disk filled, say: the reply says so */
        return 1;
    if (!r->rt) {
        serve_static(s, r->path, rp);
        return 1;
    }
    if (r->pp) {
        enum MHD_Result ok = MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
        if (r->bad_form == 2) {
            srv_reply_error(rp, 413, "too_large", "a form of more than %d fields and files", MAX_FORM_PARTS);
            return 1;
        }
        if (r->up && srv_upload_failed(r->up, rp))
            return 1;
        if (r->bad_form || ok != MHD_YES) {
            srv_bad(rp, r->up_parts > 1 ? "body: one video per request" : "body: malformed multipart/form-data");
            return 1;
        }
    } else if (r->body.len) {
        if (!(r->rt->flags & R_JSON)) {
            srv_bad(rp, "this endpoint takes no body");
            return 1;
        }
        if (!content_type_is(c, "application/json")) {
            srv_reply_error(rp, 415, "unsupported", "a JSON body needs Content-Type: application/json%s",
                            (r->rt->flags & R_FORM) ? " (or multipart/form-data for files)" : "");
            return 1;
        }
        kk_error err = {0};
        if (srv_json_precheck(r->body.data, r->body.len, s->p.max_json_depth, &err)) {
            srv_bad(rp, "body: %s", err.msg);
            return 1;
        }
        const char *where = NULL;
        /* The buffer's NUL is counted in: the opts parser wants to see it
         * after the document (nothing may follow the JSON). */
        r->rq.json = cJSON_ParseWithLengthOpts(r->body.data, r->body.len + 1, &where, 1);
        if (!r->rq.json) {
            srv_bad(rp, "body: malformed JSON near byte %zu",
                    where && where >= r->body.data ? (size_t)(where - r->body.data) : (size_t)0);
            return 1;
        }
    }
    if (r->rt->flags & R_SLOW) {
        if (slow_enqueue(s->slow, r))
            return 0;
        srv_reply_error(rp, 503, "unavailable", "the server is stopping");
        return 1;
    }
    run_handler(r);
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    kk_server *s = cls;
    http_req *r = *con_cls;
    if (!r && !(*con_cls = r = req_new()))
        return MHD_NO;
    if (!r->started) {
        r->rq.srv = s;
        r->rq.conn = c;
        r->rq.method = method;
        r->path = strdup(url ? url : "/");
        r->rq.path = r->path;
        if (!r->path)
            return MHD_NO;
        r->started = 1;
        set_timeout(c, s->p.request_timeout_s);
        if (!begin(s, r, method))
            return reply_now(s, r);
        return MHD_YES;
    }
    if (r->deferred == 2)
        return send_reply(s, r);
    if (r->deferred == 1) /* spurious: still running */
        return MHD_YES;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->received += n;
        if (r->received > r->limit && !r->too_large)
            r->too_large = 1;
        if (r->too_large && r->received > r->limit + DRAIN_BYTES) {
            /* Enough dropped: no reply can be queued while the body comes,
             * so the connection closes. */
            srv_log(s, "%s %s: closed, the body is over %zu bytes", r->rq.method, r->path, r->limit + DRAIN_BYTES);
            return MHD_NO;
        }
        if (r->too_large || r->bad_form || (r->up && srv_upload_failed(r->up, NULL))) {
            /* Read and dropped (the reply says why); a failed upload's
             * body only up to DRAIN_BYTES, then the connection closes. */
            if (r->up && srv_upload_failed(r->up, NULL) && (r->drained += n) > DRAIN_BYTES)
                return MHD_NO;
            return MHD_YES;
        }
        if (r->up && !r->pp) {
            srv_upload_write(r->up, upload_data, n); /* a failure is answered at the end (finish) */
        } else if (r->pp) {
            if (MHD_post_process(r->pp, upload_data, n) != MHD_YES && !r->too_large && !r->bad_form)
                r->bad_form = 1;
        } else if (kk_buf_append(&r->body, upload_data, n)) {
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (!finish(s, r))
        return MHD_YES; /* suspended until the slow thread is done */
    return send_reply(s, r);
}

/* libmicrohttpd's URI log callback: the request line, before the query is
 * parsed. Counts its parameters, and leaves libmicrohttpd none to parse
 * when there are too many (check_headers answers 414): the query string
 * is cut right after its '?' (the buffer is the connection's, writable;
 * libmicrohttpd parses it only after this call). Its result is the
 * request's state (*con_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    http_req *r = req_new();
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (r && q) {
        r->n_query = 1;
        for (const char *p = q + 1; *p; p++)
            r->n_query += *p == '&';
        if (r->n_query > MAX_QUERY_PARAMS)
            ((char *)q)[1] = '\0';
    }
    return r;
}

/* The request's end, its body sent or its connection gone: one log line
 * (with the time to its last byte: a streamed answer's whole length) and
 * the metrics. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)c;
    kk_server *s = cls;
    http_req *r = *con_cls;
    if (r && r->started && r->status) {
        double dt = kk_now_s() - r->t0;
        const char *pattern = r->rt ? r->rt->pattern : r->is_api ? "none" : "static";
        srv_metrics_request(s->metrics, pattern, r->rq.method, r->status, dt);
        if (s->p.log_requests)
            srv_log(s, "%s %s %u %.1f ms%s", r->rq.method, r->path ? r->path : "?", r->status, dt * 1e3,
                    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
    }
    req_free(*con_cls);
    *con_cls = NULL;
}

/* Decodes %XX, except %00: a NUL inside a path or a value would cut it
 * short behind the checks' back, so it stays as the three characters. */
static size_t unescape_url(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    for (const char *p = s; *p;) {
        if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            int v = (int)strtol(hex, NULL, 16);
            if (v) {
                *w++ = (char)v;
                p += 3;
                continue;
            }
        }
        *w++ = *p++;
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    kk_server *s = cls;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    srv_log(s, "http: %s", line);
}

/* ---- start and stop ---- */

kk_server_params kk_server_default_params(void)
{
    return (kk_server_params){
        .host = "127.0.0.1", .port = 8080, .precision = KK_PRECISION_EXACT, .speech_precision = KK_PRECISION_FAST};
}

kk_status kk_server_default_data_dir(char *dst, size_t size, kk_error *err)
{
    const char *env = getenv("KOKORO_DATA_DIR"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(dst, size, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(dst, size, "%s/kokoro/studio", xdg);
    else if (home && *home)
        n = snprintf(dst, size, "%s/.local/share/kokoro/studio", home);
    else
        return kk_error_set(err, KK_ERR_IO, "no place for the studio's data: set KOKORO_DATA_DIR or use --data DIR");
    if (n < 0 || (size_t)n >= size)
        return kk_error_set(err, KK_ERR_ARG, "the data directory's path is too long");
    return KK_OK;
}

/* The web studio's directory: given, from the environment, beside the
 * sources, or installed. NULL when none holds an index.html. */
static char *find_web_dir(const char *given)
{
    const char *env = getenv("KOKORO_WEB_DIR");
    char cand[3][PATH_MAX];
    const char *list[4];
    size_t n = 0;
    if (given)
        list[n++] = given;
    else if (env && *env)
        list[n++] = env;
    else {
        if (KOKORO_SOURCE_DIR[0]) {
            snprintf(cand[0], sizeof cand[0], "%s/web/dist", KOKORO_SOURCE_DIR);
            list[n++] = cand[0];
        }
        snprintf(cand[1], sizeof cand[1], "%s/web", KOKORO_SHARE_DIR);
        list[n++] = cand[1];
    }
    for (size_t i = 0; i < n; i++) {
        char real[PATH_MAX], index[PATH_MAX + 16];
        struct stat st;
        if (!realpath(list[i], real))
            continue;
        snprintf(index, sizeof index, "%s/index.html", real);
        if (stat(index, &st) == 0 && S_ISREG(st.st_mode))
            return strdup(real);
    }
    return NULL;
}

static int is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
    }
    return 0;
}

static int is_wildcard(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
    return 0;
}

static kk_status make_token(char out[65], kk_error *err)
{
    unsigned char b[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof b)
        return kk_error_set(err, KK_ERR_IO, "cannot read /dev/urandom for the token");
    for (size_t i = 0; i < sizeof b; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    return KK_OK;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* A copy of a NULL-terminated list of strings (NULL: an empty one); NULL
 * when memory runs out, nothing left allocated. */
static char **copy_list(const char *const *v, size_t *n)
{
    size_t k = 0;
    while (v && v[k])
        k++;
    *n = 0;
    char **c = calloc(k + 1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < k; i++)
        if (!(c[i] = strdup(v[i]))) {
            free_list(c, i);
            return NULL;
        }
    *n = k;
    return c;
}

/* A copy of an optional string: 0, or -1 when memory runs out. */
static int copy_opt(const char *v, char **out)
{
    *out = v ? strdup(v) : NULL;
    return v && !*out ? -1 : 0;
}

/* The render cache's memory level: a quarter of the audio budget
 * (--memory-mb), so that what the server holds of audio, the studio's and
 * the cache's together, stays near the budget; the disk level keeps the
 * rest. */
static size_t cache_memory(const kk_server *s)
{
    return (s->p.memory_bytes ? s->p.memory_bytes : (size_t)256 << 20) / 4;
}

static kk_status open_cache(kk_server *s, kk_error *err)
{
    kk_cache_params cp = kk_cache_default_params();
    cp.mem_bytes = cache_memory(s);
    char dir[PATH_MAX];
    if (s->p.no_cache) {
        cp.dir = NULL;
    } else if (s->p.cache_dir) {
        cp.dir = s->p.cache_dir;
    } else {
        if (kk_cache_default_dir(dir, sizeof dir, err) != KK_OK)
            return KK_ERR_IO;
        cp.dir = dir;
    }
    return kk_cache_open(&cp, &s->cache, err);
}

static kk_status start_daemon(kk_server *s, kk_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int rc = getaddrinfo(s->host, NULL, &hints, &ai);
    if (rc || !ai)
        return kk_error_set(err, KK_ERR_ARG, "--host %s: %s", s->host, rc ? gai_strerror(rc) : "no address");
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)s->p.port);
        flags |= MHD_USE_IPv6;
    } else {
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)s->p.port);
    }
    s->need_token = s->p.require_token || !is_loopback((struct sockaddr *)&addr);
    s->wildcard = is_wildcard((struct sockaddr *)&addr);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)s->p.port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->p.http_threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)s->p.max_client_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->p.idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!s->daemon)
        return kk_error_set(err, KK_ERR_IO, "cannot listen on %s port %d (in use, or not an address of this machine?)",
                            s->host, s->p.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : s->p.port;
    return KK_OK;
}

/* kk_server_start, and srv_start_without_model with with_model 0 (no
 * engine: s->tts stays NULL, the voices are listed from p->voices_dir). */
static kk_status server_start(const kk_server_params *params, int with_model, kk_server **out, kk_error *err)
{
    *out = NULL;
    kk_server *s = calloc(1, sizeof *s);
    if (!s)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    s->p = *params;
    s->t0 = kk_now_s();
    s->t0_wall = (double)time(NULL);
    pthread_mutex_init(&s->settings_lock, NULL);
    kk_server_params *p = &s->p;
    if (!p->max_upload_bytes)
        p->max_upload_bytes = 50 * MB;
    if (!p->max_video_bytes)
        p->max_video_bytes = (size_t)16 << 30;
    if (!p->max_body_bytes)
        p->max_body_bytes = MB;
    if (p->max_json_depth <= 0)
        p->max_json_depth = 32;
    if (!p->max_segments)
        p->max_segments = 20000;
    if (!p->max_text_bytes)
        p->max_text_bytes = 10000;
    if (p->http_threads <= 0)
        p->http_threads = 8;
    if (p->slow_threads <= 0)
        p->slow_threads = 2;
    if (!p->max_connections)
        p->max_connections = 256;
    if (!p->max_client_connections)
        p->max_client_connections = 64;
    if (p->idle_timeout_s <= 0)
        p->idle_timeout_s = 5;
    if (p->request_timeout_s <= 0)
        p->request_timeout_s = 30;
    if (!p->max_speech_chars)
        p->max_speech_chars = 4096;
    if (p->speech_workers <= 0)
        p->speech_workers = 16;
    if (!p->speech_queue)
        p->speech_queue = 64;
    kk_status st = KK_OK;
    char data_dir[PATH_MAX] = "";
    if (p->data_dir && !*p->data_dir)
        st = kk_error_set(err, KK_ERR_ARG,
                          "the data directory is an empty path: give a directory (--data DIR), or none for the "
                          "default");
    else if (p->data_dir)
        snprintf(data_dir, sizeof data_dir, "%s", p->data_dir);
    else
        st = kk_server_default_data_dir(data_dir, sizeof data_dir, err);
    s->host = strdup(p->host ? p->host : "127.0.0.1");
    s->data_dir = strdup(data_dir);
    s->allow_origins = copy_list(p->allow_origins, &s->n_allow_origins);
    s->allow_hosts = copy_list(p->allow_hosts, &s->n_allow_hosts);
    int copied = !copy_opt(p->model, &s->model) && !copy_opt(p->voices_dir, &s->voices_dir) &&
                 !copy_opt(p->cache_dir, &s->cache_dir);
    if (st == KK_OK && (!s->host || !s->data_dir || !s->allow_origins || !s->allow_hosts || !copied))
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    /* Strings the caller owns are not kept: the server's copies (or NULL)
     * stand in their place. */
    p->host = p->data_dir = p->web_dir = p->token = NULL;
    p->allow_origins = p->allow_hosts = NULL;
    p->model = s->model;
    p->voices_dir = s->voices_dir;
    p->cache_dir = s->cache_dir;
    s->web_dir = find_web_dir(params->web_dir);
    if (params->web_dir && !s->web_dir && st == KK_OK)
        st = kk_error_set(err, KK_ERR_ARG, "--web %s: no index.html there", params->web_dir);
    char failed[PATH_MAX] = "";
    if (st == KK_OK && kk_mkdirs(s->data_dir, 0700, failed, sizeof failed)) {
        int e = errno;
        st = kk_error_set(err, KK_ERR_IO, "%s: cannot create the data directory: %s", failed[0] ? failed : s->data_dir,
                          strerror(e));
    }
    if (st == KK_OK) { /* what the exports of a run that was killed left in tmp/ */
        size_t swept = 0;
        kk_error sweep_err = {0};
        if (srv_export_sweep(s->data_dir, &swept, &sweep_err) != KK_OK)
            srv_log(s, "warning: %s", sweep_err.msg);
        else if (swept)
            srv_log(s, "removed %zu temporary export file%s left in %s/tmp", swept, swept == 1 ? "" : "s", s->data_dir);
    }
    if (st == KK_OK) {
        char db[PATH_MAX + 16];
        snprintf(db, sizeof db, "%s/studio.db", s->data_dir);
        st = kk_store_open(db, &s->store, err);
        if (st == KK_OK) /* checked inside each insert's and split's transaction */
            kk_store_set_max_segments(s->store, p->max_segments);
        if (st == KK_OK) /* video files no project refers to (a crash between link and commit) */
            srv_media_sweep(s);
    }
    if (st == KK_OK && with_model) {
        kk_tts_params tp = kk_tts_default_params();
        tp.model = s->model;
        tp.voices_dir = s->voices_dir;
        st = kk_tts_new(&tp, &s->tts, err);
    } else if (st == KK_OK && !s->voices_dir) {
        st = kk_error_set(err, KK_ERR_ARG, "a server without a model needs its voices directory (voices_dir)");
    }
    if (st == KK_OK && s->tts) {
        /* Decided once, here: what runs is what the cache keys name. The
         * fast mode's weights are packed now, not on the first request. */
        s->precision = kk_tts_precision(s->tts, p->precision, log_line, s);
        s->speech_precision = kk_tts_precision(s->tts, p->speech_precision, log_line, s);
    }
    if (st == KK_OK)
        st = kk_voice_list(srv_voices_dir(s), &s->voices, &s->n_voices, err);
    if (st == KK_OK && open_cache(s, err) != KK_OK) {
        /* Without the disk level renders are not kept across restarts;
         * the memory level still serves this run. */
        srv_log(s, "warning: rendering without a disk cache: %s", err->msg);
        kk_cache_params cp = kk_cache_default_params();
        cp.mem_bytes = cache_memory(s);
        cp.dir = NULL;
        st = kk_cache_open(&cp, &s->cache, err);
    }
    if (st == KK_OK) { /* used only when the token is on (start_daemon decides) */
        if (params->token)
            snprintf(s->token, sizeof s->token, "%s", params->token);
        else
            st = make_token(s->token, err);
    }
    if (st == KK_OK)
        st = srv_events_start(api_hello_json, s, &s->events, err);
    if (st == KK_OK) {
        srv_jobs_env env = {.store = s->store,
                            .tts = s->tts,
                            .cache = s->cache,
                            .events = s->events,
                            .voices = s->voices,
                            .n_voices = s->n_voices,
                            .render_workers = p->render_workers,
                            .precision = s->precision,
                            .backend = p->render_backend,
                            .memory_bytes = p->memory_bytes,
                            .log_renders = p->log_requests,
                            .log = p->log ? log_line : NULL,
                            .log_user = s,
                            .stopping = &s->stopping};
        st = srv_jobs_start(&env, &s->jobs, err);
    }
    if (st == KK_OK)
        st = slow_start(p->slow_threads, &s->slow, err);
    if (st == KK_OK && !(s->metrics = srv_metrics_new()))
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    if (st == KK_OK)
        st = srv_openai_start(s, &s->openai, err);
    if (st == KK_OK)
        st = start_daemon(s, err);
    if (st == KK_OK) {
        char url[1024];
        const char *h = s->wildcard ? "localhost" : s->host;
        int v6 = strchr(h, ':') != NULL;
        snprintf(url, sizeof url, "http://%s%s%s:%d/%s%s", v6 ? "[" : "", h, v6 ? "]" : "", s->port,
                 s->need_token ? "?token=" : "", s->need_token ? s->token : "");
        if (!(s->url = strdup(url)))
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    if (st != KK_OK) {
        kk_server_stop(s);
        return st;
    }
    *out = s;
    return KK_OK;
}

kk_status kk_server_start(const kk_server_params *params, kk_server **out, kk_error *err)
{
    return server_start(params, 1, out, err);
}

kk_status srv_start_without_model(const kk_server_params *params, kk_server **out, kk_error *err)
{
    return server_start(params, 0, out, err);
}

const char *srv_voices_dir(const kk_server *s) { return s->tts ? kk_tts_voices_dir(s->tts) : s->voices_dir; }

int kk_server_port(const kk_server *s) { return s->port; }
const char *kk_server_url(const kk_server *s) { return s->url; }
const char *kk_server_token(const kk_server *s) { return s->need_token ? s->token : NULL; }
const char *kk_server_web_dir(const kk_server *s) { return s->web_dir; }

void kk_server_stop(kk_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    /* No new connections; those open finish what they are doing. */
    if (s->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    srv_openai_stop(s->openai); /* speech ends; its connections resume */
    srv_jobs_stop(s->jobs);     /* cancels the pass in progress */
    slow_stop(s->slow);     /* exports see `stopping` and end; their connections resume */
    if (s->events)
        srv_events_close_all(s->events); /* streams resume and end */
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    srv_openai_free(s->openai);
    srv_metrics_free(s->metrics);
    srv_jobs_free(s->jobs);
    srv_events_free(s->events);
    kk_store_close(s->store);
    kk_cache_close(s->cache);
    kk_tts_free(s->tts);
    free(s->voices);
    free(s->host);
    free(s->data_dir);
    free(s->web_dir);
    free(s->url);
    free(s->model);
    free(s->voices_dir);
    free(s->cache_dir);
    free_list(s->allow_origins, s->n_allow_origins);
    free_list(s->allow_hosts, s->n_allow_hosts);
    pthread_mutex_destroy(&s->settings_lock);
    free(s);
}
