/* test_store.c - the studio's store: projects from parsed subtitles (list,
 * get, delete, sources), timeline order, every edit kind with undo and redo
 * over many steps (the state compared to snapshots, the changed ids to the
 * snapshots' differences), redo dropped by a new edit, history across a
 * reopen and its cap, the edge cases and errors of split, merge, insert and
 * delete, settings, schema versions (newer refused, empty file migrated,
 * foreign files refused), threads, the limit on a project's segments (also
 * under concurrent inserts), and kill -9 in the middle of edits.
 *
 * Built with store.c and KK_STORE_HISTORY_MAX=50 (see CMakeLists.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "subtitles.h"
#include "kk_testutil.h"

#ifndef KK_STORE_HISTORY_MAX
#error "the tests expect the history cap of their build (KK_STORE_HISTORY_MAX)"
#endif

/* ---- helpers ---- */

/* Cues out of order (3 before 2) and two with the same start (4 and 5):
 * timeline order is 1, 3, 2, 4, 5. */
static const char SRT[] = "1\n00:00:01,000 --> 00:00:03,000\nWelcome to Kokoro Studio.\n\n"
                          "2\n00:00:08,000 --> 00:00:10,000\nThis cue comes third in time.\n\n"
                          "3\n00:00:04,000 --> 00:00:06,500\nThis one starts earlier.\n\n"
                          "4\n00:00:12,000 --> 00:00:14,000\nTwo cues start together here.\n\n"
                          "5\n00:00:12,000 --> 00:00:13,000\nThe second of the pair.\n";

static const char TXT[] = "The first paragraph of plain text.\n\nA second one follows it.\n\n"
                          "And the third closes the document.\n";

/* A database path under TEST_TMPDIR, with nothing left there from an
 * earlier run (the WAL and shared-memory files included). */
static char *db_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s.db", kk_test_tmpdir(), name);
    char side[4200];
    unlink(buf);
    snprintf(side, sizeof side, "%s-wal", buf);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", buf);
    unlink(side);
    return buf;
}

static kk_store *open_store(const char *path)
{
    kk_store *s = NULL;
    kk_error err = {0};
    kk_status st = kk_store_open(path, &s, &err);
    if (st != KK_OK)
        print_message("open %s: %s\n", path, err.msg);
    assert_int_equal(st, KK_OK);
    assert_non_null(s);
    return s;
}

static kk_doc *parse(const char *name, const char *text)
{
    kk_doc *doc = NULL;
    kk_error err;
    kk_parse_params p = kk_parse_default_params();
    assert_int_equal(kk_parse_memory(name, text, strlen(text), &p, &doc, &err), KK_OK);
    return doc;
}

/* A project made from subtitles or text, with the bytes as its source. */
static int64_t make_project(kk_store *s, const char *name, const char *file, const char *text)
{
    kk_doc *doc = parse(file, text);
    kk_store_source src = {.name = file, .format = kk_format_name(doc->format), .data = text, .len = strlen(text)};
    int64_t id = 0;
    kk_error err;
    kk_status st = kk_store_create_project(s, name, "{\"voice\":\"af_heart\"}", doc, &src, 1, &id, &err);
    if (st != KK_OK)
        print_message("%s\n", err.msg);
    assert_int_equal(st, KK_OK);
    assert_true(id > 0);
    kk_doc_free(doc);
    return id;
}

static kk_store_segment *segs(kk_store *s, int64_t p, size_t *n)
{
    kk_store_segment *v = NULL;
    kk_error err;
    assert_int_equal(kk_store_segments(s, p, &v, n, &err), KK_OK);
    return v;
}

static kk_store_project project(kk_store *s, int64_t p)
{
    kk_store_project pr;
    kk_error err;
    assert_int_equal(kk_store_get_project(s, p, &pr, &err), KK_OK);
    return pr;
}

static int64_t version(kk_store *s, int64_t p)
{
    kk_store_project pr = project(s, p);
    int64_t v = pr.version;
    kk_store_project_free(&pr);
    return v;
}

/* The undo label now (empty when nothing to undo); buf holds it. */
static const char *undo_label(kk_store *s, int64_t p, char *buf, size_t size)
{
    kk_store_project pr = project(s, p);
    assert_int_equal(pr.can_undo, pr.undo_label != NULL);
    snprintf(buf, size, "%s", pr.undo_label ? pr.undo_label : "");
    kk_store_project_free(&pr);
    return buf;
}

static void append(char **out, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *nw = realloc(*out, *len + (size_t)n + 1);
    assert_non_null(nw);
    va_start(ap, fmt);
    vsnprintf(nw + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *out = nw;
    *len += (size_t)n;
}

/* Everything an edit can change, as text: the project's name and settings,
 * then one line per segment in timeline order, starting with its id. */
static char *snapshot(kk_store *s, int64_t p)
{
    char *out = NULL;
    size_t len = 0;
    kk_store_project pr = project(s, p);
    append(&out, &len, "project|%s|%s\n", pr.name, pr.settings_json);
    kk_store_project_free(&pr);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    for (size_t i = 0; i < n; i++) {
        kk_store_segment *g = &v[i];
        append(&out, &len, "%lld|%lld|%lld|%s|%s|%s|%g|%g|%s\n", (long long)g->id, (long long)g->start_ms,
               (long long)g->end_ms, g->text, g->speaker ? g->speaker : "-", g->voice ? g->voice : "-", g->speed,
               g->pitch, g->words_json ? g->words_json : "-");
    }
    kk_store_segments_free(v, n);
    return out;
}

/* The line of segment id in a snapshot (NULL when absent), its length in *n. */
static const char *snap_line(const char *snap, int64_t id, size_t *n)
{
    char key[32];
    snprintf(key, sizeof key, "\n%lld|", (long long)id);
    const char *l = strstr(snap, key);
    if (!l)
        return NULL;
    l++;
    *n = (size_t)(strchr(l, '\n') - l);
    return l;
}

/* The ids whose lines differ between two snapshots must be exactly the
 * changed ids reported by undo/redo. */
static void check_changed(const char *a, const char *b, const int64_t *changed, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t na = 0, nb = 0;
        const char *la = snap_line(a, changed[i], &na), *lb = snap_line(b, changed[i], &nb);
        assert_true(la || lb);
        assert_false(la && lb && na == nb && !memcmp(la, lb, na)); /* reported but unchanged */
    }
    /* every line of a that is not in b, and of b not in a, has its id reported */
    const char *snaps[2] = {a, b};
    for (int w = 0; w < 2; w++) {
        const char *l = strchr(snaps[w], '\n') + 1;
        while (*l) {
            const char *e = strchr(l, '\n');
            int64_t id = strtoll(l, NULL, 10);
            size_t no = 0;
            const char *other = snap_line(snaps[1 - w], id, &no);
            if (!other || no != (size_t)(e - l) || memcmp(other, l, no)) {
                size_t i = 0;
                while (i < n && changed[i] != id)
                    i++;
                if (i == n)
                    print_message("segment %lld changed but not reported\n", (long long)id);
                assert_true(i < n);
            }
            l = e + 1;
        }
    }
}

static void do_undo(kk_store *s, int64_t p, const char *before, const char *after)
{
    int64_t *changed = NULL;
    size_t n = 0;
    kk_error err;
    kk_status st = kk_store_undo(s, p, &changed, &n, &err);
    if (st != KK_OK)
        print_message("undo: %s\n", err.msg);
    assert_int_equal(st, KK_OK);
    char *now = snapshot(s, p);
    assert_string_equal(now, after);
    check_changed(before, after, changed, n);
    free(now);
    free(changed);
}

static void do_redo(kk_store *s, int64_t p, const char *before, const char *after)
{
    int64_t *changed = NULL;
    size_t n = 0;
    kk_error err;
    kk_status st = kk_store_redo(s, p, &changed, &n, &err);
    if (st != KK_OK)
        print_message("redo: %s\n", err.msg);
    assert_int_equal(st, KK_OK);
    char *now = snapshot(s, p);
    assert_string_equal(now, after);
    check_changed(before, after, changed, n);
    free(now);
    free(changed);
}

static void edit_text(kk_store *s, int64_t p, int64_t id, const char *text)
{
    kk_store_segment patch = {.text = (char *)text};
    kk_error err;
    assert_int_equal(kk_store_edit_segment(s, p, id, KK_SEG_TEXT, &patch, &err), KK_OK);
}

static void expect(kk_status got, kk_status want, const kk_error *err)
{
    if (got != want)
        print_message("expected %s, got %s: %s\n", kk_status_name(want), kk_status_name(got), err->msg);
    assert_int_equal(got, want);
    if (want != KK_OK)
        assert_true(strlen(err->msg) > 10); /* a message that says something */
}

/* ---- projects ---- */

static void test_projects(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "projects"));
    kk_error err;
    int64_t a = make_project(s, "first", "welcome.srt", SRT);
    int64_t b = make_project(s, "second", "notes.txt", TXT);
    assert_true(b != a);

    kk_store_project *list;
    size_t n;
    assert_int_equal(kk_store_list_projects(s, &list, &n, &err), KK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, b); /* newest first */
    assert_int_equal(list[1].id, a);
    assert_string_equal(list[1].name, "first");
    assert_int_equal(list[1].n_segments, 5);
    assert_int_equal(list[0].n_segments, 3);
    for (size_t i = 0; i < n; i++)
        kk_store_project_free(&list[i]);
    free(list);

    kk_store_project pr = project(s, a);
    assert_string_equal(pr.name, "first");
    assert_string_equal(pr.settings_json, "{\"voice\":\"af_heart\"}");
    assert_int_equal(pr.version, 1);
    assert_false(pr.can_undo);
    assert_false(pr.can_redo);
    assert_null(pr.undo_label);
    assert_int_equal(pr.playhead_ms, 0);
    assert_true(pr.created_ms > 1600000000000LL && pr.updated_ms >= pr.created_ms);
    kk_store_project_free(&pr);

    /* the source's bytes come back, and the listing says how many */
    char *name, *format;
    void *data;
    size_t len;
    assert_int_equal(kk_store_get_source(s, a, 0, &name, &format, &data, &len, &err), KK_OK);
    assert_string_equal(name, "welcome.srt");
    assert_string_equal(format, "srt");
    assert_int_equal(len, strlen(SRT));
    assert_memory_equal(data, SRT, len);
    free(name), free(format), free(data);
    expect(kk_store_get_source(s, a, 1, &name, &format, &data, &len, &err), KK_ERR_NOT_FOUND, &err);
    assert_null(data);
    kk_store_source_info *info;
    assert_int_equal(kk_store_sources(s, b, &info, &n, &err), KK_OK);
    assert_int_equal(n, 1);
    assert_string_equal(info[0].name, "notes.txt");
    assert_string_equal(info[0].format, "txt");
    assert_int_equal(info[0].len, strlen(TXT));
    kk_store_sources_free(info, n);

    /* segments of the parsed SRT: text and times */
    kk_store_segment *v = segs(s, a, &n);
    assert_int_equal(n, 5);
    assert_string_equal(v[0].text, "Welcome to Kokoro Studio.");
    assert_int_equal(v[0].start_ms, 1000);
    assert_int_equal(v[0].end_ms, 3000);
    assert_null(v[0].speaker);
    assert_null(v[0].voice);
    assert_true(v[0].speed == 0);
    assert_true(isnan(v[0].pitch));
    kk_store_segment one;
    assert_int_equal(kk_store_get_segment(s, a, v[0].id, &one, &err), KK_OK);
    assert_string_equal(one.text, v[0].text);
    kk_store_segment_free(&one);
    /* a segment asked for through the wrong project does not exist */
    expect(kk_store_get_segment(s, b, v[0].id, &one, &err), KK_ERR_NOT_FOUND, &err);
    int64_t seg_of_a = v[0].id;
    kk_store_segments_free(v, n);

    /* an empty project (no document), and bad arguments */
    int64_t c;
    assert_int_equal(kk_store_create_project(s, "empty", NULL, NULL, NULL, 0, &c, &err), KK_OK);
    pr = project(s, c);
    assert_int_equal(pr.n_segments, 0);
    assert_string_equal(pr.settings_json, "{}");
    kk_store_project_free(&pr);
    expect(kk_store_create_project(s, "x", "[1,2]", NULL, NULL, 0, &c, &err), KK_ERR_ARG, &err);
    expect(kk_store_create_project(s, "x", "{not json", NULL, NULL, 0, &c, &err), KK_ERR_ARG, &err);
    expect(kk_store_create_project(s, "", NULL, NULL, NULL, 0, &c, &err), KK_ERR_ARG, &err);

    /* delete: everything in it goes */
    assert_int_equal(kk_store_delete_project(s, a, &err), KK_OK);
    expect(kk_store_get_project(s, a, &pr, &err), KK_ERR_NOT_FOUND, &err);
    assert_non_null(strstr(err.msg, "does not exist"));
    expect(kk_store_segments(s, a, &v, &n, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_get_segment(s, a, seg_of_a, &one, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_get_source(s, a, 0, &name, &format, &data, &len, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_delete_project(s, a, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_undo(s, a, NULL, NULL, &err), KK_ERR_NOT_FOUND, &err);
    assert_int_equal(kk_store_list_projects(s, &list, &n, &err), KK_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        kk_store_project_free(&list[i]);
    free(list);
    kk_store_close(s);

    /* and nothing of it remains in the file */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM segments WHERE project_id = ?1) + "
                                        "(SELECT count(*) FROM sources WHERE project_id = ?1)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, a);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- timeline order ---- */

static void check_texts(kk_store *s, int64_t p, const char *const *want, size_t n_want)
{
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i].text, want[i]);
    kk_store_segments_free(v, n);
}

static void test_timeline_order(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "order"));
    kk_error err;
    int64_t a = make_project(s, "srt", "a.srt", SRT);
    const char *want[] = {"Welcome to Kokoro Studio.", "This one starts earlier.", "This cue comes third in time.",
                          "Two cues start together here.", "The second of the pair."};
    check_texts(s, a, want, 5);

    /* untimed text keeps its order */
    int64_t t = make_project(s, "txt", "a.txt", TXT);
    const char *want_t[] = {"The first paragraph of plain text.", "A second one follows it.",
                            "And the third closes the document."};
    check_texts(s, t, want_t, 3);
    size_t n;
    kk_store_segment *v = segs(s, t, &n);
    assert_int_equal(v[0].start_ms, KK_TIME_NONE);
    assert_int_equal(v[0].end_ms, KK_TIME_NONE);
    int64_t first_t = v[0].id;
    kk_store_segments_free(v, n);

    /* an untimed insert goes last; split of untimed text stays in place */
    kk_store_segment g = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "Appended.", .pitch = NAN};
    int64_t id;
    assert_int_equal(kk_store_insert(s, t, &g, &id, &err), KK_OK);
    assert_int_equal(kk_store_split(s, t, first_t, 0, strlen("The first"), &id, &err), KK_OK);
    const char *want_t2[] = {"The first", "paragraph of plain text.", "A second one follows it.",
                             "And the third closes the document.", "Appended."};
    check_texts(s, t, want_t2, 5);

    /* moving a cue's times moves it in the timeline; equal starts keep
     * their order of creation */
    v = segs(s, a, &n);
    kk_store_segment patch = {.start_ms = 12000, .end_ms = 12500};
    assert_int_equal(kk_store_edit_segment(s, a, v[0].id, KK_SEG_TIMES, &patch, &err), KK_OK);
    kk_store_segments_free(v, n);
    const char *want2[] = {"This one starts earlier.", "This cue comes third in time.", "Welcome to Kokoro Studio.",
                           "Two cues start together here.", "The second of the pair."};
    check_texts(s, a, want2, 5);

    /* a timed insert goes after the last segment starting at or before it */
    g = (kk_store_segment){.start_ms = 12000, .end_ms = 12100, .text = "Late at twelve.", .pitch = NAN};
    assert_int_equal(kk_store_insert(s, a, &g, &id, &err), KK_OK);
    g = (kk_store_segment){.start_ms = 0, .end_ms = 500, .text = "At zero.", .pitch = NAN};
    assert_int_equal(kk_store_insert(s, a, &g, &id, &err), KK_OK);
    const char *want3[] = {"At zero.",
                           "This one starts earlier.",
                           "This cue comes third in time.",
                           "Welcome to Kokoro Studio.",
                           "Two cues start together here.",
                           "The second of the pair.",
                           "Late at twelve."};
    check_texts(s, a, want3, 7);

    /* mixed: untimed text follows the timed segment before it */
    kk_doc *doc = kk_doc_new(KK_FORMAT_TXT);
    kk_segment sg = {.start_ms = 0, .end_ms = 1000, .text = "timed zero", .score = NAN};
    kk_doc_add(doc, &sg);
    sg = (kk_segment){.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "untimed one", .score = NAN};
    kk_doc_add(doc, &sg);
    sg = (kk_segment){.start_ms = 5000, .end_ms = 6000, .text = "timed five", .score = NAN};
    kk_doc_add(doc, &sg);
    int64_t m;
    assert_int_equal(kk_store_create_project(s, "mixed", NULL, doc, NULL, 0, &m, &err), KK_OK);
    kk_doc_free(doc);
    g = (kk_store_segment){.start_ms = 2000, .end_ms = 3000, .text = "timed two", .pitch = NAN};
    assert_int_equal(kk_store_insert(s, m, &g, &id, &err), KK_OK);
    const char *want_m[] = {"timed zero", "untimed one", "timed two", "timed five"};
    check_texts(s, m, want_m, 4);
    kk_store_close(s);
}

/* ---- edits, undo and redo ---- */

/* One random edit of a kind chosen by seed that really changes something;
 * returns its history label. */
static const char *random_edit(kk_store *s, int64_t p, unsigned *seed, int step)
{
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    kk_error err;
    kk_status st = KK_OK;
    const char *label;
    char text[64];
    /* every kind once first, then at random */
    int kind = !n ? 8 : step <= 11 ? step - 1 : rand_r(seed) % 11;
    size_t i = n ? (size_t)rand_r(seed) % n : 0;
    kk_store_segment *g = n ? &v[i] : NULL, patch = {.pitch = NAN};
    if (kind == 6) { /* split at a space, if the segment has one and room */
        const char *sp = strchr(g->text + 1, ' ');
        int timed = g->start_ms != KK_TIME_NONE;
        if (sp && sp[1] && (!timed || g->end_ms - g->start_ms >= 2)) {
            int64_t nid;
            st = kk_store_split(s, p, g->id, timed ? g->start_ms + (g->end_ms - g->start_ms) / 2 : 0,
                                (size_t)(sp - g->text), &nid, &err);
            label = "split";
            goto done;
        }
        kind = 0;
    }
    if (kind == 7 && n >= 2) {
        if (i == n - 1)
            i--;
        st = kk_store_merge(s, p, v[i].id, v[i + 1].id, &err);
        label = "merge";
        goto done;
    }
    if (kind == 9 && n >= 2) {
        st = kk_store_delete_segment(s, p, g->id, &err);
        label = "delete";
        goto done;
    }
    if (kind == 10) {
        char set[64];
        snprintf(set, sizeof set, "{\"voice\":\"af_heart\",\"speed\":%d}", step);
        st = kk_store_update_project(s, p, NULL, set, &err);
        label = "project settings";
        goto done;
    }
    if (kind == 8 || kind == 7 || kind == 9) {
        snprintf(text, sizeof text, "inserted number %d here", step);
        kk_store_segment ins = {.text = text, .pitch = NAN, .start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE};
        if (!n || v[0].start_ms != KK_TIME_NONE) {
            ins.start_ms = (rand_r(seed) % 20) * 1000;
            ins.end_ms = ins.start_ms + 700;
        }
        if (step % 2)
            ins.voice = "bf_emma";
        int64_t nid;
        st = kk_store_insert(s, p, &ins, &nid, &err);
        label = "insert";
        goto done;
    }
    unsigned mask;
    switch (kind) {
        case 1:
            mask = KK_SEG_TIMES;
            label = "change times";
            if (g->start_ms == KK_TIME_NONE)
                patch.start_ms = 100 * step, patch.end_ms = 100 * step + 50;
            else
                patch.start_ms = g->start_ms + 10, patch.end_ms = g->end_ms + 20;
            break;
        case 2:
            mask = KK_SEG_SPEAKER;
            label = "change speaker";
            patch.speaker = g->speaker ? NULL : "Ann";
            break;
        case 3:
            mask = KK_SEG_VOICE;
            label = "change voice";
            patch.voice = g->voice ? NULL : "am_adam";
            break;
        case 4:
            mask = KK_SEG_SPEED;
            label = "change speed";
            patch.speed = g->speed == 0 ? 1.25 : 0;
            break;
        case 5:
            mask = KK_SEG_PITCH;
            label = "change pitch";
            patch.pitch = isnan(g->pitch) ? -1.5 : NAN;
            break;
        default:
            mask = KK_SEG_TEXT;
            label = "edit text";
            snprintf(text, sizeof text, "new text %d for this one", step);
            patch.text = text;
            break;
    }
    st = kk_store_edit_segment(s, p, g->id, mask, &patch, &err);
done:
    if (st != KK_OK)
        print_message("step %d (%s): %s\n", step, label, err.msg);
    assert_int_equal(st, KK_OK);
    kk_store_segments_free(v, n);
    return label;
}

/* Random edits of every kind, then undo all, redo all, and a random walk,
 * comparing the whole state to the snapshot of each step. */
static void random_history(kk_store *s, int64_t p, unsigned seed, int steps)
{
    char **snap = calloc((size_t)steps + 1, sizeof *snap);
    assert_non_null(snap);
    snap[0] = snapshot(s, p);
    int64_t ver = version(s, p);
    char lab[64];
    int seen[11] = {0};
    unsigned seed0 = seed;
    static const char *const kinds[] = {"edit text",    "change times", "change speaker",  "change voice",
                                        "change speed", "change pitch", "split",           "merge",
                                        "insert",       "delete",       "project settings"};
    for (int i = 1; i <= steps; i++) {
        const char *label = random_edit(s, p, &seed, i);
        snap[i] = snapshot(s, p);
        assert_string_not_equal(snap[i], snap[i - 1]);
        assert_string_equal(undo_label(s, p, lab, sizeof lab), label);
        assert_int_equal(version(s, p), ++ver); /* every edit raises the version by one */
        for (int k = 0; k < 11; k++)
            seen[k] += !strcmp(label, kinds[k]);
    }
    for (int k = 0; k < 11; k++) {
        if (!seen[k])
            print_message("seed %u never made a \"%s\" edit\n", seed0, kinds[k]);
        assert_true(seen[k] > 0); /* the seed exercises every kind */
    }
    for (int i = steps; i > 0; i--) {
        do_undo(s, p, snap[i], snap[i - 1]);
        assert_int_equal(version(s, p), ++ver);
    }
    kk_error err;
    expect(kk_store_undo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    for (int i = 0; i < steps; i++)
        do_redo(s, p, snap[i], snap[i + 1]);
    expect(kk_store_redo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    int pos = steps;
    for (int k = 0; k < 60; k++) {
        if (pos > 0 && (pos == steps || rand_r(&seed) % 2)) {
            do_undo(s, p, snap[pos], snap[pos - 1]);
            pos--;
        } else {
            do_redo(s, p, snap[pos], snap[pos + 1]);
            pos++;
        }
    }
    for (int i = 0; i <= steps; i++)
        free(snap[i]);
    free(snap);
}

static void test_edits_undo_redo(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "edits"));
    random_history(s, make_project(s, "timed", "a.srt", SRT), 7, 40);
    random_history(s, make_project(s, "plain", "a.txt", TXT), 11, 40);
    kk_store_close(s);
}

static void test_redo_dropped_after_edit(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "redo"));
    int64_t p = make_project(s, "p", "a.srt", SRT);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t id = v[0].id;
    kk_store_segments_free(v, n);
    char *s0 = snapshot(s, p);
    edit_text(s, p, id, "one");
    char *s1 = snapshot(s, p);
    edit_text(s, p, id, "two");
    char *s2 = snapshot(s, p);
    do_undo(s, p, s2, s1);
    kk_store_project pr = project(s, p);
    assert_true(pr.can_redo);
    assert_string_equal(pr.redo_label, "edit text");
    kk_store_project_free(&pr);
    kk_error err;
    kk_store_segment patch = {.speaker = "Bob"};
    assert_int_equal(kk_store_edit_segment(s, p, id, KK_SEG_SPEAKER, &patch, &err), KK_OK);
    char *s3 = snapshot(s, p);
    pr = project(s, p);
    assert_false(pr.can_redo);
    assert_null(pr.redo_label);
    assert_string_equal(pr.undo_label, "change speaker");
    kk_store_project_free(&pr);
    expect(kk_store_redo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    assert_non_null(strstr(err.msg, "nothing to redo"));
    do_undo(s, p, s3, s1);
    do_undo(s, p, s1, s0);
    expect(kk_store_undo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    free(s0), free(s1), free(s2), free(s3);
    kk_store_close(s);
}

static void test_history_survives_reopen(void **state)
{
    char path[4096];
    db_path(path, sizeof path, "reopen");
    kk_store *s = open_store(path);
    int64_t p = make_project(s, "p", "a.srt", SRT);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t a = v[0].id, b = v[1].id;
    kk_store_segments_free(v, n);
    kk_error err;
    char *s0 = snapshot(s, p);
    edit_text(s, p, a, "changed");
    char *s1 = snapshot(s, p);
    assert_int_equal(kk_store_merge(s, p, a, b, &err), KK_OK);
    char *s2 = snapshot(s, p);
    assert_int_equal(kk_store_delete_segment(s, p, a, &err), KK_OK);
    char *s3 = snapshot(s, p);
    do_undo(s, p, s3, s2);
    int64_t ver = version(s, p);
    kk_store_close(s);

    s = open_store(path);
    char *now = snapshot(s, p);
    assert_string_equal(now, s2);
    free(now);
    kk_store_project pr = project(s, p);
    assert_string_equal(pr.undo_label, "merge");
    assert_string_equal(pr.redo_label, "delete");
    assert_int_equal(pr.version, ver);
    kk_store_project_free(&pr);
    do_redo(s, p, s2, s3);
    do_undo(s, p, s3, s2);
    do_undo(s, p, s2, s1);
    do_undo(s, p, s1, s0);
    kk_store_close(s);

    s = open_store(path);
    do_redo(s, p, s0, s1);
    do_redo(s, p, s1, s2);
    kk_store_close(s);
    free(s0), free(s1), free(s2), free(s3);
}

static void test_history_cap(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "cap"));
    int64_t p = make_project(s, "p", "a.txt", TXT);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t id = v[0].id;
    kk_store_segments_free(v, n);
    const int extra = 5;
    char text[32];
    for (int i = 1; i <= KK_STORE_HISTORY_MAX + extra; i++) {
        snprintf(text, sizeof text, "edit %d", i);
        edit_text(s, p, id, text);
    }
    kk_error err;
    for (int i = 0; i < KK_STORE_HISTORY_MAX; i++)
        assert_int_equal(kk_store_undo(s, p, NULL, NULL, &err), KK_OK);
    expect(kk_store_undo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    kk_store_segment g;
    assert_int_equal(kk_store_get_segment(s, p, id, &g, &err), KK_OK);
    snprintf(text, sizeof text, "edit %d", extra);
    assert_string_equal(g.text, text); /* the oldest edits can no longer be undone */
    kk_store_segment_free(&g);
    /* a new edit here drops all the redo entries: the table stays small */
    edit_text(s, p, id, "fresh");
    kk_store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM history", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- edge cases and errors ---- */

static void test_edit_errors(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "errors"));
    int64_t p = make_project(s, "p", "a.srt", SRT), q = make_project(s, "q", "a.txt", TXT);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t id = v[0].id;
    kk_store_segments_free(v, n);
    kk_error err;
    char lab[64];
    int64_t ver = version(s, p);
    kk_store_segment patch = {.start_ms = 2000, .end_ms = 1000};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_TIMES, &patch, &err), KK_ERR_ARG, &err);
    assert_non_null(strstr(err.msg, "before its start"));
    patch = (kk_store_segment){.start_ms = KK_TIME_NONE, .end_ms = 1000};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_TIMES, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.start_ms = -5, .end_ms = 1000};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_TIMES, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.speed = NAN};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_SPEED, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.speed = -1};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_SPEED, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.pitch = INFINITY};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_PITCH, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.text = NULL};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_TEXT, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.text = "bad \xC3\x28 byte"};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_TEXT, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.voice = ""};
    expect(kk_store_edit_segment(s, p, id, KK_SEG_VOICE, &patch, &err), KK_ERR_ARG, &err);
    patch = (kk_store_segment){.text = "x"};
    expect(kk_store_edit_segment(s, p, id, 0, &patch, &err), KK_ERR_ARG, &err);
    expect(kk_store_edit_segment(s, p, id, 1u << 12, &patch, &err), KK_ERR_ARG, &err);
    expect(kk_store_edit_segment(s, p, 999999, KK_SEG_TEXT, &patch, &err), KK_ERR_NOT_FOUND, &err);
    assert_non_null(strstr(err.msg, "segment 999999"));
    expect(kk_store_edit_segment(s, q, id, KK_SEG_TEXT, &patch, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_edit_segment(s, 999999, id, KK_SEG_TEXT, &patch, &err), KK_ERR_NOT_FOUND, &err);
    assert_non_null(strstr(err.msg, "project 999999"));
    expect(kk_store_undo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    expect(kk_store_redo(s, p, NULL, NULL, &err), KK_ERR_CONFLICT, &err);
    assert_int_equal(version(s, p), ver); /* no failure changed anything */
    assert_string_equal(undo_label(s, p, lab, sizeof lab), "");

    /* an edit that changes nothing leaves no history */
    patch = (kk_store_segment){.start_ms = 1000, .end_ms = 3000};
    assert_int_equal(kk_store_edit_segment(s, p, id, KK_SEG_TIMES, &patch, &err), KK_OK);
    assert_int_equal(version(s, p), ver);
    assert_string_equal(undo_label(s, p, lab, sizeof lab), "");

    /* several fields at once: one edit; untimed is a valid time */
    patch = (kk_store_segment){.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .voice = "am_adam", .speed = 0.9};
    assert_int_equal(kk_store_edit_segment(s, p, id, KK_SEG_TIMES | KK_SEG_VOICE | KK_SEG_SPEED, &patch, &err), KK_OK);
    assert_string_equal(undo_label(s, p, lab, sizeof lab), "edit segment");
    kk_store_segment g;
    assert_int_equal(kk_store_get_segment(s, p, id, &g, &err), KK_OK);
    assert_int_equal(g.start_ms, KK_TIME_NONE);
    assert_string_equal(g.voice, "am_adam");
    assert_true(g.speed == 0.9);
    kk_store_segment_free(&g);
    assert_int_equal(kk_store_undo(s, p, NULL, NULL, &err), KK_OK);
    assert_int_equal(kk_store_get_segment(s, p, id, &g, &err), KK_OK);
    assert_int_equal(g.start_ms, 1000);
    assert_null(g.voice);
    kk_store_segment_free(&g);
    kk_store_close(s);
}

/* Word times: kept from the source, dropped by a text edit (and back on
 * undo), joined by a merge of two segments that both have them. */
static void test_words(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "words"));
    kk_doc *doc = kk_doc_new(KK_FORMAT_WSCRIBE);
    kk_word w1[] = {{.text = "Hello", .start_ms = 0, .end_ms = 400, .score = NAN},
                    {.text = "there", .start_ms = 450, .end_ms = 900, .score = NAN}};
    kk_word w2[] = {{.text = "again", .start_ms = 1000, .end_ms = KK_TIME_NONE, .score = NAN}};
    kk_segment sg = {
        .start_ms = 0, .end_ms = 900, .text = "Hello there", .speaker = "Ann", .words = w1, .n_words = 2, .score = NAN};
    kk_doc_add(doc, &sg);
    sg = (kk_segment){.start_ms = 1000, .end_ms = 1500, .text = "again", .words = w2, .n_words = 1, .score = NAN};
    kk_doc_add(doc, &sg);
    sg = (kk_segment){.start_ms = 2000, .end_ms = 2500, .text = "no words", .score = NAN};
    kk_doc_add(doc, &sg);
    int64_t p;
    kk_error err;
    assert_int_equal(kk_store_create_project(s, "w", NULL, doc, NULL, 0, &p, &err), KK_OK);
    kk_doc_free(doc);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    assert_string_equal(v[0].words_json, "[{\"text\":\"Hello\",\"start_ms\":0,\"end_ms\":400},"
                                         "{\"text\":\"there\",\"start_ms\":450,\"end_ms\":900}]");
    assert_string_equal(v[0].speaker, "Ann");
    assert_string_equal(v[1].words_json, "[{\"text\":\"again\",\"start_ms\":1000,\"end_ms\":null}]");
    assert_null(v[2].words_json);
    int64_t a = v[0].id, b = v[1].id, c = v[2].id;
    kk_store_segments_free(v, n);

    assert_int_equal(kk_store_merge(s, p, a, b, &err), KK_OK);
    kk_store_segment g;
    assert_int_equal(kk_store_get_segment(s, p, a, &g, &err), KK_OK);
    assert_string_equal(g.text, "Hello there again");
    assert_int_equal(g.start_ms, 0);
    assert_int_equal(g.end_ms, 1500);
    assert_string_equal(g.words_json, "[{\"text\":\"Hello\",\"start_ms\":0,\"end_ms\":400},"
                                      "{\"text\":\"there\",\"start_ms\":450,\"end_ms\":900},"
                                      "{\"text\":\"again\",\"start_ms\":1000,\"end_ms\":null}]");
    kk_store_segment_free(&g);
    /* merging with a segment without words drops them */
    assert_int_equal(kk_store_merge(s, p, a, c, &err), KK_OK);
    assert_int_equal(kk_store_get_segment(s, p, a, &g, &err), KK_OK);
    assert_null(g.words_json);
    kk_store_segment_free(&g);
    assert_int_equal(kk_store_undo(s, p, NULL, NULL, &err), KK_OK);
    assert_int_equal(kk_store_undo(s, p, NULL, NULL, &err), KK_OK);

    edit_text(s, p, a, "Hello here");
    assert_int_equal(kk_store_get_segment(s, p, a, &g, &err), KK_OK);
    assert_null(g.words_json);
    kk_store_segment_free(&g);
    assert_int_equal(kk_store_undo(s, p, NULL, NULL, &err), KK_OK);
    assert_int_equal(kk_store_get_segment(s, p, a, &g, &err), KK_OK);
    assert_non_null(g.words_json);
    kk_store_segment_free(&g);
    /* a split drops them too */
    assert_int_equal(kk_store_split(s, p, a, 420, 5, NULL, &err), KK_OK);
    assert_int_equal(kk_store_get_segment(s, p, a, &g, &err), KK_OK);
    assert_null(g.words_json);
    assert_string_equal(g.text, "Hello");
    assert_string_equal(g.speaker, "Ann");
    kk_store_segment_free(&g);

    /* an insert's words must be a JSON array */
    kk_store_segment ins = {.start_ms = 5000, .end_ms = 6000, .text = "w", .pitch = NAN, .words_json = "{}"};
    int64_t id;
    expect(kk_store_insert(s, p, &ins, &id, &err), KK_ERR_ARG, &err);
    ins.words_json = "[{\"text\":\"w\",\"start_ms\":5000,\"end_ms\":5400}]";
    assert_int_equal(kk_store_insert(s, p, &ins, &id, &err), KK_OK);
    assert_int_equal(kk_store_get_segment(s, p, id, &g, &err), KK_OK);
    assert_string_equal(g.words_json, ins.words_json);
    kk_store_segment_free(&g);
    kk_store_close(s);
}

static void test_split_cases(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "split"));
    kk_doc *doc = kk_doc_new(KK_FORMAT_SRT);
    kk_segment sg = {.start_ms = 1000, .end_ms = 3000, .text = "h\xC3\xA9llo w\xC3\xB6rld", .score = NAN};
    kk_doc_add(doc, &sg);
    int64_t p, nid;
    kk_error err;
    assert_int_equal(kk_store_create_project(s, "s", NULL, doc, NULL, 0, &p, &err), KK_OK);
    kk_doc_free(doc);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t id = v[0].id;
    kk_store_segments_free(v, n);
    int64_t ver = version(s, p);
    size_t len = strlen("h\xC3\xA9llo w\xC3\xB6rld");
    expect(kk_store_split(s, p, id, 2000, 0, &nid, &err), KK_ERR_ARG, &err);
    expect(kk_store_split(s, p, id, 2000, len, &nid, &err), KK_ERR_ARG, &err);
    expect(kk_store_split(s, p, id, 2000, len + 10, &nid, &err), KK_ERR_ARG, &err);
    expect(kk_store_split(s, p, id, 2000, 2, &nid, &err), KK_ERR_ARG, &err); /* inside "é" */
    assert_non_null(strstr(err.msg, "UTF-8"));
    expect(kk_store_split(s, p, id, 1000, 6, &nid, &err), KK_ERR_ARG, &err); /* at the start */
    expect(kk_store_split(s, p, id, 3000, 6, &nid, &err), KK_ERR_ARG, &err); /* at the end */
    expect(kk_store_split(s, p, id, 5000, 6, &nid, &err), KK_ERR_ARG, &err);
    expect(kk_store_split(s, p, 424242, 2000, 6, &nid, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_split(s, 424242, id, 2000, 6, &nid, &err), KK_ERR_NOT_FOUND, &err);
    assert_int_equal(version(s, p), ver);

    char *s0 = snapshot(s, p);
    assert_int_equal(kk_store_split(s, p, id, 1800, 3, &nid, &err), KK_OK); /* after "é" */
    char *s1 = snapshot(s, p);
    v = segs(s, p, &n);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].id, id);
    assert_string_equal(v[0].text, "h\xC3\xA9");
    assert_int_equal(v[0].end_ms, 1800);
    assert_int_equal(v[1].id, nid);
    assert_string_equal(v[1].text, "llo w\xC3\xB6rld");
    assert_int_equal(v[1].start_ms, 1800);
    assert_int_equal(v[1].end_ms, 3000);
    kk_store_segments_free(v, n);
    /* the first half trimmed: "llo" | " w..." */
    assert_int_equal(kk_store_split(s, p, nid, 2500, 3, &nid, &err), KK_OK);
    kk_store_segment g;
    assert_int_equal(kk_store_get_segment(s, p, nid, &g, &err), KK_OK);
    assert_string_equal(g.text, "w\xC3\xB6rld");
    kk_store_segment_free(&g);
    char *s2 = snapshot(s, p);
    do_undo(s, p, s2, s1);
    do_undo(s, p, s1, s0);
    do_redo(s, p, s0, s1);
    do_redo(s, p, s1, s2);
    free(s0), free(s1), free(s2);

    /* a half of only white space */
    doc = kk_doc_new(KK_FORMAT_TXT);
    sg = (kk_segment){.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "a  b", .score = NAN};
    kk_doc_add(doc, &sg);
    int64_t q;
    assert_int_equal(kk_store_create_project(s, "t", NULL, doc, NULL, 0, &q, &err), KK_OK);
    kk_doc_free(doc);
    v = segs(s, q, &n);
    id = v[0].id;
    kk_store_segments_free(v, n);
    assert_int_equal(kk_store_split(s, q, id, -77, 2, &nid, &err), KK_OK); /* untimed: at_ms ignored */
    v = segs(s, q, &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].text, "a");
    assert_string_equal(v[1].text, "b");
    assert_int_equal(v[1].start_ms, KK_TIME_NONE);
    kk_store_segments_free(v, n);
    edit_text(s, q, id, "x   ");
    expect(kk_store_split(s, q, id, 0, 1, &nid, &err), KK_ERR_ARG, &err);

    /* Many splits of the same spot: the creation order has to make room
     * (renumbering) without losing the order of anything. */
    char text[2048] = "";
    size_t tl = 0;
    for (int i = 0; i < 70; i++)
        tl += (size_t)snprintf(text + tl, sizeof text - tl, "%sw%02d", i ? " " : "", i);
    doc = kk_doc_new(KK_FORMAT_TXT);
    sg = (kk_segment){.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "before", .score = NAN};
    kk_doc_add(doc, &sg);
    sg.text = text;
    kk_doc_add(doc, &sg);
    sg.text = "after";
    kk_doc_add(doc, &sg);
    int64_t r;
    assert_int_equal(kk_store_create_project(s, "many", NULL, doc, NULL, 0, &r, &err), KK_OK);
    kk_doc_free(doc);
    v = segs(s, r, &n);
    id = v[1].id;
    kk_store_segments_free(v, n);
    char *snaps[70] = {0};
    snaps[0] = snapshot(s, r);
    for (int i = 1; i < 70; i++) {
        /* split the last piece after its first word */
        assert_int_equal(kk_store_split(s, r, id, 0, 3, &id, &err), KK_OK);
        snaps[i] = snapshot(s, r);
    }
    v = segs(s, r, &n);
    assert_int_equal(n, 72);
    assert_string_equal(v[0].text, "before");
    for (int i = 0; i < 70; i++) {
        char w[8];
        snprintf(w, sizeof w, "w%02d", i);
        assert_string_equal(v[i + 1].text, w);
    }
    assert_string_equal(v[71].text, "after");
    kk_store_segments_free(v, n);
    /* undo and redo across the renumbering */
    int back = KK_STORE_HISTORY_MAX < 69 ? KK_STORE_HISTORY_MAX : 69;
    for (int i = 69; i > 69 - back; i--)
        do_undo(s, r, snaps[i], snaps[i - 1]);
    for (int i = 69 - back; i < 69; i++)
        do_redo(s, r, snaps[i], snaps[i + 1]);
    for (int i = 0; i < 70; i++)
        free(snaps[i]);
    kk_store_close(s);
}

static void test_merge_cases(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "merge"));
    int64_t p = make_project(s, "p", "a.srt", SRT), q = make_project(s, "q", "a.txt", TXT);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t id[5];
    for (size_t i = 0; i < 5; i++)
        id[i] = v[i].id;
    kk_store_segments_free(v, n);
    kk_error err;
    int64_t ver = version(s, p);
    expect(kk_store_merge(s, p, id[0], id[2], &err), KK_ERR_ARG, &err); /* not adjacent */
    expect(kk_store_merge(s, p, id[1], id[0], &err), KK_ERR_ARG, &err); /* wrong order */
    expect(kk_store_merge(s, p, id[1], id[1], &err), KK_ERR_ARG, &err);
    expect(kk_store_merge(s, p, id[4], 777777, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_merge(s, 777777, id[0], id[1], &err), KK_ERR_NOT_FOUND, &err);
    v = segs(s, q, &n);
    expect(kk_store_merge(s, p, id[4], v[0].id, &err), KK_ERR_NOT_FOUND, &err); /* another project's */
    kk_store_segments_free(v, n);
    assert_int_equal(version(s, p), ver);

    char *s0 = snapshot(s, p);
    /* timeline neighbours that are not neighbours in the file: 3 and 2 */
    assert_int_equal(kk_store_merge(s, p, id[1], id[2], &err), KK_OK);
    kk_store_segment g;
    assert_int_equal(kk_store_get_segment(s, p, id[1], &g, &err), KK_OK);
    assert_string_equal(g.text, "This one starts earlier. This cue comes third in time.");
    assert_int_equal(g.start_ms, 4000);
    assert_int_equal(g.end_ms, 10000);
    kk_store_segment_free(&g);
    expect(kk_store_get_segment(s, p, id[2], &g, &err), KK_ERR_NOT_FOUND, &err);
    char *s1 = snapshot(s, p);
    /* b inside a: the merged segment keeps a's end */
    assert_int_equal(kk_store_merge(s, p, id[3], id[4], &err), KK_OK);
    assert_int_equal(kk_store_get_segment(s, p, id[3], &g, &err), KK_OK);
    assert_int_equal(g.start_ms, 12000);
    assert_int_equal(g.end_ms, 14000);
    kk_store_segment_free(&g);
    char *s2 = snapshot(s, p);
    do_undo(s, p, s2, s1);
    do_undo(s, p, s1, s0); /* the merged-away segment comes back with its id */
    do_redo(s, p, s0, s1);
    do_redo(s, p, s1, s2);
    free(s0), free(s1), free(s2);
    kk_store_close(s);
}

static void test_insert_delete_cases(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "insdel"));
    int64_t p = make_project(s, "p", "a.srt", SRT);
    kk_error err;
    int64_t id;
    int64_t ver = version(s, p);
    kk_store_segment g = {.start_ms = 5000, .end_ms = 4000, .text = "x", .pitch = NAN};
    expect(kk_store_insert(s, p, &g, &id, &err), KK_ERR_ARG, &err);
    g = (kk_store_segment){.start_ms = 5000, .end_ms = KK_TIME_NONE, .text = "x", .pitch = NAN};
    expect(kk_store_insert(s, p, &g, &id, &err), KK_ERR_ARG, &err);
    g = (kk_store_segment){.start_ms = 5000, .end_ms = 6000, .text = NULL, .pitch = NAN};
    expect(kk_store_insert(s, p, &g, &id, &err), KK_ERR_ARG, &err);
    g = (kk_store_segment){.start_ms = 5000, .end_ms = 6000, .text = "x", .speed = NAN, .pitch = NAN};
    expect(kk_store_insert(s, p, &g, &id, &err), KK_ERR_ARG, &err);
    expect(kk_store_insert(s, p, NULL, &id, &err), KK_ERR_ARG, &err);
    g = (kk_store_segment){.start_ms = 5000, .end_ms = 6000, .text = "x", .pitch = NAN};
    expect(kk_store_insert(s, 31337, &g, &id, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_delete_segment(s, p, 31337, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_delete_segment(s, 31337, 1, &err), KK_ERR_NOT_FOUND, &err);
    assert_int_equal(version(s, p), ver);

    /* insert with every field, read back */
    g = (kk_store_segment){.id = 99999,
                           .start_ms = 6600,
                           .end_ms = 7000,
                           .text = "An inserted line.",
                           .speaker = "Eve",
                           .voice = "bf_emma",
                           .speed = 1.5,
                           .pitch = 2.0};
    char *s0 = snapshot(s, p);
    assert_int_equal(kk_store_insert(s, p, &g, &id, &err), KK_OK);
    assert_true(id != 99999 && id > 0); /* seg's id ignored */
    kk_store_segment r;
    assert_int_equal(kk_store_get_segment(s, p, id, &r, &err), KK_OK);
    assert_string_equal(r.text, g.text);
    assert_string_equal(r.speaker, "Eve");
    assert_string_equal(r.voice, "bf_emma");
    assert_true(r.speed == 1.5 && r.pitch == 2.0);
    assert_int_equal(r.start_ms, 6600);
    kk_store_segment_free(&r);
    char *s1 = snapshot(s, p);
    /* undo then a new insert: a new id, never the undone one's */
    do_undo(s, p, s1, s0);
    int64_t id2;
    assert_int_equal(kk_store_insert(s, p, &g, &id2, &err), KK_OK);
    assert_true(id2 != id);
    expect(kk_store_get_segment(s, p, id, &r, &err), KK_ERR_NOT_FOUND, &err);
    char *s2 = snapshot(s, p);

    /* delete and undo: same id, same place */
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t mid = v[2].id;
    kk_store_segments_free(v, n);
    assert_int_equal(kk_store_delete_segment(s, p, mid, &err), KK_OK);
    char *s3 = snapshot(s, p);
    char lab[64];
    assert_string_equal(undo_label(s, p, lab, sizeof lab), "delete");
    do_undo(s, p, s3, s2);
    do_redo(s, p, s2, s3);
    do_undo(s, p, s3, s2);

    /* delete everything, then undo it all */
    v = segs(s, p, &n);
    char **snaps = calloc(n + 1, sizeof *snaps);
    snaps[0] = snapshot(s, p);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(kk_store_delete_segment(s, p, v[i].id, &err), KK_OK);
        snaps[i + 1] = snapshot(s, p);
    }
    kk_store_project pr = project(s, p);
    assert_int_equal(pr.n_segments, 0);
    kk_store_project_free(&pr);
    for (size_t i = n; i > 0; i--)
        do_undo(s, p, snaps[i], snaps[i - 1]);
    for (size_t i = 0; i <= n; i++)
        free(snaps[i]);
    free(snaps);
    kk_store_segments_free(v, n);
    free(s0), free(s1), free(s2), free(s3);
    kk_store_close(s);
}

static void test_project_update_and_playhead(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "update"));
    int64_t p = make_project(s, "before", "a.srt", SRT);
    kk_error err;
    char lab[64];
    char *s0 = snapshot(s, p);
    assert_int_equal(kk_store_update_project(s, p, "after", NULL, &err), KK_OK);
    assert_string_equal(undo_label(s, p, lab, sizeof lab), "rename project");
    char *s1 = snapshot(s, p);
    assert_int_equal(kk_store_update_project(s, p, NULL, "{\"voice\":\"am_adam\",\"speed\":1.1}", &err), KK_OK);
    assert_string_equal(undo_label(s, p, lab, sizeof lab), "project settings");
    char *s2 = snapshot(s, p);
    assert_non_null(strstr(s2, "am_adam"));
    int64_t ver = version(s, p);
    expect(kk_store_update_project(s, p, NULL, "[]", &err), KK_ERR_ARG, &err);
    expect(kk_store_update_project(s, p, NULL, "{", &err), KK_ERR_ARG, &err);
    expect(kk_store_update_project(s, p, "", NULL, &err), KK_ERR_ARG, &err);
    expect(kk_store_update_project(s, p, NULL, NULL, &err), KK_ERR_ARG, &err);
    expect(kk_store_update_project(s, 5555, "x", NULL, &err), KK_ERR_NOT_FOUND, &err);

    /* the playhead is saved but is no edit */
    assert_int_equal(kk_store_set_playhead(s, p, 12345, &err), KK_OK);
    expect(kk_store_set_playhead(s, p, -1, &err), KK_ERR_ARG, &err);
    expect(kk_store_set_playhead(s, 5555, 1, &err), KK_ERR_NOT_FOUND, &err);
    kk_store_project pr = project(s, p);
    assert_int_equal(pr.playhead_ms, 12345);
    assert_int_equal(pr.version, ver);
    assert_string_equal(pr.undo_label, "project settings");
    kk_store_project_free(&pr);

    int64_t *changed = NULL;
    size_t n = 99;
    assert_int_equal(kk_store_undo(s, p, &changed, &n, &err), KK_OK);
    assert_int_equal(n, 0); /* no segment touched */
    free(changed);
    char *now = snapshot(s, p);
    assert_string_equal(now, s1);
    free(now);
    do_undo(s, p, s1, s0);
    do_redo(s, p, s0, s1);
    do_redo(s, p, s1, s2);
    free(s0), free(s1), free(s2);
    kk_store_close(s);
}

/* ---- settings ---- */

static void test_settings(void **state)
{
    char path[4096];
    db_path(path, sizeof path, "settings");
    kk_store *s = open_store(path);
    kk_error err;
    char *json = (char *)"x";
    assert_int_equal(kk_store_get_setting(s, "theme", &json, &err), KK_OK);
    assert_null(json);
    assert_int_equal(kk_store_put_setting(s, "theme", "\"dark-glass\"", &err), KK_OK);
    assert_int_equal(kk_store_put_setting(s, "favourites", "[\"af_heart\"]", &err), KK_OK);
    assert_int_equal(kk_store_put_setting(s, "favourites", "[\"af_heart\",\"am_adam\"]", &err), KK_OK);
    expect(kk_store_put_setting(s, "recent", "[1,", &err), KK_ERR_ARG, &err);
    expect(kk_store_put_setting(s, "", "1", &err), KK_ERR_ARG, &err);
    expect(kk_store_get_setting(s, NULL, &json, &err), KK_ERR_ARG, &err);
    assert_int_equal(kk_store_put_setting(s, "gone", "1", &err), KK_OK);
    assert_int_equal(kk_store_put_setting(s, "gone", NULL, &err), KK_OK); /* NULL removes it */
    kk_store_close(s);

    s = open_store(path);
    assert_int_equal(kk_store_get_setting(s, "theme", &json, &err), KK_OK);
    assert_string_equal(json, "\"dark-glass\"");
    free(json);
    assert_int_equal(kk_store_get_setting(s, "favourites", &json, &err), KK_OK);
    assert_string_equal(json, "[\"af_heart\",\"am_adam\"]");
    free(json);
    assert_int_equal(kk_store_get_setting(s, "recent", &json, &err), KK_OK);
    assert_null(json);
    assert_int_equal(kk_store_get_setting(s, "gone", &json, &err), KK_OK);
    assert_null(json);
    kk_store_close(s);
}

/* ---- schema versions ---- */

static int pragma(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static const char *pragma_text(const char *path, const char *sql, char *buf, size_t size)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return buf;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
    char path[4096];
    db_path(path, sizeof path, "newer");
    kk_store *s = open_store(path);
    int64_t p = make_project(s, "p", "a.srt", SRT);
    kk_store_close(s);
    assert_int_equal(pragma(path, "PRAGMA user_version"), 3);
    sql_exec(path, "PRAGMA user_version = 4");
    kk_error err;
    s = (kk_store *)&err;
    expect(kk_store_open(path, &s, &err), KK_ERR_UNSUPPORTED, &err);
    assert_null(s);
    assert_non_null(strstr(err.msg, path)); /* names the file */
    assert_non_null(strstr(err.msg, "newer"));
    /* the file is left as it was, and opens again at its own version */
    assert_int_equal(pragma(path, "PRAGMA user_version"), 4);
    sql_exec(path, "PRAGMA user_version = 3");
    s = open_store(path);
    kk_store_project pr = project(s, p);
    assert_string_equal(pr.name, "p");
    kk_store_project_free(&pr);
    kk_store_close(s);
}

/* Schema 2: a version 1 database gains the videos table and keeps its
 * data; one video per project, replaced (the old file handed back),
 * detached, and gone with its project. */
static void test_videos(void **state)
{
    char path[4096];
    db_path(path, sizeof path, "videos");
    kk_store *s = open_store(path);
    int64_t p = make_project(s, "p", "a.srt", SRT);
    kk_store_close(s);
    sql_exec(path, "DROP TABLE videos; ALTER TABLE segments DROP COLUMN fit; PRAGMA user_version = 1");
    s = open_store(path);
    assert_int_equal(pragma(path, "PRAGMA user_version"), 3);
    kk_store_project pr = project(s, p);
    assert_string_equal(pr.name, "p");
    kk_store_project_free(&pr);
    kk_error err;
    kk_store_video v = {0}, got;
    char *old = (char *)&err;
    expect(kk_store_get_video(s, p, &got, &err), KK_ERR_NOT_FOUND, &err);
    assert_non_null(strstr(err.msg, "no video"));
    v = (kk_store_video){.file = "1-a.mp4", .name = "clip.mp4", .mime = "video/mp4", .size = 5000000000LL,
                         .duration_ms = 6000, .width = 160, .height = 120, .has_audio = 1};
    expect(kk_store_set_video(s, p, &v, &old, &err), KK_OK, &err);
    assert_null(old);
    expect(kk_store_get_video(s, p, &got, &err), KK_OK, &err);
    assert_string_equal(got.file, "1-a.mp4");
    assert_true(got.size == 5000000000LL); /* 64-bit sizes */
    assert_int_equal(got.width, 160);
    kk_store_video_free(&got);
    v.file = "1-b.mp4";
    expect(kk_store_set_video(s, p, &v, &old, &err), KK_OK, &err);
    assert_string_equal(old, "1-a.mp4");
    free(old);
    expect(kk_store_set_video(s, p + 100, &v, &old, &err), KK_ERR_NOT_FOUND, &err);
    char **files;
    size_t n;
    expect(kk_store_video_files(s, &files, &n, &err), KK_OK, &err);
    assert_int_equal(n, 1);
    assert_string_equal(files[0], "1-b.mp4");
    free(files[0]), free(files);
    expect(kk_store_delete_video(s, p, &old, &err), KK_OK, &err);
    assert_string_equal(old, "1-b.mp4");
    free(old);
    expect(kk_store_delete_video(s, p, &old, &err), KK_ERR_NOT_FOUND, &err);
    expect(kk_store_set_video(s, p, &v, &old, &err), KK_OK, &err);
    expect(kk_store_delete_project(s, p, &err), KK_OK, &err);
    expect(kk_store_video_files(s, &files, &n, &err), KK_OK, &err);
    assert_int_equal(n, 0);
    free(files);
    kk_store_close(s);
}

/* Schema 3: a segment's own fit. A version 2 database gains the column
 * (NULL: the project's) and keeps its segments; the fit is an undoable
 * edit, kept by both halves of a split, and an empty name is refused. */
static void test_segment_fit(void **state)
{
    char path[4096];
    db_path(path, sizeof path, "fit");
    kk_store *s = open_store(path);
    int64_t p = make_project(s, "p", "a.srt", SRT);
    kk_store_close(s);
    sql_exec(path, "ALTER TABLE segments DROP COLUMN fit; PRAGMA user_version = 2");
    s = open_store(path);
    assert_int_equal(pragma(path, "PRAGMA user_version"), 3);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    assert_true(n >= 2);
    assert_null(v[0].fit);
    int64_t a = v[0].id;
    char *text = strdup(v[0].text);
    int64_t start = v[0].start_ms, end = v[0].end_ms;
    kk_store_segments_free(v, n);
    kk_error err;
    kk_store_segment patch = {.fit = "words", .pitch = NAN};
    expect(kk_store_edit_segment(s, p, a, KK_SEG_FIT, &patch, &err), KK_OK, &err);
    kk_store_segment g;
    expect(kk_store_get_segment(s, p, a, &g, &err), KK_OK, &err);
    assert_string_equal(g.fit, "words");
    assert_string_equal(g.text, text); /* the rest as it was */
    kk_store_segment_free(&g);
    kk_store_project pr = project(s, p);
    assert_string_equal(pr.undo_label, "change fit");
    kk_store_project_free(&pr);
    expect(kk_store_undo(s, p, NULL, NULL, &err), KK_OK, &err);
    expect(kk_store_get_segment(s, p, a, &g, &err), KK_OK, &err);
    assert_null(g.fit);
    kk_store_segment_free(&g);
    expect(kk_store_redo(s, p, NULL, NULL, &err), KK_OK, &err);
    /* word times and the fit in one edit: one step, named for the words */
    patch = (kk_store_segment){.fit = "words", .words_json = "[{\"text\":\"x\",\"start_ms\":1,\"end_ms\":null}]",
                               .pitch = NAN};
    expect(kk_store_edit_segment(s, p, a, KK_SEG_FIT | KK_SEG_WORDS, &patch, &err), KK_OK, &err);
    pr = project(s, p);
    assert_string_equal(pr.undo_label, "change word times");
    kk_store_project_free(&pr);
    /* a split: both halves keep the fit */
    int64_t b = 0;
    expect(kk_store_split(s, p, a, start + (end - start) / 2, strlen(text) / 2, &b, &err), KK_OK, &err);
    expect(kk_store_get_segment(s, p, b, &g, &err), KK_OK, &err);
    assert_string_equal(g.fit, "words");
    kk_store_segment_free(&g);
    expect(kk_store_undo(s, p, NULL, NULL, &err), KK_OK, &err); /* the split, its inserted half with its fit */
    expect(kk_store_redo(s, p, NULL, NULL, &err), KK_OK, &err);
    expect(kk_store_get_segment(s, p, b, &g, &err), KK_OK, &err);
    assert_string_equal(g.fit, "words");
    kk_store_segment_free(&g);
    /* back to the project's; an empty name is refused */
    patch = (kk_store_segment){.fit = NULL, .pitch = NAN};
    expect(kk_store_edit_segment(s, p, a, KK_SEG_FIT, &patch, &err), KK_OK, &err);
    expect(kk_store_get_segment(s, p, a, &g, &err), KK_OK, &err);
    assert_null(g.fit);
    kk_store_segment_free(&g);
    patch.fit = "";
    expect(kk_store_edit_segment(s, p, a, KK_SEG_FIT, &patch, &err), KK_ERR_ARG, &err);
    assert_non_null(strstr(err.msg, "fit"));
    free(text);
    kk_store_close(s);
}

static void test_migration_and_foreign_files(void **state)
{
    char path[4096];
    kk_error err;
    kk_store *s;
    /* an empty file is a new database: migrated to the current schema */
    db_path(path, sizeof path, "empty");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    s = open_store(path);
    int64_t p = make_project(s, "p", "a.txt", TXT);
    kk_store_close(s);
    assert_int_equal(pragma(path, "PRAGMA user_version"), 3);
    assert_int_equal(pragma(path, "PRAGMA application_id"), 1263227732);
    char mode[16];
    assert_string_equal(pragma_text(path, "PRAGMA journal_mode", mode, sizeof mode), "wal");
    assert_int_equal(pragma(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                  "('projects','sources','segments','history','settings','videos')"),
                     6);
    /* opening again migrates nothing and keeps the data */
    s = open_store(path);
    kk_store_project pr = project(s, p);
    assert_int_equal(pr.n_segments, 3);
    kk_store_project_free(&pr);
    kk_store_close(s);

    /* another program's SQLite database is left alone */
    db_path(path, sizeof path, "foreign");
    sql_exec(path, "CREATE TABLE contacts (name TEXT)");
    expect(kk_store_open(path, &s, &err), KK_ERR_INPUT, &err);
    assert_non_null(strstr(err.msg, "another program"));
    assert_int_equal(pragma(path, "SELECT count(*) FROM sqlite_master"), 1);
    db_path(path, sizeof path, "foreign2");
    sql_exec(path, "PRAGMA application_id = 42");
    expect(kk_store_open(path, &s, &err), KK_ERR_INPUT, &err);

    /* not a database at all */
    db_path(path, sizeof path, "text");
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
        fputs("this is a text file, not a database\n", f);
    fclose(f);
    expect(kk_store_open(path, &s, &err), KK_ERR_INPUT, &err);
    assert_non_null(strstr(err.msg, "not a Kokoro Studio database"));

    /* a directory that does not exist */
    const char *d = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", d ? d : "/tmp");
    expect(kk_store_open(path, &s, &err), KK_ERR_IO, &err);
    assert_non_null(strstr(err.msg, "directory"));
    expect(kk_store_open("", &s, &err), KK_ERR_ARG, &err);
}

/* ---- threads ---- */

typedef struct worker {
    kk_store *s;
    int64_t project, seg;
    int edits;
    atomic_int *stop;
    int failures;
} worker;

static void *writer(void *arg)
{
    worker *w = arg;
    char text[32];
    kk_error err;
    for (int i = 1; i <= w->edits; i++) {
        snprintf(text, sizeof text, "w%lld e%d", (long long)w->project, i);
        kk_store_segment patch = {.text = text};
        if (kk_store_edit_segment(w->s, w->project, w->seg, KK_SEG_TEXT, &patch, &err) != KK_OK)
            w->failures++;
        if (i % 5 == 0 && (kk_store_undo(w->s, w->project, NULL, NULL, &err) != KK_OK ||
                           kk_store_redo(w->s, w->project, NULL, NULL, &err) != KK_OK))
            w->failures++;
    }
    return NULL;
}

static void *reader(void *arg)
{
    worker *w = arg;
    kk_error err;
    while (!atomic_load(w->stop)) {
        kk_store_project *list;
        size_t n;
        if (kk_store_list_projects(w->s, &list, &n, &err) != KK_OK) {
            w->failures++;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            kk_store_segment *v;
            size_t m;
            if (kk_store_segments(w->s, list[i].id, &v, &m, &err) != KK_OK || m != list[i].n_segments)
                w->failures++;
            else
                kk_store_segments_free(v, m);
            kk_store_project_free(&list[i]);
        }
        free(list);
    }
    return NULL;
}

static void test_threads(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "threads"));
    enum { W = 4, R = 2, EDITS = 20 };
    atomic_int stop = 0;
    worker ws[W + R];
    pthread_t th[W + R];
    for (int i = 0; i < W + R; i++) {
        ws[i] = (worker){.s = s, .edits = EDITS, .stop = &stop};
        if (i < W) {
            ws[i].project = make_project(s, "t", "a.srt", SRT);
            size_t n;
            kk_store_segment *v = segs(s, ws[i].project, &n);
            ws[i].seg = v[i].id;
            kk_store_segments_free(v, n);
        }
    }
    for (int i = 0; i < W + R; i++)
        assert_int_equal(pthread_create(&th[i], NULL, i < W ? writer : reader, &ws[i]), 0);
    for (int i = 0; i < W; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    for (int i = W; i < W + R; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < W + R; i++)
        assert_int_equal(ws[i].failures, 0);
    kk_error err;
    for (int i = 0; i < W; i++) {
        kk_store_segment g;
        assert_int_equal(kk_store_get_segment(s, ws[i].project, ws[i].seg, &g, &err), KK_OK);
        char want[32];
        snprintf(want, sizeof want, "w%lld e%d", (long long)ws[i].project, EDITS);
        assert_string_equal(g.text, want);
        kk_store_segment_free(&g);
        /* 1 + EDITS edits + an undo and a redo every 5 */
        assert_int_equal(version(s, ws[i].project), 1 + EDITS + 2 * (EDITS / 5));
    }
    kk_store_close(s);
}

/* ---- the limit on segments ---- */

typedef struct {
    kk_store *s;
    int64_t project;
    int ok, full, other;
} inserter;

static void *insert_main(void *arg)
{
    inserter *w = arg;
    for (int i = 0; i < 6; i++) {
        kk_store_segment g = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "One more.", .pitch = NAN};
        kk_error err;
        int64_t id;
        kk_status st = kk_store_insert(w->s, w->project, &g, &id, &err);
        if (st == KK_OK)
            w->ok++;
        else if (st == KK_ERR_CONFLICT)
            w->full++;
        else
            w->other++;
    }
    return NULL;
}

static void test_max_segments(void **state)
{
    char path[4096];
    kk_store *s = open_store(db_path(path, sizeof path, "limit"));
    kk_error err;
    int64_t p = make_project(s, "limit", "a.srt", SRT); /* 5 segments */
    kk_store_set_max_segments(s, 6);
    kk_store_segment g = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "Sixth.", .pitch = NAN};
    int64_t id = 0, nid = 0;
    assert_int_equal(kk_store_insert(s, p, &g, &id, &err), KK_OK);
    /* full: neither an insert nor a split adds one, and nothing changes */
    int64_t v = version(s, p);
    expect(kk_store_insert(s, p, &g, &nid, &err), KK_ERR_CONFLICT, &err);
    assert_int_equal(nid, 0);
    assert_non_null(strstr(err.msg, "limit of 6 segments"));
    size_t n;
    kk_store_segment *all = segs(s, p, &n);
    int64_t first = all[0].id;
    kk_store_segments_free(all, n);
    expect(kk_store_split(s, p, first, 2000, 8, &nid, &err), KK_ERR_CONFLICT, &err);
    assert_int_equal(version(s, p), v);
    all = segs(s, p, &n);
    kk_store_segments_free(all, n);
    assert_int_equal(n, 6);
    /* a missing project is still not found, full or not */
    expect(kk_store_insert(s, 424242, &g, &nid, &err), KK_ERR_NOT_FOUND, &err);
    /* room again after a delete; a split takes it */
    assert_int_equal(kk_store_delete_segment(s, p, id, &err), KK_OK);
    assert_int_equal(kk_store_split(s, p, first, 2000, 8, &nid, &err), KK_OK);
    expect(kk_store_insert(s, p, &g, &nid, &err), KK_ERR_CONFLICT, &err);
    /* 0: no limit */
    kk_store_set_max_segments(s, 0);
    assert_int_equal(kk_store_insert(s, p, &g, &nid, &err), KK_OK);

    /* Inserts at once from several threads: exactly as many pass as there
     * is room for (the count is checked inside each insert's transaction). */
    int64_t q = make_project(s, "race", "a.srt", SRT);
    kk_store_set_max_segments(s, 12);
    enum { T = 4 };
    inserter ws[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        ws[i] = (inserter){.s = s, .project = q};
        assert_int_equal(pthread_create(&th[i], NULL, insert_main, &ws[i]), 0);
    }
    int ok = 0, full = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ws[i].other, 0);
        ok += ws[i].ok, full += ws[i].full;
    }
    assert_int_equal(ok, 12 - 5);
    assert_int_equal(full, T * 6 - (12 - 5));
    all = segs(s, q, &n);
    kk_store_segments_free(all, n);
    assert_int_equal(n, 12);
    kk_store_close(s);
}

/* ---- kill -9 ---- */

/* The child: edits the text to "edit N", N = first, first + 1, ..., and
 * writes a byte to fd after each edit is committed; never returns. */
static void crash_child(const char *path, int64_t p, int64_t id, int first, int fd)
{
    kk_store *s;
    kk_error err;
    if (kk_store_open(path, &s, &err) != KK_OK)
        _exit(2);
    char text[32];
    for (int n = first;; n++) {
        snprintf(text, sizeof text, "edit %d", n);
        kk_store_segment patch = {.text = text};
        if (kk_store_edit_segment(s, p, id, KK_SEG_TEXT, &patch, &err) != KK_OK)
            _exit(3);
        if (write(fd, "x", 1) != 1)
            _exit(4);
    }
}

static void test_crash_kill9(void **state)
{
    char path[4096];
    db_path(path, sizeof path, "crash");
    kk_store *s = open_store(path);
    int64_t p = make_project(s, "crash", "a.srt", SRT);
    size_t n;
    kk_store_segment *v = segs(s, p, &n);
    int64_t id = v[0].id;
    kk_store_segments_free(v, n);
    kk_store_close(s);

    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("crash test seed %u\n", seed);
    int first = 1;
    for (int round = 0; round < 5; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(path, p, id, first, fds[1]);
        }
        close(fds[1]);
        int want = 5 + rand_r(&seed) % 46, got = 0;
        char buf[64];
        while (got < want) {
            ssize_t r = read(fds[0], buf, (size_t)(want - got) < sizeof buf ? (size_t)(want - got) : sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            assert_true(r > 0); /* the child died on its own */
            got += (int)r;
        }
        /* somewhere in the next edit, or a few later */
        struct timespec ts = {0, (long)(rand_r(&seed) % 4000) * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* count the acknowledgements written before the kill */
        ssize_t r;
        while ((r = read(fds[0], buf, sizeof buf)) > 0)
            got += (int)r;
        close(fds[0]);

        s = open_store(path);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);

        kk_store_segment g;
        kk_error err;
        assert_int_equal(kk_store_get_segment(s, p, id, &g, &err), KK_OK);
        int last = -1;
        assert_int_equal(sscanf(g.text, "edit %d", &last), 1);
        kk_store_segment_free(&g);
        print_message("round %d: %d edits acknowledged, the last saved is edit %d (first %d)\n", round, got, last,
                      first);
        /* every acknowledged edit is there; at most one more (committed,
         * killed before its byte) */
        assert_true(last >= first + got - 1);
        assert_true(last <= first + got);
        /* and the history works after the crash */
        assert_int_equal(kk_store_undo(s, p, NULL, NULL, &err), KK_OK);
        assert_int_equal(kk_store_get_segment(s, p, id, &g, &err), KK_OK);
        char want_text[32];
        snprintf(want_text, sizeof want_text, "edit %d", last - 1);
        assert_string_equal(g.text, want_text);
        kk_store_segment_free(&g);
        assert_int_equal(kk_store_redo(s, p, NULL, NULL, &err), KK_OK);
        kk_store_close(s);
        first = last + 1;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projects),
        cmocka_unit_test(test_timeline_order),
        cmocka_unit_test(test_edits_undo_redo),
        cmocka_unit_test(test_redo_dropped_after_edit),
        cmocka_unit_test(test_history_survives_reopen),
        cmocka_unit_test(test_history_cap),
        cmocka_unit_test(test_edit_errors),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_segment_fit),
        cmocka_unit_test(test_split_cases),
        cmocka_unit_test(test_merge_cases),
        cmocka_unit_test(test_insert_delete_cases),
        cmocka_unit_test(test_project_update_and_playhead),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_migration_and_foreign_files),
        cmocka_unit_test(test_videos),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_max_segments),
        cmocka_unit_test(test_crash_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
