/*
 * media.c - a project's video (docs/api.md, "Video"): the upload streamed
 * to disk, the file served with HTTP Range requests, its removal, the
 * original audio's peaks for the studio's second waveform lane, and the
 * dubbed video's export (replace / add / duck, through kk_mux_video).
 *
 * Files. An upload is written to the data directory's tmp/ as
 * "upload.<random>.tmp", flock'ed while it is written (srv_export_sweep
 * removes one a crashed server left, and leaves a live one of another
 * server alone); when complete it is fsync'ed, probed with FFmpeg (a file
 * without a video stream is refused), and linked into videos/ as
 * "<project>-<random>.<ext>" (link, not rename: an existing name is never
 * replaced), then recorded in the store (store.h, schema version 2). A
 * video replaced or detached, or whose project is deleted, is removed with
 * its peaks cache ("<file>.peaks.json" beside it); at start, files in
 * videos/ that no project refers to are removed (srv_media_sweep: a crash
 * between the link and the store's commit).
 *
 * Memory: an upload holds no more than libmicrohttpd's read buffer (the
 * body goes to the file as it comes); peaks are computed a block at a time
 * (kk_audio_decode_each). The dubbed export streams the track (in memory
 * or in the render's temporary file) and the original audio through the
 * muxer a block at a time (kk_mux_video_io).
 *
 * Threads: srv_upload_* run on the request's pool thread (http.c); the
 * handlers marked slow in http.c's routes run on a slow thread.
 */
#define _XOPEN_SOURCE 700
#include "server_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "kk_time.h"
#include "kk_utf8.h"
#include "tmpfile.h"

#define NAME_MAX_LEN 200
/* The peaks of the waveform lane: this many per second, fewer for a long
 * video so that there are at most MAX_PEAKS (a 2 h film: 25 per second). */
#define PEAKS_PER_S 100
#define MAX_PEAKS 180000

struct srv_upload {
    kk_server *s;
    int fd;
    char *path; /* tmp/upload.<random>.tmp; NULL once taken */
    uint64_t size;
    int err_no; /* a failed write's errno; 0: none */
    char *filename, *type;
};

/* ---- paths ---- */

/* Whether name is one of ours in videos/ (no way out of the directory). */
static int safe_name(const char *name)
{
    if (!name || !*name || name[0] == '.' || strlen(name) > NAME_MAX_LEN)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

/* data_dir/videos/name[suffix]; 0 when it does not fit or name is not ours. */
static int video_path(const kk_server *s, const char *name, const char *suffix, char *out, size_t size)
{
    if (!safe_name(name))
        return 0;
    int n = snprintf(out, size, "%s/videos/%s%s", s->data_dir, name, suffix ? suffix : "");
    return n > 0 && (size_t)n < size;
}

/* ---- the streamed upload ---- */

/* A copy of v of at most max bytes, shortened at a UTF-8 character
 * boundary (a display name: the store keeps 200 bytes); "video" for one
 * that is not UTF-8, NULL for none. */
static char *dup_cut(const char *v, size_t max)
{
    if (!v)
        return NULL;
    size_t n = strlen(v);
    if (n > max) {
        n = max;
        while (n && ((unsigned char)v[n] & 0xc0) == 0x80)
            n--;
    }
    return kk_utf8_valid(v, n) ? strndup(v, n) : strdup("video");
}

int srv_upload_begin(srv_request *rq, srv_upload **out, srv_reply *rp)
{
    kk_server *s = rq->srv;
    *out = NULL;
    kk_store_project sp = {0};
    kk_error err = {0};
    if (kk_store_get_project(s->store, rq->id[0], &sp, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return 0;
    }
    kk_store_project_free(&sp);
    srv_upload *u = calloc(1, sizeof *u);
    char dir[PATH_MAX], base[PATH_MAX + 16];
    if (!u) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return 0;
    }
    u->s = s, u->fd = -1;
    snprintf(dir, sizeof dir, "%s/tmp", s->data_dir);
    snprintf(base, sizeof base, "%s/upload", dir);
    if ((mkdir(dir, 0700) && errno != EEXIST) || (u->fd = kk_tmpfile_create(base, &u->path)) < 0 ||
        flock(u->fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        kk_error fe = {.code = KK_ERR_IO, .sys_errno = e};
        const char *code;
        errno = e;
        unsigned st = srv_error_status(&fe, &code);
        srv_reply_error(rp, st, code, "%s: cannot create a file for the upload: %s%s", dir, strerror(e),
                        st == 507 ? "; free some space" : "");
        srv_upload_free(u);
        return 0;
    }
    const char *name = srv_query(rq, "name"), *type = srv_header(rq, "Content-Type");
    u->filename = dup_cut(name, NAME_MAX_LEN);
    u->type = dup_cut(type, 100);
    *out = u;
    return 1;
}

int srv_upload_write(srv_upload *u, const void *data, size_t n)
{
    if (!u || u->err_no)
        return -1;
    if (kk_write_all(u->fd, data, n)) {
        u->err_no = errno ? errno : EIO;
        return -1;
    }
    u->size += n;
    return 0;
}

void srv_upload_name(srv_upload *u, const char *filename, const char *type)
{
    if (!u)
        return;
    free(u->filename), free(u->type);
    u->filename = dup_cut(filename, NAME_MAX_LEN);
    u->type = dup_cut(type, 100);
}

int srv_upload_failed(const srv_upload *u, srv_reply *rp)
{
    if (!u || !u->err_no)
        return 0;
    if (rp) {
        kk_error fe = {.code = KK_ERR_IO, .sys_errno = u->err_no};
        const char *code;
        errno = u->err_no;
        unsigned st = srv_error_status(&fe, &code);
        srv_reply_error(rp, st, code, "the upload could not be written after %llu bytes: %s%s",
                        (unsigned long long)u->size, strerror(u->err_no),
                        st == 507 ? "; free some space on the data directory's disk" : "");
    }
    return 1;
}

void srv_upload_free(srv_upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd); /* and its lock */
    if (u->path)
        unlink(u->path);
    free(u->path), free(u->filename), free(u->type);
    free(u);
}

/* ---- the store's record and its JSON ---- */

static cJSON *video_json(int64_t project, const kk_store_video *v)
{
    cJSON *o = cJSON_CreateObject();
    char url[64];
    cJSON_AddBoolToObject(o, "attached", 1);
    snprintf(url, sizeof url, "/api/projects/%lld/video", (long long)project);
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "type", v->mime);
    cJSON_AddNumberToObject(o, "size", (double)v->size);
    cJSON_AddNumberToObject(o, "duration_ms", (double)v->duration_ms);
    cJSON_AddNumberToObject(o, "width", v->width);
    cJSON_AddNumberToObject(o, "height", v->height);
    cJSON_AddBoolToObject(o, "has_audio", v->has_audio);
    cJSON_AddStringToObject(o, "url", url);
    return o;
}

char *srv_video_file(kk_server *s, int64_t project)
{
    kk_store_video v;
    kk_error err;
    if (kk_store_get_video(s->store, project, &v, &err) != KK_OK)
        return NULL;
    char *f = v.file ? strdup(v.file) : NULL;
    kk_store_video_free(&v);
    return f;
}

void srv_video_remove(kk_server *s, char *name)
{
    char p[PATH_MAX];
    if (name && video_path(s, name, NULL, p, sizeof p))
        unlink(p);
    if (name && video_path(s, name, ".peaks.json", p, sizeof p))
        unlink(p);
    free(name);
}

void srv_media_sweep(kk_server *s)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/videos", s->data_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **files = NULL;
    size_t n = 0, removed = 0;
    kk_error err = {0};
    if (kk_store_video_files(s->store, &files, &n, &err) != KK_OK) {
        srv_log(s, "warning: not cleaning %s: %s", dir, err.msg);
        closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (!safe_name(name))
            continue;
        size_t len = strlen(name), sl = strlen(".peaks.json");
        size_t base = len > sl && !strcmp(name + len - sl, ".peaks.json") ? len - sl : len;
        int used = 0;
        for (size_t i = 0; i < n && !used; i++)
            used = strlen(files[i]) == base && !strncmp(files[i], name, base);
        struct stat st;
        if (!used && !fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
            !unlinkat(dirfd(d), name, 0))
            removed++;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    if (removed)
        srv_log(s, "removed %zu video file%s no project refers to from %s", removed, removed == 1 ? "" : "s", dir);
}

/* ---- PUT: attach ---- */

static const char *ext_of(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL, *slash = name ? strrchr(name, '/') : NULL;
    return dot && (!slash || dot > slash) ? dot : "";
}

/* The type to serve the file as, and the extension to keep it under,
 * from the container FFmpeg found and the name the client gave. */
static void video_type(const kk_media_info *mi, const char *filename, const char **mime, const char **ext)
{
    const char *e = ext_of(filename);
    if (strstr(mi->container, "matroska") || strstr(mi->container, "webm")) {
        int webm = !strcasecmp(e, ".webm");
        *mime = webm ? "video/webm" : "video/x-matroska", *ext = webm ? ".webm" : ".mkv";
    } else if (strstr(mi->container, "mp4") || strstr(mi->container, "mov")) {
        int mov = !strcasecmp(e, ".mov");
        *mime = mov ? "video/quicktime" : "video/mp4", *ext = mov ? ".mov" : ".mp4";
    } else if (strstr(mi->container, "avi")) {
        *mime = "video/x-msvideo", *ext = ".avi";
    } else if (strstr(mi->container, "ogg")) {
        *mime = "video/ogg", *ext = ".ogv";
    } else {
        *mime = "application/octet-stream", *ext = ".bin";
    }
}

/* Links tmp into videos/ under a fresh name "<project>-<random><ext>";
 * *name gets it (malloc'd). */
static kk_status place_video(kk_server *s, int64_t project, const char *tmp, const char *ext, char **name,
                             kk_error *err)
{
    char dir[PATH_MAX], full[PATH_MAX + 128];
    snprintf(dir, sizeof dir, "%s/videos", s->data_dir);
    if (mkdir(dir, 0700) && errno != EEXIST)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot create the directory: %s", dir, strerror(errno));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long seed = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^ (unsigned long)(uintptr_t)tmp;
    for (int i = 0; i < 100; i++) {
        char base[96];
        snprintf(base, sizeof base, "%lld-%08lx%s", (long long)project, (seed + (unsigned long)i * 104729UL) & 0xffffffffUL,
                 ext);
        snprintf(full, sizeof full, "%s/%s", dir, base);
        if (!link(tmp, full)) {
            if (!(*name = strdup(base))) {
                unlink(full);
                return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
            }
            return KK_OK;
        }
        if (errno != EEXIST) {
            int e = errno;
            kk_error_set(err, KK_ERR_IO, "%s: cannot store the video: %s", full, strerror(e));
            err->sys_errno = e;
            return KK_ERR_IO;
        }
    }
    return kk_error_set(err, KK_ERR_IO, "%s: no free name for the video", dir);
}

void api_video_put(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    srv_upload *u = rq->upload;
    kk_error err = {0};
    if (!u) {
        srv_reply_error(rp, 500, "internal", "the upload has no file");
        return;
    }
    if (!u->size) {
        srv_bad(rp, "body: empty; send the video's bytes (Content-Type video/mp4, ...) or a multipart/form-data "
                    "form with one file");
        return;
    }
    if (fsync(u->fd)) {
        int e = errno;
        kk_error fe = {.code = KK_ERR_IO, .sys_errno = e};
        errno = e;
        srv_reply_error(rp, srv_error_status(&fe, NULL), e == ENOSPC ? "insufficient_storage" : "internal",
                        "the upload could not be saved: %s", strerror(e));
        return;
    }
    kk_media_info mi;
    if (kk_media_probe(u->path, &mi, &err) != KK_OK || !mi.has_video) {
        srv_reply_error(rp, 415, "unsupported", "%s is not a video FFmpeg can read%s%s",
                        u->filename ? u->filename : "the upload", mi.has_video || err.msg[0] ? ": " : "",
                        err.msg[0] ? "the file cannot be read as media" : mi.has_video ? "" : "it has no video stream");
        return;
    }
    const char *mime, *ext;
    video_type(&mi, u->filename, &mime, &ext);
    char *name = NULL, *old = NULL;
    if (place_video(s, rq->id[0], u->path, ext, &name, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    unlink(u->path); /* the file lives on under its new name */
    free(u->path);
    u->path = NULL;
    double dur = mi.video_s > 0 ? mi.video_s : mi.duration_s;
    kk_store_video v = {.file = name,
                        .name = u->filename && *u->filename ? u->filename : "video",
                        .mime = (char *)mime,
                        .size = (int64_t)u->size,
                        .duration_ms = (int64_t)llround(dur * 1000.0),
                        .width = mi.width,
                        .height = mi.height,
                        .has_audio = mi.has_audio};
    if (kk_store_set_video(s->store, rq->id[0], &v, &old, &err) != KK_OK) {
        srv_video_remove(s, name);
        srv_reply_status(rp, &err);
        return;
    }
    srv_log(s, "project %lld: video %s attached (%llu bytes, %.1f s, %dx%d%s)", (long long)rq->id[0], name,
            (unsigned long long)u->size, dur, mi.width, mi.height, mi.has_audio ? ", with audio" : ", no audio");
    srv_video_remove(s, old);
    srv_reply_json(rp, 201, video_json(rq->id[0], &v));
    free(name);
}

/* ---- GET: the file, with Range ---- */

/* Reads "bytes=A-B", "bytes=A-" or "bytes=-N" against a file of size
 * bytes: 1 with [*a, *b] (inclusive) to send, 0 to send the whole file (no
 * Range, another unit, or several ranges: RFC 9110 lets a server ignore
 * those), -1 for a range that is malformed or starts past the end (416). */
static int parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
    if (!h)
        return 0;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "bytes=", 6))
        return 0;
    h += 6;
    if (strchr(h, ','))
        return 0;
    while (*h == ' ')
        h++;
    char *end;
    if (*h == '-') { /* the last N bytes */
        if (h[1] < '0' || h[1] > '9')
            return -1;
        errno = 0;
        unsigned long long n = strtoull(h + 1, &end, 10);
        while (*end == ' ')
            end++;
        if (errno || *end || n == 0 || size == 0)
            return -1;
        *a = n >= size ? 0 : size - n, *b = size - 1;
        return 1;
    }
    if (*h < '0' || *h > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(h, &end, 10), y = UINT64_MAX;
    if (errno || *end != '-')
        return -1;
    h = end + 1;
    if (*h >= '0' && *h <= '9') {
        y = strtoull(h, &end, 10);
        if (errno)
            return -1;
        h = end;
    }
    while (*h == ' ')
        h++;
    if (*h || x > y || x >= size)
        return -1;
    *a = x, *b = y >= size ? size - 1 : y;
    return 1;
}

/* Opens a regular file for reading, never blocking on a FIFO or following
 * a link put in its place. -1 when it is not one. */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, st) || !S_ISREG(st->st_mode) || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) {
        close(fd);
        return -1;
    }
    return fd;
}

void api_video_get(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_video v;
    kk_error err = {0};
    if (kk_store_get_video(s->store, rq->id[0], &v, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    char path[PATH_MAX];
    struct stat st;
    int fd = video_path(s, v.file, NULL, path, sizeof path) ? open_regular(path, &st) : -1;
    if (fd < 0) {
        srv_reply_error(rp, 404, "not_found", "project %lld: the video's file is missing from %s/videos; attach it "
                        "again", (long long)rq->id[0], s->data_dir);
        kk_store_video_free(&v);
        return;
    }
    uint64_t size = (uint64_t)st.st_size, a = 0, b = size ? size - 1 : 0;
    char hv[96];
    int r = parse_range(srv_header(rq, "Range"), size, &a, &b);
    srv_reply_header(rp, "Accept-Ranges", "bytes");
    srv_reply_header(rp, "Cache-Control", "private, no-cache");
    if (r < 0) {
        close(fd);
        snprintf(hv, sizeof hv, "bytes */%llu", (unsigned long long)size);
        srv_reply_header(rp, "Content-Range", hv);
        srv_reply_error(rp, 416, "range_not_satisfiable",
                        "Range \"%.100s\": the video has %llu bytes; ask for bytes=START-END within them",
                        srv_header(rq, "Range"), (unsigned long long)size);
        kk_store_video_free(&v);
        return;
    }
    rp->fd = fd;
    /* rp->type must outlive v: the same type from video_type's fixed list */
    static const char *const types[] = {"video/mp4",       "video/x-matroska", "video/webm",
                                        "video/quicktime", "video/x-msvideo",  "video/ogg"};
    rp->type = "application/octet-stream";
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(v.mime, types[i]))
            rp->type = types[i];
    if (r == 1) {
        rp->status = 206;
        rp->fd_off = a;
        rp->fd_len = b - a + 1;
        snprintf(hv, sizeof hv, "bytes %llu-%llu/%llu", (unsigned long long)a, (unsigned long long)b,
                 (unsigned long long)size);
        srv_reply_header(rp, "Content-Range", hv);
    } else {
        rp->status = 200;
        rp->fd_len = size;
    }
    kk_store_video_free(&v);
}

/* 200 {"attached": false} for a project without a video (not a 404: the
 * studio asks for every project it opens). */
void api_video_info(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_video v;
    kk_error err = {0};
    kk_store_project sp = {0};
    if (kk_store_get_project(s->store, rq->id[0], &sp, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    kk_store_project_free(&sp);
    if (kk_store_get_video(s->store, rq->id[0], &v, &err) != KK_OK) {
        if (err.code != KK_ERR_NOT_FOUND) {
            srv_reply_status(rp, &err);
            return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "attached", 0);
        srv_reply_json(rp, 200, o);
        return;
    }
    srv_reply_json(rp, 200, video_json(rq->id[0], &v));
    kk_store_video_free(&v);
}

void api_video_delete(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    char *old = NULL;
    kk_error err = {0};
    if (kk_store_delete_video(s->store, rq->id[0], &old, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    srv_video_remove(s, old);
    rp->status = 204;
}

/* ---- the original's peaks ---- */

typedef struct peaks_acc {
    kk_buf json;
    double per_s;
    int rate;
    double bin_len; /* samples per peak at rate */
    double pos;     /* samples seen */
    double next;    /* where the current bin ends */
    float peak;
    size_t count;
    int oom;
} peaks_acc;

static void peak_out(peaks_acc *p)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%s%.3f", p->count ? "," : "", p->peak > 1.0f ? 1.0 : p->peak);
    if (kk_buf_append(&p->json, num, (size_t)n))
        p->oom = 1;
    p->count++;
    p->peak = 0.0f;
}

static int on_samples(void *user, const float *x, size_t n, int rate)
{
    peaks_acc *p = user;
    if (!p->rate) {
        p->rate = rate;
        p->bin_len = rate / p->per_s;
        p->next = p->bin_len;
    }
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > p->peak)
            p->peak = a;
        if (++p->pos >= p->next) {
            peak_out(p);
            p->next += p->bin_len;
        }
    }
    return p->oom;
}

void api_video_peaks(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_video v;
    kk_error err = {0};
    if (kk_store_get_video(s->store, rq->id[0], &v, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    char path[PATH_MAX], cache[PATH_MAX];
    if (!video_path(s, v.file, NULL, path, sizeof path) || !video_path(s, v.file, ".peaks.json", cache, sizeof cache)) {
        srv_reply_error(rp, 500, "internal", "project %lld: the video's file name is not one of ours",
                        (long long)rq->id[0]);
        kk_store_video_free(&v);
        return;
    }
    struct stat st;
    int fd = open_regular(cache, &st);
    if (fd >= 0) { /* computed before */
        rp->status = 200, rp->fd = fd, rp->fd_len = (uint64_t)st.st_size;
        rp->type = "application/json; charset=utf-8";
        kk_store_video_free(&v);
        return;
    }
    double dur = v.duration_ms / 1000.0;
    peaks_acc p = {.per_s = dur * PEAKS_PER_S > MAX_PEAKS ? MAX_PEAKS / dur : PEAKS_PER_S};
    char head[160];
    kk_status stt = KK_OK;
    if (v.has_audio) {
        stt = kk_audio_decode_each(path, on_samples, &p, &err);
        if (stt == KK_OK && p.pos > 0 && p.pos > p.next - p.bin_len)
            peak_out(&p); /* the last, partial bin */
        if (p.oom)
            stt = kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
    }
    if (stt != KK_OK) {
        srv_reply_status(rp, &err);
        kk_buf_free(&p.json);
        kk_store_video_free(&v);
        return;
    }
    int hn = snprintf(head, sizeof head, "{\"has_audio\":%s,\"per_second\":%.6g,\"duration_ms\":%lld,\"peaks\":[",
                      v.has_audio ? "true" : "false", p.per_s, (long long)v.duration_ms);
    kk_buf out = {0};
    if (kk_buf_append(&out, head, (size_t)hn) || (p.json.len && kk_buf_append(&out, p.json.data, p.json.len)) ||
        kk_buf_append(&out, "]}", 2)) {
        srv_reply_error(rp, 500, "internal", "out of memory");
    } else {
        kk_error werr = {0};
        if (kk_write_text_file(cache, out.data, "peaks", &werr) != KK_OK) /* a cache: serving goes on without it */
            srv_log(s, "warning: %s", werr.msg);
        rp->status = 200;
        rp->type = "application/json; charset=utf-8";
        rp->len = out.len;
        rp->body = kk_buf_steal(&out);
    }
    kk_buf_free(&out);
    kk_buf_free(&p.json);
    kk_store_video_free(&v);
}

/* ---- the dubbed video ---- */

typedef struct video_how {
    char in[PATH_MAX];
    kk_mux_params mp;
} video_how;

static kk_status write_video(const kk_render_result *r, const char *path, const void *how, srv_export *x,
                             kk_error *err)
{
    const video_how *h = how;
    kk_mux_params mp = h->mp;
    mp.progress = srv_export_writing;
    mp.user = x;
    if (!r->n_samples) { /* an empty project: silence as long as the video */
        static const float one_zero = 0.0f;
        return kk_mux_video(h->in, path, &one_zero, 1, KK_SAMPLE_RATE, &mp, err);
    }
    kk_sample_io io = kk_render_io(r); /* in memory or in its temporary file: streamed either way */
    return kk_mux_video_io(h->in, path, &io, r->n_samples, KK_SAMPLE_RATE, &mp, err);
}

/* A number from the query in [lo, hi]; 1 with *out set (def when absent),
 * 0 with a 400 set. */
static int query_num(srv_request *rq, const char *key, double lo, double hi, double def, double *out, srv_reply *rp)
{
    const char *v = srv_query(rq, key);
    *out = def;
    if (!v)
        return 1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < lo || x > hi) {
        srv_bad(rp, "%s: a number from %g to %g", key, lo, hi);
        return 0;
    }
    *out = x;
    return 1;
}

void api_video_export(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    video_how *h = calloc(1, sizeof *h);
    if (!h) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return;
    }
    h->mp = kk_mux_default_params();
    kk_error err = {0};
    const char *mix = srv_query(rq, "mix"), *container = srv_query(rq, "container");
    if (!mix)
        mix = "replace";
    if (!container)
        container = "mp4";
    if (kk_mix_mode_parse(mix, &h->mp.mix, &err) != KK_OK) {
        srv_bad(rp, "%s", err.msg);
        free(h);
        return;
    }
    if (strcmp(container, "mp4") && strcmp(container, "mkv")) {
        srv_bad(rp, "container: mp4 or mkv");
        free(h);
        return;
    }
    kk_duck_params *d = &h->mp.duck;
    if (!query_num(rq, "duck_db", -60, 0, d->duck_db, &d->duck_db, rp) ||
        !query_num(rq, "attack_ms", 0, 2000, d->attack_ms, &d->attack_ms, rp) ||
        !query_num(rq, "release_ms", 0, 5000, d->release_ms, &d->release_ms, rp)) {
        free(h);
        return;
    }
    kk_store_video v;
    if (kk_store_get_video(s->store, rq->id[0], &v, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        free(h);
        return;
    }
    int ok = video_path(s, v.file, NULL, h->in, sizeof h->in);
    kk_store_video_free(&v);
    if (!ok) {
        srv_reply_error(rp, 500, "internal", "project %lld: the video's file name is not one of ours",
                        (long long)rq->id[0]);
        free(h);
        return;
    }
    int mkv = !strcmp(container, "mkv");
    srv_reply_export(rq, rp, "video", mix, mkv ? ".mkv" : ".mp4", mkv ? "video/x-matroska" : "video/mp4", write_video,
                     h);
    free(h);
}
