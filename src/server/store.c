/*
 * store.c - see store.h. This file owns the database schema and its
 * migrations, the mapping of projects, sources, segments and settings to
 * rows, the history of edits (primitive operations and their inverses, kept
 * as JSON) and the timeline order of segments.
 *
 * Durability: WAL mode with synchronous=FULL. NORMAL would be enough for a
 * killed process (the WAL is in the page cache, the kernel writes it out),
 * but after a power cut or a kernel crash NORMAL may lose the last edits
 * that were already reported as saved; FULL syncs the WAL at every commit,
 * which costs one fsync per edit (a few milliseconds): nothing next to a
 * person's typing.
 *
 * Schema version 1 (PRAGMA user_version; PRAGMA application_id marks the
 * file as ours):
 *
 *   projects  id, name, created_ms, updated_ms, settings (JSON text),
 *             playhead_ms, version, history_pos
 *   sources   (project_id, idx): name, format, size, data
 *   segments  id (AUTOINCREMENT: an id is never given twice, so a client's
 *             cache keyed by id cannot mix two segments up), project_id,
 *             seq (REAL: position of creation), start_ms and end_ms (NULL
 *             when untimed), text, speaker, voice, speed, pitch (NULL: the
 *             project's), words (JSON text: the source's words,
 *             [{"text", "start_ms", "end_ms", "score"?}], score when the
 *             source had one, e.g. WScribe's confidence)
 *   history   (project_id, seq): label, ops = {"do": [op...], "undo": [op...]}
 *   settings  key: value (JSON text)
 *
 * Version 2 adds
 *
 *   videos    project_id (one video per project): file (its name in the
 *             data directory's videos/), name (as uploaded), mime, size,
 *             duration_ms, width, height, has_audio, created_ms
 *
 * Version 3 adds segments.fit (TEXT, NULL: the project's fit; else a fit
 * name the server checks, "words" or a cue fit), an edit like the other
 * segment fields; history entries written before it carry no "fit" and
 * leave it NULL.
 *
 * A video is not part of the edit history (attaching one is not undone);
 * its row goes with the project (ON DELETE CASCADE), its file is the
 * caller's to remove (kk_store_set_video and kk_store_delete_video hand
 * back the name of the file that is no longer referenced).
 *
 * History: projects.history_pos is the seq of the last applied entry; the
 * entries of a project have consecutive seqs, so undo applies the entry at
 * history_pos and moves to history_pos - 1, redo applies history_pos + 1.
 * A new edit deletes the entries above history_pos, and entries more than
 * KK_STORE_HISTORY_MAX below the newest are dropped. The operations are
 *
 *   {"op": "set", "id": N, "v": {field: value, ...}}   set segment fields
 *   {"op": "ins", "after": N, "seg": {all fields, "id"}} insert a segment
 *   {"op": "del", "id": N}                               delete a segment
 *   {"op": "proj", "name": ..., "settings": ...}         project name/settings
 *
 * where a field's JSON null stands for KK_TIME_NONE, no speaker/voice/words,
 * speed 0 and pitch NAN. An insert names the segment that precedes the new
 * one in creation order (0: the first) rather than a seq: renumbering the
 * seqs (when repeated splits leave no room between two of them) then never
 * invalidates a recorded operation. Undo and redo restore the segments'
 * relative order exactly, which is all the timeline order depends on.
 *
 * Timeline order: timed segments by start_ms; an untimed segment follows
 * the timed segment that precedes it in creation order (so a plain-text
 * project is in creation order, and untimed text inserted among timed cues
 * stays where it was put); ties by creation order.
 *
 * Interpretations of store.h: an edit that changes nothing (the patch's
 * values are the current ones) succeeds without a history entry and leaves
 * the version alone; a mask or update with nothing in it is KK_ERR_ARG.
 * Splitting drops the segment's word times (both halves' text changed);
 * merging keeps them when both segments have them. Merging timed segments
 * runs from a's start to the later of the two ends (b's end unless b ends
 * inside a); merging a timed and an untimed segment keeps the timed one's
 * times. An insert of a timed segment goes in creation order right after
 * the last segment that starts at or before it; an untimed one goes last.
 * kk_store_put_setting with json NULL removes the key. The playhead is not
 * a change to the project (version unchanged). Project list: newest created
 * first.
 */
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kk_utf8.h"

/* Edits kept per project (undo depth). Tests build with a smaller value. */
#ifndef KK_STORE_HISTORY_MAX
#define KK_STORE_HISTORY_MAX 1000
#endif

/* How long a call waits for another process's write to finish. */
#define BUSY_TIMEOUT_MS 5000
/* 'KKST': PRAGMA application_id of a Kokoro Studio database. */
#define APPLICATION_ID 1263227732

struct kk_store {
    sqlite3 *db;
    pthread_mutex_t mu; /* held for every public call: one connection, one caller at a time */
    char *path;
    kk_status failed; /* the code of the last SQLite failure (err may be NULL) */
    size_t max_segments; /* a project's most (inserts and splits); 0: no limit */
};

/* ---- schema and migrations ---- */

static const char SCHEMA_V1[] = "CREATE TABLE projects ("
                                " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                " name TEXT NOT NULL,"
                                " created_ms INTEGER NOT NULL,"
                                " updated_ms INTEGER NOT NULL,"
                                " settings TEXT NOT NULL,"
                                " playhead_ms INTEGER NOT NULL DEFAULT 0,"
                                " version INTEGER NOT NULL DEFAULT 1,"
                                " history_pos INTEGER NOT NULL DEFAULT 0);"
                                "CREATE TABLE sources ("
                                " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
                                " idx INTEGER NOT NULL,"
                                " name TEXT NOT NULL,"
                                " format TEXT NOT NULL,"
                                " size INTEGER NOT NULL,"
                                " data BLOB NOT NULL,"
                                " PRIMARY KEY (project_id, idx));"
                                "CREATE TABLE segments ("
                                " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
                                " seq REAL NOT NULL,"
                                " start_ms INTEGER,"
                                " end_ms INTEGER,"
                                " text TEXT NOT NULL,"
                                " speaker TEXT,"
                                " voice TEXT,"
                                " speed REAL,"
                                " pitch REAL,"
                                " words TEXT);"
                                "CREATE INDEX segments_by_seq ON segments(project_id, seq);"
                                "CREATE TABLE history ("
                                " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
                                " seq INTEGER NOT NULL,"
                                " label TEXT NOT NULL,"
                                " ops TEXT NOT NULL,"
                                " PRIMARY KEY (project_id, seq));"
                                "CREATE TABLE settings ("
                                " key TEXT PRIMARY KEY,"
                                " value TEXT NOT NULL);";

static const char SCHEMA_V2[] = "CREATE TABLE videos ("
                                " project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,"
                                " file TEXT NOT NULL,"
                                " name TEXT NOT NULL,"
                                " mime TEXT NOT NULL,"
                                " size INTEGER NOT NULL,"
                                " duration_ms INTEGER NOT NULL,"
                                " width INTEGER NOT NULL,"
                                " height INTEGER NOT NULL,"
                                " has_audio INTEGER NOT NULL,"
                                " created_ms INTEGER NOT NULL);";

/* Migration i takes a database at version i to version i + 1: SQL, then an
 * optional function for what SQL cannot do. Version 2 is one more line. */
typedef struct migration {
    const char *sql;
    kk_status (*fn)(kk_store *s, kk_error *err);
} migration;

static const migration MIGRATIONS[] = {
    {SCHEMA_V1, NULL}, /* 0 -> 1 */
    {SCHEMA_V2, NULL}, /* 1 -> 2: videos */
    {"ALTER TABLE segments ADD COLUMN fit TEXT;", NULL}, /* 2 -> 3: a segment's own fit */
};
#define SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static kk_status nomem(kk_error *err) { return kk_error_set(err, KK_ERR_NOMEM, "out of memory"); }

static kk_status db_code(int rc)
{
    switch (rc & 0xff) {
        case SQLITE_NOMEM: return KK_ERR_NOMEM;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB: return KK_ERR_INPUT;
        default: return KK_ERR_IO;
    }
}

/* err from SQLite's state after rc, while doing `what` ("saving the edit"). */
static kk_status db_fail(kk_store *s, int rc, const char *what, kk_error *err)
{
    s->failed = db_code(rc);
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    const char *p = s->path;
    switch (rc & 0xff) {
        case SQLITE_NOMEM: return nomem(err);
        case SQLITE_FULL:
            kk_error_set(err, KK_ERR_IO, "%s: %s failed: the disk is full (%s); free some space and try again", p,
                         what, msg);
            if (err) /* SQLite says so: whatever errno holds now (kk_error_disk_full) */
                err->sys_errno = ENOSPC;
            return KK_ERR_IO;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return kk_error_set(err, KK_ERR_IO,
                                "%s: %s failed: the database is locked by another program (%s); close other "
                                "Kokoro Studio instances using this file, or try again",
                                p, what, msg);
        case SQLITE_READONLY:
        case SQLITE_PERM:
            return kk_error_set(err, KK_ERR_IO,
                                "%s: %s failed: the database cannot be written (%s); check the permissions of "
                                "the file and of its directory",
                                p, what, msg);
        case SQLITE_CANTOPEN:
            return kk_error_set(err, KK_ERR_IO,
                                "%s: %s failed: cannot open the database (%s); check that the directory exists and "
                                "is writable",
                                p, what, msg);
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return kk_error_set(err, KK_ERR_INPUT,
                                "%s: %s failed: the file is damaged or is not a Kokoro Studio database (%s); "
                                "restore it from a backup or start with a new file",
                                p, what, msg);
        case SQLITE_IOERR:
            return kk_error_set(err, KK_ERR_IO,
                                "%s: %s failed: the disk could not be read or written (%s); check the disk and "
                                "its free space",
                                p, what, msg);
        default: return kk_error_set(err, KK_ERR_IO, "%s: %s failed: %s", p, what, msg);
    }
}

static kk_status prep(kk_store *s, const char *sql, sqlite3_stmt **st, kk_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return db_fail(s, rc, "preparing a query", err);
    }
    return KK_OK;
}

static kk_status exec(kk_store *s, const char *sql, const char *what, kk_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? KK_OK : db_fail(s, rc, what, err);
}

/* Steps a statement that returns no row (or whose rows do not matter). */
static kk_status step_done(kk_store *s, sqlite3_stmt *st, const char *what, kk_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return KK_OK;
    return db_fail(s, rc, what, err);
}

/* SQLITE_ROW: 1, SQLITE_DONE: 0, an error: -1 with err set. */
static int step_row(kk_store *s, sqlite3_stmt *st, const char *what, kk_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    db_fail(s, rc, what, err);
    return -1;
}

static void bind_time(sqlite3_stmt *st, int i, int64_t ms)
{
    if (ms == KK_TIME_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, ms);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* A malloc'd copy of a text column (NULL for SQL NULL); -1 when out of memory. */
static int col_dup(sqlite3_stmt *st, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return 0;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return -1;
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    char *c = malloc(n + 1);
    if (!c)
        return -1;
    memcpy(c, t, n);
    c[n] = '\0';
    *out = c;
    return 0;
}

static int str_eq(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* NUL-terminated text that is UTF-8 (kk_utf8_valid). */
static int utf8_valid(const char *s) { return kk_utf8_valid(s, strlen(s)); }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* A malloc'd copy of s[0, n) without white space at either end. */
static char *dup_trimmed(const char *s, size_t n)
{
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* ---- locking and transactions ---- */

static void lock(kk_store *s) { pthread_mutex_lock(&s->mu); }
static void unlock(kk_store *s) { pthread_mutex_unlock(&s->mu); }

/* A write transaction: IMMEDIATE takes the write lock at once, so two
 * processes never both read, then both try to write (which would fail one
 * of them with SQLITE_BUSY instead of waiting). */
static kk_status tx_write(kk_store *s, kk_error *err) { return exec(s, "BEGIN IMMEDIATE", "starting an edit", err); }
/* A read transaction: one snapshot for the several queries of one call. */
static kk_status tx_read(kk_store *s, kk_error *err) { return exec(s, "BEGIN", "starting a read", err); }

/* Commits when st is KK_OK, else (or when the commit fails) rolls back;
 * err keeps the first failure's message. */
static kk_status tx_end(kk_store *s, kk_status st, kk_error *err)
{
    if (st == KK_OK) {
        st = exec(s, "COMMIT", "saving the change", err);
        if (st == KK_OK)
            return KK_OK;
    }
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* ---- open and close ---- */

static kk_status pragma_int(kk_store *s, const char *sql, int *out, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s, sql, &st, err);
    if (r != KK_OK)
        return r;
    int row = step_row(s, st, "reading the database header", err);
    *out = row == 1 ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return row < 0 ? s->failed : KK_OK;
}

static kk_status refuse_newer(kk_store *s, int version, kk_error *err)
{
    return kk_error_set(err, KK_ERR_UNSUPPORTED,
                        "%s: the database is from a newer Kokoro Studio (schema version %d; this version reads up to "
                        "%d); open it with the newer Kokoro Studio, or use another database file",
                        s->path, version, SCHEMA_VERSION);
}

static kk_status refuse_foreign(kk_store *s, kk_error *err)
{
    return kk_error_set(err, KK_ERR_INPUT,
                        "%s: this SQLite database belongs to another program (it is not a Kokoro Studio "
                        "database); give the studio a new file name",
                        s->path);
}

/* Brings the schema to SCHEMA_VERSION, all in one transaction. */
static kk_status migrate(kk_store *s, kk_error *err)
{
    int version, app;
    kk_status st = tx_write(s, err);
    if (st != KK_OK)
        return st;
    /* read again under the write lock: another process may have migrated */
    if ((st = pragma_int(s, "PRAGMA user_version", &version, err)) != KK_OK ||
        (st = pragma_int(s, "PRAGMA application_id", &app, err)) != KK_OK)
        return tx_end(s, st, err);
    if (version > SCHEMA_VERSION)
        return tx_end(s, refuse_newer(s, version, err), err);
    if (app != 0 && app != APPLICATION_ID)
        return tx_end(s, refuse_foreign(s, err), err);
    if (version == 0) {
        int tables;
        if ((st = pragma_int(s, "SELECT count(*) FROM sqlite_master", &tables, err)) != KK_OK)
            return tx_end(s, st, err);
        if (tables)
            return tx_end(s, refuse_foreign(s, err), err);
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d", APPLICATION_ID);
        if ((st = exec(s, sql, "marking the database as Kokoro Studio's", err)) != KK_OK)
            return tx_end(s, st, err);
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
        if ((st = exec(s, MIGRATIONS[v].sql, "updating the database schema", err)) != KK_OK)
            return tx_end(s, st, err);
        if (MIGRATIONS[v].fn && (st = MIGRATIONS[v].fn(s, err)) != KK_OK)
            return tx_end(s, st, err);
    }
    if (version != SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
        if ((st = exec(s, sql, "updating the database schema", err)) != KK_OK)
            return tx_end(s, st, err);
    }
    return tx_end(s, KK_OK, err);
}

kk_status kk_store_open(const char *path, kk_store **out, kk_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return kk_error_set(err, KK_ERR_ARG, "the studio's database needs a file name");
    kk_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return nomem(err);
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->path), free(s);
        return kk_error_set(err, KK_ERR_NOMEM, "cannot create a mutex for the database");
    }
    /* NOMUTEX: our own mutex already serialises every use of the connection */
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    kk_status st = KK_OK;
    if (rc != SQLITE_OK) {
        st = db_fail(s, rc, "opening the database", err);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        st = kk_error_set(err, KK_ERR_IO,
                          "%s: the database can only be read (the file is write-protected); check the permissions "
                          "of the file and of its directory",
                          path);
        goto fail;
    }
    /* Refuse a newer schema or another program's database before changing
     * anything in the file (the journal mode below is written to it). */
    int version = 0, app = 0, tables = 0;
    if ((st = pragma_int(s, "PRAGMA user_version", &version, err)) != KK_OK ||
        (st = pragma_int(s, "PRAGMA application_id", &app, err)) != KK_OK ||
        (st = pragma_int(s, "SELECT count(*) FROM sqlite_master", &tables, err)) != KK_OK)
        goto fail;
    if (version > SCHEMA_VERSION) {
        st = refuse_newer(s, version, err);
        goto fail;
    }
    if ((app != 0 && app != APPLICATION_ID) || (version == 0 && tables)) {
        st = refuse_foreign(s, err);
        goto fail;
    }
    /* WAL: readers do not block the writer, and a commit is one append.
     * Where WAL is impossible (some network file systems) SQLite keeps its
     * rollback journal, which is as safe, only slower. */
    if ((st = exec(s, "PRAGMA foreign_keys = ON", "turning foreign keys on", err)) != KK_OK ||
        (st = exec(s, "PRAGMA journal_mode = WAL", "switching to WAL mode", err)) != KK_OK ||
        (st = exec(s, "PRAGMA synchronous = FULL", "setting synchronous writes", err)) != KK_OK ||
        (version < SCHEMA_VERSION && (st = migrate(s, err)) != KK_OK))
        goto fail;
    *out = s;
    return KK_OK;
fail:
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s->path), free(s);
    return st;
}

void kk_store_close(kk_store *s)
{
    if (!s)
        return;
    /* every statement is finalized before its call returns, so this closes */
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

void kk_store_set_max_segments(kk_store *s, size_t max)
{
    lock(s);
    s->max_segments = max;
    unlock(s);
}

/* ---- projects: lookups ---- */

static kk_status no_project(int64_t id, kk_error *err)
{
    return kk_error_set(err, KK_ERR_NOT_FOUND, "project %lld does not exist", (long long)id);
}

/* The project's history position; KK_ERR_NOT_FOUND when there is none. */
static kk_status project_pos(kk_store *s, int64_t project, int64_t *pos, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT history_pos FROM projects WHERE id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    int row = step_row(s, st, "reading the project", err);
    if (row == 1)
        *pos = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return row == 1 ? KK_OK : row == 0 ? no_project(project, err) : s->failed;
}

static kk_status check_settings(const char *json, kk_error *err)
{
    cJSON *j = cJSON_Parse(json);
    int ok = cJSON_IsObject(j);
    cJSON_Delete(j);
    if (!ok)
        return kk_error_set(err, KK_ERR_ARG, "project settings must be a JSON object, not: %.80s", json);
    return KK_OK;
}

static kk_status check_name(const char *name, kk_error *err)
{
    if (!name || !*name)
        return kk_error_set(err, KK_ERR_ARG, "a project needs a name");
    if (!utf8_valid(name))
        return kk_error_set(err, KK_ERR_ARG, "the project name is not valid UTF-8");
    return KK_OK;
}

/* ---- segments: fields, validation, rows and JSON ---- */

enum { F_INT, F_REAL, F_TEXT };

/* The segment fields an operation can carry: JSON key = column name. */
static const struct {
    const char *name;
    int kind;
} FIELDS[] = {
    {"start_ms", F_INT}, {"end_ms", F_INT}, {"text", F_TEXT},  {"speaker", F_TEXT},
    {"voice", F_TEXT},   {"speed", F_REAL}, {"pitch", F_REAL}, {"words", F_TEXT},
    {"fit", F_TEXT},
};
enum { FI_START, FI_END, FI_TEXT, FI_SPEAKER, FI_VOICE, FI_SPEED, FI_PITCH, FI_WORDS, FI_FIT, N_FIELDS };

#define SEG_COLS "id, start_ms, end_ms, text, speaker, voice, speed, pitch, words, fit"

static int field_index(const char *name)
{
    for (int k = 0; k < N_FIELDS; k++)
        if (name && !strcmp(FIELDS[k].name, name))
            return k;
    return -1;
}

static int field_eq(int k, const kk_store_segment *a, const kk_store_segment *b)
{
    switch (k) {
        case FI_START: return a->start_ms == b->start_ms;
        case FI_END: return a->end_ms == b->end_ms;
        case FI_TEXT: return str_eq(a->text, b->text);
        case FI_SPEAKER: return str_eq(a->speaker, b->speaker);
        case FI_VOICE: return str_eq(a->voice, b->voice);
        case FI_SPEED: return a->speed == b->speed;
        case FI_PITCH: return (isnan(a->pitch) && isnan(b->pitch)) || a->pitch == b->pitch;
        case FI_FIT: return str_eq(a->fit, b->fit);
        default: return str_eq(a->words_json, b->words_json);
    }
}

/* Field k of g as JSON (null for none / the project's). */
static cJSON *field_json(int k, const kk_store_segment *g)
{
    const char *t = NULL;
    switch (k) {
        case FI_START:
            return g->start_ms == KK_TIME_NONE ? cJSON_CreateNull() : cJSON_CreateNumber((double)g->start_ms);
        case FI_END: return g->end_ms == KK_TIME_NONE ? cJSON_CreateNull() : cJSON_CreateNumber((double)g->end_ms);
        case FI_SPEED: return g->speed == 0 ? cJSON_CreateNull() : cJSON_CreateNumber(g->speed);
        case FI_PITCH: return isnan(g->pitch) ? cJSON_CreateNull() : cJSON_CreateNumber(g->pitch);
        case FI_TEXT: t = g->text; break;
        case FI_SPEAKER: t = g->speaker; break;
        case FI_VOICE: t = g->voice; break;
        case FI_FIT: t = g->fit; break;
        default: t = g->words_json; break;
    }
    return t ? cJSON_CreateString(t) : cJSON_CreateNull();
}

/* Adds item to obj under key; on failure frees item and sets *oom. */
static void jadd(cJSON *obj, const char *key, cJSON *item, int *oom)
{
    if (!obj || !item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        *oom = 1;
    }
}

/* Every field of g and its id, as an "ins" operation carries it. */
static cJSON *segment_json(const kk_store_segment *g)
{
    int oom = 0;
    cJSON *o = cJSON_CreateObject();
    jadd(o, "id", cJSON_CreateNumber((double)g->id), &oom);
    for (int k = 0; k < N_FIELDS; k++)
        jadd(o, FIELDS[k].name, field_json(k, g), &oom);
    if (oom) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Binds a JSON field value (from an operation) to a statement parameter;
 * 0 when the value does not fit the field (a damaged history). */
static int bind_field(sqlite3_stmt *st, int i, int k, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) {
        if (k == FI_TEXT)
            return 0;
        sqlite3_bind_null(st, i);
        return 1;
    }
    switch (FIELDS[k].kind) {
        case F_INT:
            if (!cJSON_IsNumber(v))
                return 0;
            sqlite3_bind_int64(st, i, (int64_t)v->valuedouble);
            return 1;
        case F_REAL:
            if (!cJSON_IsNumber(v))
                return 0;
            sqlite3_bind_double(st, i, v->valuedouble);
            return 1;
        default:
            if (!cJSON_IsString(v))
                return 0;
            sqlite3_bind_text(st, i, v->valuestring, -1, SQLITE_TRANSIENT);
            return 1;
    }
}

/* A row of SEG_COLS (from column col0) into g; KK_ERR_NOMEM or KK_OK. */
static kk_status read_segment(sqlite3_stmt *st, int col0, kk_store_segment *g, kk_error *err)
{
    memset(g, 0, sizeof *g);
    g->id = sqlite3_column_int64(st, col0);
    g->start_ms = sqlite3_column_type(st, col0 + 1) == SQLITE_NULL ? KK_TIME_NONE : sqlite3_column_int64(st, col0 + 1);
    g->end_ms = sqlite3_column_type(st, col0 + 2) == SQLITE_NULL ? KK_TIME_NONE : sqlite3_column_int64(st, col0 + 2);
    g->speed = sqlite3_column_type(st, col0 + 6) == SQLITE_NULL ? 0 : sqlite3_column_double(st, col0 + 6);
    g->pitch = sqlite3_column_type(st, col0 + 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col0 + 7);
    if (col_dup(st, col0 + 3, &g->text) || col_dup(st, col0 + 4, &g->speaker) || col_dup(st, col0 + 5, &g->voice) ||
        col_dup(st, col0 + 8, &g->words_json) || col_dup(st, col0 + 9, &g->fit) ||
        (!g->text && !(g->text = strdup("")))) {
        kk_store_segment_free(g);
        return nomem(err);
    }
    return KK_OK;
}

void kk_store_segment_free(kk_store_segment *g)
{
    if (!g)
        return;
    free(g->text), free(g->speaker), free(g->voice), free(g->words_json), free(g->fit);
    g->text = g->speaker = g->voice = g->words_json = g->fit = NULL;
}

void kk_store_segments_free(kk_store_segment *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        kk_store_segment_free(&v[i]);
    free(v);
}

/* Loads segment id of project; KK_ERR_NOT_FOUND naming which is missing. */
static kk_status load_segment(kk_store *s, int64_t project, int64_t id, kk_store_segment *g, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT " SEG_COLS " FROM segments WHERE id = ? AND project_id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, project);
    int row = step_row(s, st, "reading a segment", err);
    if (row == 1)
        r = read_segment(st, 0, g, err);
    else if (row < 0)
        r = s->failed;
    sqlite3_finalize(st);
    if (row == 0) {
        int64_t pos;
        r = project_pos(s, project, &pos, err);
        if (r == KK_OK)
            r = kk_error_set(err, KK_ERR_NOT_FOUND, "segment %lld does not exist in project %lld", (long long)id,
                             (long long)project);
    }
    return r;
}

static kk_status check_times(int64_t start, int64_t end, kk_error *err)
{
    if (start == KK_TIME_NONE && end == KK_TIME_NONE)
        return KK_OK;
    if (start == KK_TIME_NONE || end == KK_TIME_NONE)
        return kk_error_set(err, KK_ERR_ARG, "a segment has both a start and an end time, or neither (untimed text)");
    if (start < 0 || end < 0)
        return kk_error_set(err, KK_ERR_ARG, "segment times cannot be negative (%lld..%lld ms)", (long long)start,
                            (long long)end);
    if (end < start)
        return kk_error_set(err, KK_ERR_ARG, "the segment's end (%lld ms) is before its start (%lld ms)",
                            (long long)end, (long long)start);
    return KK_OK;
}

static kk_status check_words(const char *json, kk_error *err)
{
    if (!json)
        return KK_OK;
    cJSON *j = cJSON_Parse(json);
    int ok = cJSON_IsArray(j);
    cJSON_Delete(j);
    return ok ? KK_OK : kk_error_set(err, KK_ERR_ARG, "segment word times must be a JSON array");
}

/* Checks the fields in mask of g (a segment as it would be stored). */
static kk_status check_segment(const kk_store_segment *g, unsigned mask, kk_error *err)
{
    kk_status r;
    if (mask & KK_SEG_TEXT) {
        if (!g->text)
            return kk_error_set(err, KK_ERR_ARG, "a segment needs a text (it may be empty)");
        if (!utf8_valid(g->text))
            return kk_error_set(err, KK_ERR_ARG, "the segment text is not valid UTF-8");
    }
    if ((mask & KK_SEG_TIMES) && (r = check_times(g->start_ms, g->end_ms, err)) != KK_OK)
        return r;
    if ((mask & KK_SEG_SPEAKER) && g->speaker && !utf8_valid(g->speaker))
        return kk_error_set(err, KK_ERR_ARG, "the speaker name is not valid UTF-8");
    if ((mask & KK_SEG_VOICE) && g->voice && (!*g->voice || !utf8_valid(g->voice)))
        return kk_error_set(err, KK_ERR_ARG, "a voice name cannot be empty (NULL uses the project's voice)");
    if ((mask & KK_SEG_SPEED) && (!isfinite(g->speed) || g->speed < 0))
        return kk_error_set(err, KK_ERR_ARG, "speed must be a positive number (0 uses the project's), not %g",
                            g->speed);
    if ((mask & KK_SEG_WORDS) && (r = check_words(g->words_json, err)) != KK_OK)
        return r;
    if ((mask & KK_SEG_FIT) && g->fit && (!*g->fit || !utf8_valid(g->fit)))
        return kk_error_set(err, KK_ERR_ARG, "a fit name cannot be empty (NULL uses the project's fit)");
    if ((mask & KK_SEG_PITCH) && isinf(g->pitch))
        return kk_error_set(err, KK_ERR_ARG, "pitch must be a finite number (NAN uses the project's)");
    return KK_OK;
}

/* ---- timeline order ---- */

typedef struct ord {
    int64_t id;
    double seq;
    int64_t start; /* KK_TIME_NONE when untimed */
    int64_t key;   /* the start, or for untimed text its anchor's */
    size_t idx;    /* position in creation order */
} ord;

static int ord_cmp(const void *pa, const void *pb)
{
    const ord *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* v (in creation order) sorted into timeline order, keys computed. */
static void timeline_sort(ord *v, size_t n)
{
    int64_t anchor = INT64_MIN; /* untimed text before any timed segment comes first */
    for (size_t i = 0; i < n; i++) {
        v[i].idx = i;
        if (v[i].start != KK_TIME_NONE)
            anchor = v[i].start;
        v[i].key = v[i].start != KK_TIME_NONE ? v[i].start : anchor;
    }
    if (n) /* v is NULL for an empty project, and qsort's v must not be */
        qsort(v, n, sizeof *v, ord_cmp);
}

/* The project's segments' ids in timeline order. */
static kk_status load_order(kk_store *s, int64_t project, ord **out, size_t *n, kk_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT id, seq, start_ms FROM segments WHERE project_id = ? ORDER BY seq, id", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    ord *v = NULL;
    size_t len = 0, cap = 0;
    int row;
    while ((row = step_row(s, st, "reading the segments", err)) == 1) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 64;
            ord *nv = realloc(v, nc * sizeof *v);
            if (!nv) {
                row = -2;
                break;
            }
            v = nv, cap = nc;
        }
        v[len].id = sqlite3_column_int64(st, 0);
        v[len].seq = sqlite3_column_double(st, 1);
        v[len].start = sqlite3_column_type(st, 2) == SQLITE_NULL ? KK_TIME_NONE : sqlite3_column_int64(st, 2);
        len++;
    }
    sqlite3_finalize(st);
    if (row < 0) {
        free(v);
        return row == -2 ? nomem(err) : s->failed;
    }
    timeline_sort(v, len);
    *out = v;
    *n = len;
    return KK_OK;
}

/* ---- primitive operations ---- */

static kk_status damaged(kk_store *s, int64_t project, kk_error *err)
{
    return kk_error_set(err, KK_ERR_INPUT,
                        "%s: the edit history of project %lld does not match its segments (was the database "
                        "changed by another program?); the edit cannot be undone or redone",
                        s->path, (long long)project);
}

/* Gives the project's segments seqs 1, 2, 3... in their current order, so
 * that there is room between any two again. */
static kk_status renumber(kk_store *s, int64_t project, kk_error *err)
{
    ord *v;
    size_t n;
    kk_status r = load_order(s, project, &v, &n, err);
    if (r != KK_OK)
        return r;
    sqlite3_stmt *st;
    if ((r = prep(s, "UPDATE segments SET seq = ? WHERE id = ?", &st, err)) == KK_OK) {
        for (size_t i = 0; i < n && r == KK_OK; i++) {
            /* idx is the position in creation order */
            sqlite3_bind_double(st, 1, (double)(v[i].idx + 1));
            sqlite3_bind_int64(st, 2, v[i].id);
            r = step_done(s, st, "renumbering segments", err);
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
    }
    free(v);
    return r;
}

/* The seq for a new segment right after segment `after` (0: first) in
 * creation order; *found 0 when `after` is not in the project. */
static kk_status seq_after(kk_store *s, int64_t project, int64_t after, double *seq, int *found, kk_error *err)
{
    *found = 1;
    for (int attempt = 0; attempt < 2; attempt++) {
        sqlite3_stmt *st;
        kk_status r;
        double lo = 0;
        int have_lo = 0, have_hi = 0;
        double hi = 0;
        if (after) {
            if ((r = prep(s, "SELECT seq FROM segments WHERE id = ? AND project_id = ?", &st, err)) != KK_OK)
                return r;
            sqlite3_bind_int64(st, 1, after);
            sqlite3_bind_int64(st, 2, project);
            int row = step_row(s, st, "reading a segment", err);
            if (row == 1)
                lo = sqlite3_column_double(st, 0), have_lo = 1;
            sqlite3_finalize(st);
            if (row < 0)
                return s->failed;
            if (!row) {
                *found = 0;
                return KK_OK;
            }
            r = prep(s,
                     "SELECT seq FROM segments WHERE project_id = ?1 AND (seq > ?2 OR (seq = ?2 AND id > ?3)) "
                     "ORDER BY seq, id LIMIT 1",
                     &st, err);
        } else {
            r = prep(s, "SELECT seq FROM segments WHERE project_id = ?1 ORDER BY seq, id LIMIT 1", &st, err);
        }
        if (r != KK_OK)
            return r;
        sqlite3_bind_int64(st, 1, project);
        if (after) {
            sqlite3_bind_double(st, 2, lo);
            sqlite3_bind_int64(st, 3, after);
        }
        int row = step_row(s, st, "reading a segment", err);
        if (row == 1)
            hi = sqlite3_column_double(st, 0), have_hi = 1;
        sqlite3_finalize(st);
        if (row < 0)
            return s->failed;
        double v = have_lo && have_hi ? lo + (hi - lo) / 2 : have_lo ? lo + 1 : have_hi ? hi - 1 : 1;
        if ((!have_lo || v > lo) && (!have_hi || v < hi)) {
            *seq = v;
            return KK_OK;
        }
        /* no double between the neighbours: renumber and try once more */
        if ((r = renumber(s, project, err)) != KK_OK)
            return r;
    }
    return damaged(s, project, err);
}

/* The segment that precedes id in creation order (0: none). */
static kk_status seq_before(kk_store *s, int64_t project, int64_t id, int64_t *before, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s,
                       "SELECT p.id FROM segments p, segments g WHERE g.id = ?2 AND p.project_id = ?1 AND "
                       "(p.seq < g.seq OR (p.seq = g.seq AND p.id < g.id)) ORDER BY p.seq DESC, p.id DESC LIMIT 1",
                       &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    sqlite3_bind_int64(st, 2, id);
    int row = step_row(s, st, "reading the segments", err);
    *before = row == 1 ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return row < 0 ? s->failed : KK_OK;
}

static kk_status apply_set(kk_store *s, int64_t project, const cJSON *op, int64_t *id, kk_error *err)
{
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(op, "id"), *v = cJSON_GetObjectItemCaseSensitive(op, "v");
    if (!cJSON_IsNumber(jid) || !cJSON_IsObject(v) || !v->child)
        return damaged(s, project, err);
    *id = (int64_t)jid->valuedouble;
    char sql[512] = "UPDATE segments SET ";
    size_t len = strlen(sql);
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, v)
    {
        int k = field_index(f->string);
        if (k < 0 || n >= N_FIELDS)
            return damaged(s, project, err);
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s = ?", n ? ", " : "", FIELDS[k].name);
        n++;
    }
    snprintf(sql + len, sizeof sql - len, " WHERE id = ? AND project_id = ?");
    sqlite3_stmt *st;
    kk_status r = prep(s, sql, &st, err);
    if (r != KK_OK)
        return r;
    int i = 1;
    cJSON_ArrayForEach(f, v)
    {
        if (!bind_field(st, i++, field_index(f->string), f)) {
            sqlite3_finalize(st);
            return damaged(s, project, err);
        }
    }
    sqlite3_bind_int64(st, i++, *id);
    sqlite3_bind_int64(st, i, project);
    r = step_done(s, st, "changing a segment", err);
    sqlite3_finalize(st);
    if (r == KK_OK && sqlite3_changes(s->db) != 1)
        r = damaged(s, project, err);
    return r;
}

/* Inserts op's segment; an id of 0 (a new segment) gets a fresh id, which
 * is written back into op so that a redo brings the same id back. */
static kk_status apply_ins(kk_store *s, int64_t project, cJSON *op, int64_t *id, kk_error *err)
{
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(op, "after");
    cJSON *seg = cJSON_GetObjectItemCaseSensitive(op, "seg");
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(seg, "id");
    if (!cJSON_IsNumber(after) || !cJSON_IsObject(seg) || !cJSON_IsNumber(jid))
        return damaged(s, project, err);
    double seq = 0;
    int found = 0;
    kk_status r = seq_after(s, project, (int64_t)after->valuedouble, &seq, &found, err);
    if (r != KK_OK)
        return r;
    if (!found)
        return damaged(s, project, err);
    sqlite3_stmt *st;
    r = prep(s,
             "INSERT INTO segments (id, project_id, seq, start_ms, end_ms, text, speaker, voice, speed, pitch, words, "
             "fit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             &st, err);
    if (r != KK_OK)
        return r;
    int64_t want = (int64_t)jid->valuedouble;
    if (want)
        sqlite3_bind_int64(st, 1, want);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, project);
    sqlite3_bind_double(st, 3, seq);
    for (int k = 0; k < N_FIELDS; k++) {
        if (!bind_field(st, 4 + k, k, cJSON_GetObjectItemCaseSensitive(seg, FIELDS[k].name))) {
            sqlite3_finalize(st);
            return damaged(s, project, err);
        }
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT)
        r = damaged(s, project, err); /* the id is taken */
    else if (rc != SQLITE_DONE)
        r = db_fail(s, rc, "inserting a segment", err); /* before finalize: SQLite's message is still there */
    sqlite3_finalize(st);
    if (r != KK_OK)
        return r;
    *id = sqlite3_last_insert_rowid(s->db);
    if (!want) {
        cJSON *nid = cJSON_CreateNumber((double)*id);
        if (!nid || !cJSON_ReplaceItemInObjectCaseSensitive(seg, "id", nid)) {
            cJSON_Delete(nid);
            return nomem(err);
        }
    }
    return KK_OK;
}

static kk_status apply_del(kk_store *s, int64_t project, const cJSON *op, int64_t *id, kk_error *err)
{
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(op, "id");
    if (!cJSON_IsNumber(jid))
        return damaged(s, project, err);
    *id = (int64_t)jid->valuedouble;
    sqlite3_stmt *st;
    kk_status r = prep(s, "DELETE FROM segments WHERE id = ? AND project_id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, *id);
    sqlite3_bind_int64(st, 2, project);
    r = step_done(s, st, "deleting a segment", err);
    sqlite3_finalize(st);
    if (r == KK_OK && sqlite3_changes(s->db) != 1)
        r = damaged(s, project, err);
    return r;
}

static kk_status apply_proj(kk_store *s, int64_t project, const cJSON *op, kk_error *err)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(op, "name");
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(op, "settings");
    if ((name && !cJSON_IsString(name)) || (set && !cJSON_IsString(set)) || (!name && !set))
        return damaged(s, project, err);
    sqlite3_stmt *st;
    kk_status r = prep(s, "UPDATE projects SET name = coalesce(?, name), settings = coalesce(?, settings) WHERE id = ?",
                       &st, err);
    if (r != KK_OK)
        return r;
    bind_text(st, 1, name ? name->valuestring : NULL);
    bind_text(st, 2, set ? set->valuestring : NULL);
    sqlite3_bind_int64(st, 3, project);
    r = step_done(s, st, "changing the project", err);
    sqlite3_finalize(st);
    return r;
}

/* A growing list of segment ids, without repeats. */
typedef struct idlist {
    int64_t *v;
    size_t n, cap;
} idlist;

static int idlist_add(idlist *l, int64_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == id)
            return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        int64_t *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv, l->cap = nc;
    }
    l->v[l->n++] = id;
    return 0;
}

/* Applies one operation; the segment it touched goes to ids (may be NULL). */
static kk_status apply_op(kk_store *s, int64_t project, cJSON *op, idlist *ids, kk_error *err)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(op, "op");
    const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
    int64_t id = 0;
    kk_status r;
    if (!strcmp(k, "set"))
        r = apply_set(s, project, op, &id, err);
    else if (!strcmp(k, "ins"))
        r = apply_ins(s, project, op, &id, err);
    else if (!strcmp(k, "del"))
        r = apply_del(s, project, op, &id, err);
    else if (!strcmp(k, "proj"))
        r = apply_proj(s, project, op, err);
    else
        r = damaged(s, project, err);
    if (r == KK_OK && id && ids && idlist_add(ids, id))
        r = nomem(err);
    return r;
}

/* ---- edits: applying and recording ---- */

typedef struct edit {
    cJSON *doc;       /* {"do": fwd, "undo": inv}, what the history entry stores */
    cJSON *fwd, *inv; /* owned by doc; inv in the order an undo applies it */
} edit;

static kk_status edit_init(edit *e, kk_error *err)
{
    int oom = 0;
    e->doc = cJSON_CreateObject();
    e->fwd = cJSON_CreateArray();
    e->inv = cJSON_CreateArray();
    cJSON *f = e->fwd, *i = e->inv;
    jadd(e->doc, "do", f, &oom);
    jadd(e->doc, "undo", i, &oom);
    if (oom) {
        cJSON_Delete(e->doc);
        e->doc = NULL;
        return nomem(err);
    }
    return KK_OK;
}

static void edit_free(edit *e) { cJSON_Delete(e->doc); }

/* Records op and its inverse (the inverse goes first: undo runs backwards). */
static kk_status edit_record(edit *e, cJSON *op, cJSON *inv, kk_error *err)
{
    if (!op || !inv || !cJSON_AddItemToArray(e->fwd, op)) {
        cJSON_Delete(op), cJSON_Delete(inv);
        return nomem(err);
    }
    if (!cJSON_InsertItemInArray(e->inv, 0, inv)) {
        cJSON_Delete(inv);
        return nomem(err);
    }
    return KK_OK;
}

static cJSON *op_new(const char *kind, int64_t id, int *oom)
{
    cJSON *op = cJSON_CreateObject();
    jadd(op, "op", cJSON_CreateString(kind), oom);
    if (id)
        jadd(op, "id", cJSON_CreateNumber((double)id), oom);
    return op;
}

/* Sets the fields in `fields` (FI_ bits) of old to those of nw. */
static kk_status edit_set(kk_store *s, edit *e, int64_t project, const kk_store_segment *old,
                          const kk_store_segment *nw, unsigned fields, kk_error *err)
{
    int oom = 0;
    cJSON *op = op_new("set", old->id, &oom), *inv = op_new("set", old->id, &oom);
    cJSON *fv = cJSON_CreateObject(), *iv = cJSON_CreateObject();
    for (int k = 0; k < N_FIELDS; k++) {
        if (fields & (1u << k)) {
            jadd(fv, FIELDS[k].name, field_json(k, nw), &oom);
            jadd(iv, FIELDS[k].name, field_json(k, old), &oom);
        }
    }
    jadd(op, "v", fv, &oom);
    jadd(inv, "v", iv, &oom);
    if (oom) {
        cJSON_Delete(op), cJSON_Delete(inv);
        return nomem(err);
    }
    kk_status r = apply_op(s, project, op, NULL, err);
    if (r != KK_OK) {
        cJSON_Delete(op), cJSON_Delete(inv);
        return r;
    }
    return edit_record(e, op, inv, err);
}

/* Inserts g (its id ignored) after segment `after` in creation order. */
static kk_status edit_insert(kk_store *s, edit *e, int64_t project, int64_t after, const kk_store_segment *g,
                             int64_t *new_id, kk_error *err)
{
    int oom = 0;
    kk_store_segment copy = *g;
    copy.id = 0;
    cJSON *op = op_new("ins", 0, &oom);
    jadd(op, "after", cJSON_CreateNumber((double)after), &oom);
    jadd(op, "seg", segment_json(&copy), &oom);
    if (oom) {
        cJSON_Delete(op);
        return nomem(err);
    }
    kk_status r = apply_ins(s, project, op, new_id, err);
    if (r != KK_OK) {
        cJSON_Delete(op);
        return r;
    }
    cJSON *inv = op_new("del", *new_id, &oom);
    if (oom) {
        cJSON_Delete(op), cJSON_Delete(inv);
        return nomem(err);
    }
    return edit_record(e, op, inv, err);
}

static kk_status edit_delete(kk_store *s, edit *e, int64_t project, const kk_store_segment *old, kk_error *err)
{
    int64_t before;
    kk_status r = seq_before(s, project, old->id, &before, err);
    if (r != KK_OK)
        return r;
    int oom = 0;
    cJSON *op = op_new("del", old->id, &oom), *inv = op_new("ins", 0, &oom);
    jadd(inv, "after", cJSON_CreateNumber((double)before), &oom);
    jadd(inv, "seg", segment_json(old), &oom);
    if (oom) {
        cJSON_Delete(op), cJSON_Delete(inv);
        return nomem(err);
    }
    int64_t id;
    if ((r = apply_del(s, project, op, &id, err)) != KK_OK) {
        cJSON_Delete(op), cJSON_Delete(inv);
        return r;
    }
    return edit_record(e, op, inv, err);
}

/* Bumps the project's version and updated time (every change does). */
static kk_status touch_project(kk_store *s, int64_t project, int64_t pos, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r =
        prep(s, "UPDATE projects SET version = version + 1, updated_ms = ?, history_pos = ? WHERE id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, now_ms());
    sqlite3_bind_int64(st, 2, pos);
    sqlite3_bind_int64(st, 3, project);
    r = step_done(s, st, "updating the project", err);
    sqlite3_finalize(st);
    return r;
}

/* Writes the edit as history entry pos + 1 (dropping the redo entries
 * above pos and the oldest beyond the cap) and bumps the version. An edit
 * that changed nothing leaves no trace. */
static kk_status edit_commit(kk_store *s, int64_t project, int64_t pos, const char *label, edit *e, kk_error *err)
{
    if (!cJSON_GetArraySize(e->fwd))
        return KK_OK;
    char *ops = cJSON_PrintUnformatted(e->doc);
    if (!ops)
        return nomem(err);
    sqlite3_stmt *st;
    kk_status r = prep(s, "DELETE FROM history WHERE project_id = ? AND seq > ?", &st, err);
    if (r == KK_OK) {
        sqlite3_bind_int64(st, 1, project);
        sqlite3_bind_int64(st, 2, pos);
        r = step_done(s, st, "dropping the redo history", err);
        sqlite3_finalize(st);
    }
    if (r == KK_OK &&
        (r = prep(s, "INSERT INTO history (project_id, seq, label, ops) VALUES (?, ?, ?, ?)", &st, err)) == KK_OK) {
        sqlite3_bind_int64(st, 1, project);
        sqlite3_bind_int64(st, 2, pos + 1);
        sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, ops, -1, SQLITE_STATIC);
        r = step_done(s, st, "recording the edit", err);
        sqlite3_finalize(st);
    }
    if (r == KK_OK && (r = prep(s, "DELETE FROM history WHERE project_id = ? AND seq <= ?", &st, err)) == KK_OK) {
        sqlite3_bind_int64(st, 1, project);
        sqlite3_bind_int64(st, 2, pos + 1 - KK_STORE_HISTORY_MAX);
        r = step_done(s, st, "dropping old history", err);
        sqlite3_finalize(st);
    }
    free(ops);
    if (r == KK_OK)
        r = touch_project(s, project, pos + 1, err);
    return r;
}

/* ---- projects ---- */

/* The words of a parsed segment as JSON text (*out NULL when it has none). */
static kk_status words_json(const kk_segment *g, char **out, kk_error *err)
{
    *out = NULL;
    if (!g->words || !g->n_words)
        return KK_OK;
    int oom = 0;
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < g->n_words && !oom; i++) {
        const kk_word *w = &g->words[i];
        cJSON *o = cJSON_CreateObject();
        jadd(o, "text", cJSON_CreateString(w->text ? w->text : ""), &oom);
        jadd(o, "start_ms", w->start_ms == KK_TIME_NONE ? cJSON_CreateNull() : cJSON_CreateNumber((double)w->start_ms),
             &oom);
        jadd(o, "end_ms", w->end_ms == KK_TIME_NONE ? cJSON_CreateNull() : cJSON_CreateNumber((double)w->end_ms), &oom);
        if (isfinite(w->score))
            jadd(o, "score", cJSON_CreateNumber(w->score), &oom);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            oom = 1;
        }
    }
    if (a && !oom)
        *out = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return *out ? KK_OK : nomem(err);
}

static kk_status create_locked(kk_store *s, const char *name, const char *settings, const kk_doc *doc,
                               const kk_store_source *sources, size_t n_sources, int64_t *id, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s,
                       "INSERT INTO projects (name, created_ms, updated_ms, settings, playhead_ms, version, "
                       "history_pos) VALUES (?, ?, ?, ?, 0, 1, 0)",
                       &st, err);
    if (r != KK_OK)
        return r;
    int64_t now = now_ms();
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
    r = step_done(s, st, "creating the project", err);
    sqlite3_finalize(st);
    if (r != KK_OK)
        return r;
    *id = sqlite3_last_insert_rowid(s->db);

    if (n_sources) {
        if ((r = prep(s, "INSERT INTO sources (project_id, idx, name, format, size, data) VALUES (?, ?, ?, ?, ?, ?)",
                      &st, err)) != KK_OK)
            return r;
        for (size_t i = 0; i < n_sources && r == KK_OK; i++) {
            const kk_store_source *src = &sources[i];
            sqlite3_bind_int64(st, 1, *id);
            sqlite3_bind_int64(st, 2, (int64_t)i);
            sqlite3_bind_text(st, 3, src->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, src->format, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, (int64_t)src->len);
            /* zeroblob: a non-NULL BLOB even for an empty file */
            if (src->len)
                sqlite3_bind_blob64(st, 6, src->data, src->len, SQLITE_STATIC);
            else
                sqlite3_bind_zeroblob(st, 6, 0);
            r = step_done(s, st, "saving a source file", err);
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        if (r != KK_OK)
            return r;
    }

    size_t n = doc ? doc->n_segs : 0;
    if (!n)
        return KK_OK;
    if ((r = prep(s,
                  "INSERT INTO segments (project_id, seq, start_ms, end_ms, text, speaker, words) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  &st, err)) != KK_OK)
        return r;
    for (size_t i = 0; i < n && r == KK_OK; i++) {
        const kk_segment *g = &doc->segs[i];
        char *words;
        if ((r = words_json(g, &words, err)) != KK_OK)
            break;
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_double(st, 2, (double)(i + 1));
        bind_time(st, 3, g->start_ms);
        bind_time(st, 4, g->end_ms);
        sqlite3_bind_text(st, 5, g->text ? g->text : "", -1, SQLITE_STATIC);
        bind_text(st, 6, g->speaker);
        bind_text(st, 7, words);
        r = step_done(s, st, "saving the segments", err);
        sqlite3_reset(st);
        free(words);
    }
    sqlite3_finalize(st);
    return r;
}

kk_status kk_store_create_project(kk_store *s, const char *name, const char *settings_json, const kk_doc *doc,
                                  const kk_store_source *sources, size_t n_sources, int64_t *id, kk_error *err)
{
    *id = 0;
    kk_status r;
    if (!settings_json)
        settings_json = "{}";
    if ((r = check_name(name, err)) != KK_OK || (r = check_settings(settings_json, err)) != KK_OK)
        return r;
    if (n_sources && !sources)
        return kk_error_set(err, KK_ERR_ARG, "%zu source files announced but none given", n_sources);
    for (size_t i = 0; i < n_sources; i++)
        if (!sources[i].name || !sources[i].format || (sources[i].len && !sources[i].data))
            return kk_error_set(err, KK_ERR_ARG, "source file %zu needs a name, a format and its bytes", i);
    for (size_t i = 0; doc && i < doc->n_segs; i++) {
        const kk_segment *g = &doc->segs[i];
        kk_error why;
        if (check_times(g->start_ms, g->end_ms, &why) != KK_OK)
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: %.900s", i + 1, why.msg);
        if ((g->text && !utf8_valid(g->text)) || (g->speaker && !utf8_valid(g->speaker)))
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: the text is not valid UTF-8", i + 1);
    }
    lock(s);
    r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, create_locked(s, name, settings_json, doc, sources, n_sources, id, err), err);
    unlock(s);
    if (r != KK_OK)
        *id = 0;
    return r;
}

#define PROJECT_SELECT                                                                                                 \
    "SELECT p.id, p.name, p.created_ms, p.updated_ms, p.settings, p.playhead_ms, p.version, "                          \
    "(SELECT count(*) FROM segments g WHERE g.project_id = p.id), "                                                    \
    "(SELECT label FROM history h WHERE h.project_id = p.id AND h.seq = p.history_pos), "                              \
    "(SELECT label FROM history h WHERE h.project_id = p.id AND h.seq = p.history_pos + 1), "                          \
    "(SELECT json_extract(ops, '$.do[0].id') FROM history h WHERE h.project_id = p.id AND h.seq = p.history_pos), "   \
    "(SELECT json_extract(ops, '$.do[0].id') FROM history h WHERE h.project_id = p.id AND h.seq = p.history_pos + 1) " \
    "FROM projects p "

static kk_status read_project(sqlite3_stmt *st, kk_store_project *p, kk_error *err)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(st, 0);
    p->created_ms = sqlite3_column_int64(st, 2);
    p->updated_ms = sqlite3_column_int64(st, 3);
    p->playhead_ms = sqlite3_column_int64(st, 5);
    p->version = sqlite3_column_int64(st, 6);
    p->n_segments = (size_t)sqlite3_column_int64(st, 7);
    if (col_dup(st, 1, &p->name) || col_dup(st, 4, &p->settings_json) || col_dup(st, 8, &p->undo_label) ||
        col_dup(st, 9, &p->redo_label)) {
        kk_store_project_free(p);
        return nomem(err);
    }
    p->can_undo = p->undo_label != NULL;
    p->can_redo = p->redo_label != NULL;
    p->undo_segment = sqlite3_column_type(st, 10) == SQLITE_INTEGER ? sqlite3_column_int64(st, 10) : 0;
    p->redo_segment = sqlite3_column_type(st, 11) == SQLITE_INTEGER ? sqlite3_column_int64(st, 11) : 0;
    return KK_OK;
}

void kk_store_project_free(kk_store_project *p)
{
    if (!p)
        return;
    free(p->name), free(p->settings_json), free(p->undo_label), free(p->redo_label);
    p->name = p->settings_json = p->undo_label = p->redo_label = NULL;
}

kk_status kk_store_list_projects(kk_store *s, kk_store_project **out, size_t *n, kk_error *err)
{
    *out = NULL;
    *n = 0;
    lock(s);
    sqlite3_stmt *st;
    kk_status r = prep(s, PROJECT_SELECT "ORDER BY p.created_ms DESC, p.id DESC", &st, err);
    kk_store_project *v = NULL;
    size_t len = 0, cap = 0;
    while (r == KK_OK) {
        int row = step_row(s, st, "listing the projects", err);
        if (row <= 0) {
            if (row < 0)
                r = s->failed;
            break;
        }
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            kk_store_project *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                r = nomem(err);
                break;
            }
            v = nv, cap = nc;
        }
        if ((r = read_project(st, &v[len], err)) == KK_OK)
            len++;
    }
    sqlite3_finalize(st);
    unlock(s);
    if (r != KK_OK) {
        for (size_t i = 0; i < len; i++)
            kk_store_project_free(&v[i]);
        free(v);
        return r;
    }
    *out = v;
    *n = len;
    return KK_OK;
}

static kk_status get_project_locked(kk_store *s, int64_t id, kk_store_project *out, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s, PROJECT_SELECT "WHERE p.id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, id);
    int row = step_row(s, st, "reading the project", err);
    if (row == 1)
        r = read_project(st, out, err);
    else
        r = row == 0 ? no_project(id, err) : s->failed;
    sqlite3_finalize(st);
    return r;
}

kk_status kk_store_get_project(kk_store *s, int64_t id, kk_store_project *out, kk_error *err)
{
    memset(out, 0, sizeof *out);
    lock(s);
    kk_status r = get_project_locked(s, id, out, err);
    unlock(s);
    return r;
}

kk_status kk_store_delete_project(kk_store *s, int64_t id, kk_error *err)
{
    lock(s);
    sqlite3_stmt *st;
    kk_status r = tx_write(s, err);
    if (r == KK_OK) {
        /* the sources, segments and history go with it (ON DELETE CASCADE) */
        if ((r = prep(s, "DELETE FROM projects WHERE id = ?", &st, err)) == KK_OK) {
            sqlite3_bind_int64(st, 1, id);
            r = step_done(s, st, "deleting the project", err);
            sqlite3_finalize(st);
            if (r == KK_OK && sqlite3_changes(s->db) != 1)
                r = no_project(id, err);
        }
        r = tx_end(s, r, err);
    }
    unlock(s);
    return r;
}

static kk_status update_locked(kk_store *s, int64_t id, const char *name, const char *settings, kk_error *err)
{
    int64_t pos;
    kk_store_project p;
    kk_status r = project_pos(s, id, &pos, err);
    if (r != KK_OK || (r = get_project_locked(s, id, &p, err)) != KK_OK)
        return r;
    int oom = 0, new_name = name && strcmp(name, p.name), new_set = settings && strcmp(settings, p.settings_json);
    edit e;
    if (!new_name && !new_set) {
        kk_store_project_free(&p);
        return KK_OK;
    }
    if ((r = edit_init(&e, err)) != KK_OK) {
        kk_store_project_free(&p);
        return r;
    }
    cJSON *op = op_new("proj", 0, &oom), *inv = op_new("proj", 0, &oom);
    if (new_name) {
        jadd(op, "name", cJSON_CreateString(name), &oom);
        jadd(inv, "name", cJSON_CreateString(p.name), &oom);
    }
    if (new_set) {
        jadd(op, "settings", cJSON_CreateString(settings), &oom);
        jadd(inv, "settings", cJSON_CreateString(p.settings_json), &oom);
    }
    kk_store_project_free(&p);
    if (oom) {
        cJSON_Delete(op), cJSON_Delete(inv);
        r = nomem(err);
    } else if ((r = apply_proj(s, id, op, err)) != KK_OK) {
        cJSON_Delete(op), cJSON_Delete(inv);
    } else if ((r = edit_record(&e, op, inv, err)) == KK_OK) {
        r = edit_commit(s, id, pos, new_set ? "project settings" : "rename project", &e, err);
    }
    edit_free(&e);
    return r;
}

kk_status kk_store_update_project(kk_store *s, int64_t id, const char *name, const char *settings_json, kk_error *err)
{
    kk_status r;
    if (!name && !settings_json)
        return kk_error_set(err, KK_ERR_ARG, "nothing to change in project %lld: give a name or settings",
                            (long long)id);
    if ((name && (r = check_name(name, err)) != KK_OK) ||
        (settings_json && (r = check_settings(settings_json, err)) != KK_OK))
        return r;
    lock(s);
    r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, update_locked(s, id, name, settings_json, err), err);
    unlock(s);
    return r;
}

kk_status kk_store_set_playhead(kk_store *s, int64_t id, int64_t ms, kk_error *err)
{
    if (ms < 0)
        return kk_error_set(err, KK_ERR_ARG, "the playhead cannot be before the start (%lld ms)", (long long)ms);
    lock(s);
    sqlite3_stmt *st;
    kk_status r = prep(s, "UPDATE projects SET playhead_ms = ? WHERE id = ?", &st, err);
    if (r == KK_OK) {
        sqlite3_bind_int64(st, 1, ms);
        sqlite3_bind_int64(st, 2, id);
        r = step_done(s, st, "saving the playhead", err);
        sqlite3_finalize(st);
        if (r == KK_OK && sqlite3_changes(s->db) != 1)
            r = no_project(id, err);
    }
    unlock(s);
    return r;
}

/* ---- segments: reading ---- */

static kk_status segments_locked(kk_store *s, int64_t project, kk_store_segment **out, size_t *n, kk_error *err)
{
    int64_t pos;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK)
        return r;
    sqlite3_stmt *st;
    if ((r = prep(s, "SELECT " SEG_COLS ", seq FROM segments WHERE project_id = ? ORDER BY seq, id", &st, err)) !=
        KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    kk_store_segment *rows = NULL;
    ord *o = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        int row = step_row(s, st, "reading the segments", err);
        if (row <= 0) {
            if (row < 0)
                r = s->failed;
            break;
        }
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 64;
            kk_store_segment *nr = realloc(rows, nc * sizeof *nr);
            if (nr)
                rows = nr;
            ord *no = nr ? realloc(o, nc * sizeof *no) : NULL;
            if (!no) {
                r = nomem(err);
                break;
            }
            o = no, cap = nc;
        }
        if ((r = read_segment(st, 0, &rows[len], err)) != KK_OK)
            break;
        o[len].id = rows[len].id;
        o[len].seq = sqlite3_column_double(st, 10);
        o[len].start = rows[len].start_ms;
        len++;
    }
    sqlite3_finalize(st);
    kk_store_segment *res = NULL;
    if (r == KK_OK && len && !(res = malloc(len * sizeof *res)))
        r = nomem(err);
    if (r != KK_OK) {
        kk_store_segments_free(rows, len);
        free(o);
        return r;
    }
    timeline_sort(o, len);
    for (size_t i = 0; i < len; i++)
        res[i] = rows[o[i].idx];
    free(rows);
    free(o);
    *out = res;
    *n = len;
    return KK_OK;
}

kk_status kk_store_segments(kk_store *s, int64_t project, kk_store_segment **out, size_t *n, kk_error *err)
{
    *out = NULL;
    *n = 0;
    lock(s);
    kk_status r = tx_read(s, err);
    if (r == KK_OK)
        r = tx_end(s, segments_locked(s, project, out, n, err), err);
    unlock(s);
    if (r != KK_OK && *out) {
        kk_store_segments_free(*out, *n);
        *out = NULL, *n = 0;
    }
    return r;
}

kk_status kk_store_get_segment(kk_store *s, int64_t project, int64_t id, kk_store_segment *out, kk_error *err)
{
    memset(out, 0, sizeof *out);
    lock(s);
    kk_status r = tx_read(s, err);
    if (r == KK_OK)
        r = tx_end(s, load_segment(s, project, id, out, err), err);
    unlock(s);
    if (r != KK_OK)
        kk_store_segment_free(out);
    return r;
}

/* ---- segments: edits ---- */

static const char *edit_label(unsigned fields)
{
    if (fields == 1u << FI_WORDS)
        return "change word times";
    if (fields == 1u << FI_FIT)
        return "change fit";
    if (fields == (1u << FI_WORDS | 1u << FI_FIT))
        return "change word times"; /* a word dragged: its times and the fit "words" */
    fields &= ~(1u << FI_WORDS); /* dropped words follow a text change */
    if (fields == 1u << FI_TEXT)
        return "edit text";
    if (fields && !(fields & ~(1u << FI_START | 1u << FI_END)))
        return "change times";
    if (fields == 1u << FI_SPEAKER)
        return "change speaker";
    if (fields == 1u << FI_VOICE)
        return "change voice";
    if (fields == 1u << FI_SPEED)
        return "change speed";
    if (fields == 1u << FI_PITCH)
        return "change pitch";
    return "edit segment";
}

/* KK_SEG_COALESCE: the last history entry, when it is the top one (nothing
 * undone since) and one "set" of segment id whose fields include every
 * field in `fields`, is taken over: its "do" gets the new values, its
 * "undo" keeps the values from before the first edit of the burst, so one
 * undo takes the whole burst back. *doc (the entry, to rewrite) is NULL
 * when the entry does not qualify: the edit is then recorded as usual. */
static kk_status coalescible(kk_store *s, int64_t project, int64_t pos, int64_t id, unsigned fields, cJSON **doc,
                             kk_error *err)
{
    *doc = NULL;
    if (pos <= 0)
        return KK_OK;
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT ops, (SELECT COUNT(*) FROM history WHERE project_id = ?1 AND seq > ?2) FROM history "
                          "WHERE project_id = ?1 AND seq = ?2", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    sqlite3_bind_int64(st, 2, pos);
    int row = step_row(s, st, "reading the history", err);
    cJSON *d = NULL;
    if (row == 1 && sqlite3_column_int64(st, 1) == 0) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        d = text ? cJSON_Parse(text) : NULL;
    } else if (row < 0) {
        r = s->failed;
    }
    sqlite3_finalize(st);
    const cJSON *fwd = cJSON_GetObjectItemCaseSensitive(d, "do");
    const cJSON *op = cJSON_IsArray(fwd) && cJSON_GetArraySize(fwd) == 1 ? fwd->child : NULL;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(op, "op"), *oid = cJSON_GetObjectItemCaseSensitive(op, "id");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, "v");
    int ok = cJSON_IsString(kind) && !strcmp(kind->valuestring, "set") && cJSON_IsNumber(oid) &&
             (int64_t)oid->valuedouble == id && cJSON_IsObject(v);
    for (int k = 0; ok && k < N_FIELDS; k++)
        if ((fields & (1u << k)) && !cJSON_GetObjectItemCaseSensitive(v, FIELDS[k].name))
            ok = 0;
    if (ok)
        *doc = d;
    else
        cJSON_Delete(d);
    return r;
}

/* Rewrites entry pos of the history as doc (a coalesced edit) and bumps
 * the version; the history position stays. */
static kk_status rewrite_entry(kk_store *s, int64_t project, int64_t pos, const cJSON *doc, kk_error *err)
{
    char *ops = cJSON_PrintUnformatted(doc);
    if (!ops)
        return nomem(err);
    sqlite3_stmt *st;
    kk_status r = prep(s, "UPDATE history SET ops = ? WHERE project_id = ? AND seq = ?", &st, err);
    if (r == KK_OK) {
        sqlite3_bind_text(st, 1, ops, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, project);
        sqlite3_bind_int64(st, 3, pos);
        r = step_done(s, st, "recording the edit", err);
        sqlite3_finalize(st);
    }
    free(ops);
    if (r == KK_OK)
        r = touch_project(s, project, pos, err);
    return r;
}

static kk_status edit_segment_locked(kk_store *s, int64_t project, int64_t id, unsigned mask,
                                     const kk_store_segment *patch, kk_error *err)
{
    int64_t pos;
    kk_store_segment old;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK || (r = load_segment(s, project, id, &old, err)) != KK_OK)
        return r;
    kk_store_segment nw = old; /* shallow: borrows old's and patch's strings */
    if (mask & KK_SEG_TEXT)
        nw.text = patch->text;
    if (mask & KK_SEG_TIMES)
        nw.start_ms = patch->start_ms, nw.end_ms = patch->end_ms;
    if (mask & KK_SEG_SPEAKER)
        nw.speaker = patch->speaker;
    if (mask & KK_SEG_VOICE)
        nw.voice = patch->voice;
    if (mask & KK_SEG_SPEED)
        nw.speed = patch->speed;
    if (mask & KK_SEG_PITCH)
        nw.pitch = patch->pitch;
    if ((mask & KK_SEG_TEXT) && !str_eq(nw.text, old.text))
        nw.words_json = NULL; /* the source's word times belong to the old text */
    if (mask & KK_SEG_WORDS)
        nw.words_json = patch->words_json;
    if (mask & KK_SEG_FIT)
        nw.fit = patch->fit;
    unsigned fields = 0;
    for (int k = 0; k < N_FIELDS; k++)
        if (!field_eq(k, &old, &nw))
            fields |= 1u << k;
    edit e;
    cJSON *prev = NULL;
    if (fields && (mask & KK_SEG_COALESCE) && (r = check_segment(&nw, mask, err)) == KK_OK)
        r = coalescible(s, project, pos, id, fields, &prev, err);
    if (fields && r == KK_OK && (r = check_segment(&nw, mask, err)) == KK_OK && (r = edit_init(&e, err)) == KK_OK) {
        if ((r = edit_set(s, &e, project, &old, &nw, fields, err)) == KK_OK) {
            if (prev) {
                /* the new values into the entry's one "set"; its undo stays */
                cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(prev, "do")->child, "v");
                const cJSON *nv = cJSON_GetObjectItemCaseSensitive(e.fwd->child, "v");
                for (const cJSON *c = nv ? nv->child : NULL; c && r == KK_OK; c = c->next) {
                    cJSON *dup = cJSON_Duplicate(c, 1);
                    if (!dup || !cJSON_ReplaceItemInObjectCaseSensitive(v, c->string, dup)) {
                        cJSON_Delete(dup);
                        r = nomem(err);
                    }
                }
                if (r == KK_OK)
                    r = rewrite_entry(s, project, pos, prev, err);
            } else {
                r = edit_commit(s, project, pos, edit_label(fields), &e, err);
            }
        }
        edit_free(&e);
    }
    cJSON_Delete(prev);
    kk_store_segment_free(&old);
    return r;
}

kk_status kk_store_edit_segment(kk_store *s, int64_t project, int64_t id, unsigned mask, const kk_store_segment *patch,
                                kk_error *err)
{
    const unsigned all =
        KK_SEG_TEXT | KK_SEG_TIMES | KK_SEG_SPEAKER | KK_SEG_VOICE | KK_SEG_SPEED | KK_SEG_PITCH | KK_SEG_WORDS |
        KK_SEG_FIT | KK_SEG_COALESCE;
    if (!mask || (mask & ~all) || !patch)
        return kk_error_set(err, KK_ERR_ARG, "an edit of segment %lld needs a patch and fields to change (mask 0x%x)",
                            (long long)id, mask);
    /* the patch's own values first, so that a bad value is refused even
     * when the segment is missing */
    kk_status r = check_segment(patch, mask, err);
    if (r != KK_OK)
        return r;
    lock(s);
    r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, edit_segment_locked(s, project, id, mask, patch, err), err);
    unlock(s);
    return r;
}

static kk_status edit_segments_locked(kk_store *s, int64_t project, const int64_t *ids, size_t n, unsigned mask,
                                      const kk_store_segment *patch, kk_error *err)
{
    int64_t pos;
    kk_status r = project_pos(s, project, &pos, err);
    edit e;
    if (r != KK_OK || (r = edit_init(&e, err)) != KK_OK)
        return r;
    for (size_t i = 0; r == KK_OK && i < n; i++) {
        kk_store_segment old;
        if ((r = load_segment(s, project, ids[i], &old, err)) != KK_OK)
            break;
        kk_store_segment nw = old; /* borrows old's and patch's strings */
        if (mask & KK_SEG_SPEAKER)
            nw.speaker = patch->speaker;
        if (mask & KK_SEG_VOICE)
            nw.voice = patch->voice;
        if (mask & KK_SEG_SPEED)
            nw.speed = patch->speed;
        if (mask & KK_SEG_PITCH)
            nw.pitch = patch->pitch;
        unsigned fields = 0;
        for (int k = 0; k < N_FIELDS; k++)
            if (!field_eq(k, &old, &nw))
                fields |= 1u << k;
        if (fields)
            r = edit_set(s, &e, project, &old, &nw, fields, err);
        kk_store_segment_free(&old);
    }
    if (r == KK_OK) {
        const char *label = mask == KK_SEG_SPEAKER ? "change speakers"
                            : mask == KK_SEG_VOICE ? "change voices"
                            : mask == KK_SEG_SPEED ? "change speeds"
                            : mask == KK_SEG_PITCH ? "change pitches"
                                                   : "edit segments";
        r = edit_commit(s, project, pos, label, &e, err);
    }
    edit_free(&e);
    return r;
}

kk_status kk_store_edit_segments(kk_store *s, int64_t project, const int64_t *ids, size_t n, unsigned mask,
                                 const kk_store_segment *patch, kk_error *err)
{
    const unsigned allowed = KK_SEG_SPEAKER | KK_SEG_VOICE | KK_SEG_SPEED | KK_SEG_PITCH;
    if (!n || !ids || !mask || (mask & ~allowed) || !patch)
        return kk_error_set(err, KK_ERR_ARG, "an edit of several segments needs ids and speaker, voice, speed or "
                            "pitch to set (mask 0x%x)", mask);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (ids[i] == ids[k])
                return kk_error_set(err, KK_ERR_ARG, "segment %lld is named twice", (long long)ids[i]);
    kk_status r = check_segment(patch, mask, err);
    if (r != KK_OK)
        return r;
    lock(s);
    r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, edit_segments_locked(s, project, ids, n, mask, patch, err), err);
    unlock(s);
    return r;
}

/* KK_ERR_CONFLICT when the project already has max_segments. Called
 * inside the edit's write transaction, under the store's lock: two inserts
 * at once cannot both see room for the last one. */
static kk_status room_for_one(kk_store *s, int64_t project, kk_error *err)
{
    if (!s->max_segments)
        return KK_OK;
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT COUNT(*) FROM segments WHERE project_id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    int row = step_row(s, st, "counting the segments", err);
    int64_t n = row == 1 ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (row != 1)
        return row == 0 ? kk_error_set(err, KK_ERR_IO, "counting the segments: no answer") : s->failed;
    if ((uint64_t)n >= (uint64_t)s->max_segments)
        return kk_error_set(err, KK_ERR_CONFLICT, "project %lld has the limit of %zu segments", (long long)project,
                            s->max_segments);
    return KK_OK;
}

static kk_status split_locked(kk_store *s, int64_t project, int64_t id, int64_t at_ms, size_t off, int64_t *new_id,
                              kk_error *err)
{
    int64_t pos = 0;
    kk_store_segment old;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK || (r = room_for_one(s, project, err)) != KK_OK ||
        (r = load_segment(s, project, id, &old, err)) != KK_OK)
        return r;
    size_t len = strlen(old.text);
    int timed = old.start_ms != KK_TIME_NONE;
    char *first = NULL, *second = NULL;
    edit e = {0};
    if (off == 0 || off >= len)
        r = kk_error_set(err, KK_ERR_ARG,
                         "cannot split segment %lld at text offset %zu: it must fall inside the text (1..%zu)",
                         (long long)id, off, len ? len - 1 : 0);
    else if (((unsigned char)old.text[off] & 0xC0) == 0x80)
        r = kk_error_set(err, KK_ERR_ARG,
                         "cannot split segment %lld at text offset %zu: it is inside a UTF-8 character; "
                         "split between characters",
                         (long long)id, off);
    else if (timed && (at_ms <= old.start_ms || at_ms >= old.end_ms))
        r = kk_error_set(err, KK_ERR_ARG,
                         "cannot split segment %lld at %lld ms: the time must be strictly inside the segment "
                         "(%lld..%lld ms)",
                         (long long)id, (long long)at_ms, (long long)old.start_ms, (long long)old.end_ms);
    else if (!(first = dup_trimmed(old.text, off)) || !(second = dup_trimmed(old.text + off, len - off)))
        r = nomem(err);
    else if (!*first || !*second)
        r = kk_error_set(err, KK_ERR_ARG,
                         "cannot split segment %lld at text offset %zu: one half would have no text (only "
                         "white space)",
                         (long long)id, off);
    else if ((r = edit_init(&e, err)) == KK_OK) {
        kk_store_segment a = old, b = old;
        a.text = first;
        a.words_json = NULL; /* word times no longer match either half */
        if (timed)
            a.end_ms = at_ms, b.start_ms = at_ms;
        b.text = second;
        b.words_json = NULL;
        unsigned fields = 0;
        for (int k = 0; k < N_FIELDS; k++)
            if (!field_eq(k, &old, &a))
                fields |= 1u << k;
        if ((r = edit_set(s, &e, project, &old, &a, fields, err)) == KK_OK &&
            (r = edit_insert(s, &e, project, id, &b, new_id, err)) == KK_OK)
            r = edit_commit(s, project, pos, "split", &e, err);
    }
    if (e.doc)
        edit_free(&e);
    free(first), free(second);
    kk_store_segment_free(&old);
    return r;
}

kk_status kk_store_split(kk_store *s, int64_t project, int64_t id, int64_t at_ms, size_t text_offset, int64_t *new_id,
                         kk_error *err)
{
    int64_t dummy;
    if (!new_id)
        new_id = &dummy;
    *new_id = 0;
    lock(s);
    kk_status r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, split_locked(s, project, id, at_ms, text_offset, new_id, err), err);
    unlock(s);
    if (r != KK_OK)
        *new_id = 0;
    return r;
}

/* The word arrays of a and b joined, as JSON text; NULL unless both have
 * word times (*oom set when out of memory). */
static char *join_words(const char *a, const char *b, int *oom)
{
    if (!a || !b)
        return NULL;
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    char *res = NULL;
    if (cJSON_IsArray(ja) && cJSON_IsArray(jb)) {
        cJSON *w;
        while ((w = cJSON_DetachItemFromArray(jb, 0)))
            cJSON_AddItemToArray(ja, w);
        if (!(res = cJSON_PrintUnformatted(ja)))
            *oom = 1;
    }
    cJSON_Delete(ja), cJSON_Delete(jb);
    return res;
}

static kk_status merge_locked(kk_store *s, int64_t project, int64_t ida, int64_t idb, kk_error *err)
{
    int64_t pos;
    kk_store_segment a, b;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK || (r = load_segment(s, project, ida, &a, err)) != KK_OK)
        return r;
    if ((r = load_segment(s, project, idb, &b, err)) != KK_OK) {
        kk_store_segment_free(&a);
        return r;
    }
    ord *o = NULL;
    size_t n = 0, i = 0;
    char *text = NULL, *words = NULL;
    int oom = 0;
    edit e = {0};
    if ((r = load_order(s, project, &o, &n, err)) != KK_OK)
        goto done;
    while (i < n && o[i].id != ida)
        i++;
    if (i + 1 >= n || o[i + 1].id != idb) {
        r = kk_error_set(err, KK_ERR_ARG,
                         "cannot merge segment %lld into %lld: only a segment and the one right after it in "
                         "the timeline can be merged",
                         (long long)idb, (long long)ida);
        goto done;
    }
    size_t la = strlen(a.text), lb = strlen(b.text);
    if (!(text = malloc(la + lb + 2))) {
        r = nomem(err);
        goto done;
    }
    memcpy(text, a.text, la);
    size_t k = la;
    if (la && lb)
        text[k++] = ' ';
    memcpy(text + k, b.text, lb + 1);
    words = join_words(a.words_json, b.words_json, &oom);
    if (oom) {
        r = nomem(err);
        goto done;
    }
    kk_store_segment m = a;
    m.text = text;
    m.words_json = words;
    if (a.start_ms != KK_TIME_NONE && b.start_ms != KK_TIME_NONE)
        m.end_ms = b.end_ms > a.end_ms ? b.end_ms : a.end_ms;
    else if (b.start_ms != KK_TIME_NONE)
        m.start_ms = b.start_ms, m.end_ms = b.end_ms;
    unsigned fields = 0;
    for (int f = 0; f < N_FIELDS; f++)
        if (!field_eq(f, &a, &m))
            fields |= 1u << f;
    if ((r = edit_init(&e, err)) != KK_OK)
        goto done;
    if ((!fields || (r = edit_set(s, &e, project, &a, &m, fields, err)) == KK_OK) &&
        (r = edit_delete(s, &e, project, &b, err)) == KK_OK)
        r = edit_commit(s, project, pos, "merge", &e, err);
done:
    if (e.doc)
        edit_free(&e);
    free(o), free(text), free(words);
    kk_store_segment_free(&a);
    kk_store_segment_free(&b);
    return r;
}

kk_status kk_store_merge(kk_store *s, int64_t project, int64_t a, int64_t b, kk_error *err)
{
    if (a == b)
        return kk_error_set(err, KK_ERR_ARG, "cannot merge segment %lld with itself", (long long)a);
    lock(s);
    kk_status r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, merge_locked(s, project, a, b, err), err);
    unlock(s);
    return r;
}

static kk_status insert_locked(kk_store *s, int64_t project, const kk_store_segment *g, int64_t *new_id, kk_error *err)
{
    int64_t pos;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK)
        return r;
    if ((r = room_for_one(s, project, err)) != KK_OK)
        return r;
    ord *o;
    size_t n;
    if ((r = load_order(s, project, &o, &n, err)) != KK_OK)
        return r;
    int64_t after = 0;
    if (g->start_ms == KK_TIME_NONE) {
        /* untimed text goes last: after the last segment in creation order */
        for (size_t i = 0; i < n; i++)
            if (o[i].idx == n - 1)
                after = o[i].id;
    } else {
        /* after the last segment that starts at or before it */
        for (size_t i = 0; i < n && o[i].key <= g->start_ms; i++)
            after = o[i].id;
    }
    free(o);
    edit e;
    if ((r = edit_init(&e, err)) != KK_OK)
        return r;
    if ((r = edit_insert(s, &e, project, after, g, new_id, err)) == KK_OK)
        r = edit_commit(s, project, pos, "insert", &e, err);
    edit_free(&e);
    return r;
}

kk_status kk_store_insert(kk_store *s, int64_t project, const kk_store_segment *seg, int64_t *new_id, kk_error *err)
{
    int64_t dummy;
    if (!new_id)
        new_id = &dummy;
    *new_id = 0;
    if (!seg)
        return kk_error_set(err, KK_ERR_ARG, "insert needs a segment");
    kk_status r = check_segment(seg, ~0u, err);
    if (r == KK_OK)
        r = check_words(seg->words_json, err);
    if (r != KK_OK)
        return r;
    lock(s);
    r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, insert_locked(s, project, seg, new_id, err), err);
    unlock(s);
    if (r != KK_OK)
        *new_id = 0;
    return r;
}

static kk_status delete_locked(kk_store *s, int64_t project, int64_t id, kk_error *err)
{
    int64_t pos;
    kk_store_segment old;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK || (r = load_segment(s, project, id, &old, err)) != KK_OK)
        return r;
    edit e;
    if ((r = edit_init(&e, err)) == KK_OK) {
        if ((r = edit_delete(s, &e, project, &old, err)) == KK_OK)
            r = edit_commit(s, project, pos, "delete", &e, err);
        edit_free(&e);
    }
    kk_store_segment_free(&old);
    return r;
}

kk_status kk_store_delete_segment(kk_store *s, int64_t project, int64_t id, kk_error *err)
{
    lock(s);
    kk_status r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, delete_locked(s, project, id, err), err);
    unlock(s);
    return r;
}

/* ---- undo and redo ---- */

/* Applies the "undo" (dir -1) or "do" (dir +1) side of the entry next to
 * the project's history position and moves the position. */
static kk_status step_locked(kk_store *s, int64_t project, int dir, idlist *ids, kk_error *err)
{
    int64_t pos;
    kk_status r = project_pos(s, project, &pos, err);
    if (r != KK_OK)
        return r;
    int64_t seq = dir < 0 ? pos : pos + 1;
    sqlite3_stmt *st;
    if ((r = prep(s, "SELECT ops FROM history WHERE project_id = ? AND seq = ?", &st, err)) != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    sqlite3_bind_int64(st, 2, seq);
    int row = step_row(s, st, "reading the history", err);
    cJSON *doc = NULL;
    if (row == 1) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        if (!text || !(doc = cJSON_Parse(text)))
            r = text ? damaged(s, project, err) : nomem(err);
    } else if (row == 0) {
        r = kk_error_set(err, KK_ERR_CONFLICT, "project %lld has nothing to %s", (long long)project,
                         dir < 0 ? "undo" : "redo");
    } else {
        r = s->failed;
    }
    sqlite3_finalize(st);
    if (r != KK_OK)
        return r;
    cJSON *ops = cJSON_GetObjectItemCaseSensitive(doc, dir < 0 ? "undo" : "do");
    if (!cJSON_IsArray(ops) || !ops->child)
        r = damaged(s, project, err);
    cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        if (r != KK_OK)
            break;
        r = apply_op(s, project, op, ids, err);
    }
    cJSON_Delete(doc);
    if (r == KK_OK)
        r = touch_project(s, project, dir < 0 ? pos - 1 : pos + 1, err);
    return r;
}

static kk_status step(kk_store *s, int64_t project, int dir, int64_t **changed, size_t *n_changed, kk_error *err)
{
    if (changed)
        *changed = NULL;
    if (n_changed)
        *n_changed = 0;
    idlist ids = {0};
    lock(s);
    kk_status r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, step_locked(s, project, dir, &ids, err), err);
    unlock(s);
    if (r == KK_OK && changed) {
        *changed = ids.v;
        ids.v = NULL;
    }
    if (r == KK_OK && n_changed)
        *n_changed = ids.n;
    free(ids.v);
    return r;
}

kk_status kk_store_undo(kk_store *s, int64_t project, int64_t **changed, size_t *n_changed, kk_error *err)
{
    return step(s, project, -1, changed, n_changed, err);
}

kk_status kk_store_redo(kk_store *s, int64_t project, int64_t **changed, size_t *n_changed, kk_error *err)
{
    return step(s, project, +1, changed, n_changed, err);
}

/* ---- sources ---- */

static kk_status get_source_locked(kk_store *s, int64_t project, size_t index, char **name, char **format, void **data,
                                   size_t *len, kk_error *err)
{
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT name, format, data FROM sources WHERE project_id = ? AND idx = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    sqlite3_bind_int64(st, 2, (int64_t)index);
    int row = step_row(s, st, "reading a source file", err);
    if (row == 1) {
        size_t n = (size_t)sqlite3_column_bytes(st, 2);
        const void *b = sqlite3_column_blob(st, 2);
        void *copy = malloc(n ? n : 1);
        if (!copy || (n && !b) || col_dup(st, 0, name) || col_dup(st, 1, format)) {
            free(copy), free(*name), free(*format);
            *name = *format = NULL;
            r = nomem(err);
        } else {
            if (n)
                memcpy(copy, b, n);
            *data = copy;
            *len = n;
        }
    } else if (row < 0) {
        r = s->failed;
    }
    sqlite3_finalize(st);
    if (row == 0) {
        int64_t pos;
        if ((r = project_pos(s, project, &pos, err)) == KK_OK)
            r = kk_error_set(err, KK_ERR_NOT_FOUND, "project %lld has no source file %zu", (long long)project, index);
    }
    return r;
}

kk_status kk_store_get_source(kk_store *s, int64_t project, size_t index, char **name, char **format, void **data,
                              size_t *len, kk_error *err)
{
    *name = *format = NULL;
    *data = NULL;
    *len = 0;
    lock(s);
    kk_status r = tx_read(s, err);
    if (r == KK_OK)
        r = tx_end(s, get_source_locked(s, project, index, name, format, data, len, err), err);
    unlock(s);
    if (r != KK_OK) {
        free(*name), free(*format), free(*data);
        *name = *format = NULL;
        *data = NULL;
        *len = 0;
    }
    return r;
}

static kk_status sources_locked(kk_store *s, int64_t project, kk_store_source_info **out, size_t *n, kk_error *err)
{
    int64_t pos;
    kk_status r = project_pos(s, project, &pos, err);
    sqlite3_stmt *st;
    if (r != KK_OK ||
        (r = prep(s, "SELECT name, format, size FROM sources WHERE project_id = ? ORDER BY idx", &st, err)) != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    size_t cap = 0;
    for (;;) {
        int row = step_row(s, st, "listing the source files", err);
        if (row <= 0) {
            if (row < 0)
                r = s->failed;
            break;
        }
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            kk_store_source_info *nv = realloc(*out, nc * sizeof *nv);
            if (!nv) {
                r = nomem(err);
                break;
            }
            *out = nv, cap = nc;
        }
        kk_store_source_info *i = &(*out)[*n];
        i->len = (size_t)sqlite3_column_int64(st, 2);
        if (col_dup(st, 0, &i->name) || col_dup(st, 1, &i->format)) {
            free(i->name);
            r = nomem(err);
            break;
        }
        (*n)++;
    }
    sqlite3_finalize(st);
    return r;
}

kk_status kk_store_sources(kk_store *s, int64_t project, kk_store_source_info **out, size_t *n, kk_error *err)
{
    *out = NULL;
    *n = 0;
    lock(s);
    kk_status r = tx_read(s, err);
    if (r == KK_OK)
        r = tx_end(s, sources_locked(s, project, out, n, err), err);
    unlock(s);
    if (r != KK_OK) {
        kk_store_sources_free(*out, *n);
        *out = NULL, *n = 0;
    }
    return r;
}

void kk_store_sources_free(kk_store_source_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name), free(v[i].format);
    free(v);
}

/* ---- the user's settings ---- */

kk_status kk_store_get_setting(kk_store *s, const char *key, char **json, kk_error *err)
{
    *json = NULL;
    if (!key || !*key)
        return kk_error_set(err, KK_ERR_ARG, "a setting needs a key");
    lock(s);
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT value FROM settings WHERE key = ?", &st, err);
    if (r == KK_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int row = step_row(s, st, "reading a setting", err);
        if (row == 1 && col_dup(st, 0, json))
            r = nomem(err);
        else if (row < 0)
            r = s->failed;
        sqlite3_finalize(st);
    }
    unlock(s);
    return r;
}

kk_status kk_store_put_setting(kk_store *s, const char *key, const char *json, kk_error *err)
{
    if (!key || !*key)
        return kk_error_set(err, KK_ERR_ARG, "a setting needs a key");
    if (json) {
        cJSON *j = cJSON_Parse(json);
        cJSON_Delete(j);
        if (!j)
            return kk_error_set(err, KK_ERR_ARG, "setting %s: not valid JSON: %.80s", key, json);
    }
    lock(s);
    sqlite3_stmt *st;
    kk_status r = prep(s,
                       json ? "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                            : "DELETE FROM settings WHERE key = ?1",
                       &st, err);
    if (r == KK_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (json)
            sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
        r = step_done(s, st, "saving a setting", err);
        sqlite3_finalize(st);
    }
    unlock(s);
    return r;
}

/* ---- a project's video ---- */

void kk_store_video_free(kk_store_video *v)
{
    if (!v)
        return;
    free(v->file), free(v->name), free(v->mime);
    memset(v, 0, sizeof *v);
}

static kk_status no_video(int64_t project, kk_error *err)
{
    return kk_error_set(err, KK_ERR_NOT_FOUND, "project %lld has no video; attach one first (PUT .../video)",
                        (long long)project);
}

/* The file name of the project's video now (*file NULL: none). */
static kk_status video_file_locked(kk_store *s, int64_t project, char **file, kk_error *err)
{
    *file = NULL;
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT file FROM videos WHERE project_id = ?", &st, err);
    if (r != KK_OK)
        return r;
    sqlite3_bind_int64(st, 1, project);
    int row = step_row(s, st, "reading the video", err);
    if (row == 1 && col_dup(st, 0, file))
        r = nomem(err);
    else if (row < 0)
        r = s->failed;
    sqlite3_finalize(st);
    return r;
}

/* Saves v as the project's video (v NULL: removes it), inside the caller's
 * write transaction; *old_file gets the file of the video it had (NULL: none;
 * removing none is KK_ERR_NOT_FOUND). */
static kk_status video_change_locked(kk_store *s, int64_t project, const kk_store_video *v, char **old_file,
                                     kk_error *err)
{
    int64_t pos;
    kk_status r = project_pos(s, project, &pos, err);
    if (r == KK_OK)
        r = video_file_locked(s, project, old_file, err);
    if (r != KK_OK)
        return r;
    if (!v && !*old_file)
        return no_video(project, err);
    sqlite3_stmt *st;
    if (v) {
        r = prep(s, "INSERT OR REPLACE INTO videos (project_id, file, name, mime, size, duration_ms, width, "
                    "height, has_audio, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 &st, err);
        if (r != KK_OK)
            return r;
        sqlite3_bind_int64(st, 1, project);
        bind_text(st, 2, v->file);
        bind_text(st, 3, v->name);
        bind_text(st, 4, v->mime);
        sqlite3_bind_int64(st, 5, v->size);
        sqlite3_bind_int64(st, 6, v->duration_ms);
        sqlite3_bind_int(st, 7, v->width);
        sqlite3_bind_int(st, 8, v->height);
        sqlite3_bind_int(st, 9, v->has_audio != 0);
        sqlite3_bind_int64(st, 10, now_ms());
    } else {
        if ((r = prep(s, "DELETE FROM videos WHERE project_id = ?", &st, err)) != KK_OK)
            return r;
        sqlite3_bind_int64(st, 1, project);
    }
    r = step_done(s, st, v ? "saving the video" : "removing the video", err);
    sqlite3_finalize(st);
    return r;
}

/* video_change_locked in a write transaction of its own; on failure
 * *old_file is NULL (nothing was changed, so no file is the caller's to
 * delete). */
static kk_status video_change(kk_store *s, int64_t project, const kk_store_video *v, char **old_file, kk_error *err)
{
    *old_file = NULL;
    lock(s);
    kk_status r = tx_write(s, err);
    if (r == KK_OK)
        r = tx_end(s, video_change_locked(s, project, v, old_file, err), err);
    unlock(s);
    if (r != KK_OK) {
        free(*old_file);
        *old_file = NULL;
    }
    return r;
}

kk_status kk_store_set_video(kk_store *s, int64_t project, const kk_store_video *v, char **old_file, kk_error *err)
{
    *old_file = NULL;
    if (!v || !v->file || !*v->file || !v->name || !v->mime || !utf8_valid(v->name))
        return kk_error_set(err, KK_ERR_ARG, "a video needs a file, a name (UTF-8) and a type");
    return video_change(s, project, v, old_file, err);
}

kk_status kk_store_get_video(kk_store *s, int64_t project, kk_store_video *out, kk_error *err)
{
    memset(out, 0, sizeof *out);
    lock(s);
    int64_t pos;
    sqlite3_stmt *st = NULL;
    kk_status r = project_pos(s, project, &pos, err);
    if (r == KK_OK && (r = prep(s, "SELECT file, name, mime, size, duration_ms, width, height, has_audio FROM videos "
                                   "WHERE project_id = ?", &st, err)) == KK_OK) {
        sqlite3_bind_int64(st, 1, project);
        int row = step_row(s, st, "reading the video", err);
        if (row == 1) {
            if (col_dup(st, 0, &out->file) || col_dup(st, 1, &out->name) || col_dup(st, 2, &out->mime))
                r = nomem(err);
            out->size = sqlite3_column_int64(st, 3);
            out->duration_ms = sqlite3_column_int64(st, 4);
            out->width = sqlite3_column_int(st, 5);
            out->height = sqlite3_column_int(st, 6);
            out->has_audio = sqlite3_column_int(st, 7);
        } else {
            r = row == 0 ? no_video(project, err) : s->failed;
        }
    }
    sqlite3_finalize(st);
    unlock(s);
    if (r != KK_OK)
        kk_store_video_free(out);
    return r;
}

kk_status kk_store_delete_video(kk_store *s, int64_t project, char **old_file, kk_error *err)
{
    return video_change(s, project, NULL, old_file, err);
}

kk_status kk_store_video_files(kk_store *s, char ***files, size_t *n, kk_error *err)
{
    *files = NULL, *n = 0;
    lock(s);
    sqlite3_stmt *st;
    kk_status r = prep(s, "SELECT file FROM videos", &st, err);
    size_t cap = 0;
    while (r == KK_OK) {
        int row = step_row(s, st, "listing the videos", err);
        if (row <= 0) {
            if (row < 0)
                r = s->failed;
            break;
        }
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nv = realloc(*files, nc * sizeof *nv);
            if (!nv) {
                r = nomem(err);
                break;
            }
            *files = nv, cap = nc;
        }
        if (col_dup(st, 0, &(*files)[*n]))
            r = nomem(err);
        else
            ++*n;
    }
    if (r == KK_OK || st)
        sqlite3_finalize(st);
    unlock(s);
    if (r != KK_OK) {
        for (size_t i = 0; i < *n; i++)
            free((*files)[i]);
        free(*files);
        *files = NULL, *n = 0;
    }
    return r;
}
