/*
 * tts.c - see tts.h. Text is phonemized in full first (cheap next to the
 * synthesis: about 10 ms for 2,000 words, so it does not delay the first
 * audio), so that progress can say "chunk 3 of 7"; then each chunk is
 * synthesised and handed over before the next one starts.
 */
#include "tts.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "g2p.h"
#include "prosody.h"
#include "kk_forward.h"
#include "kk_time.h"
#include "voice.h"

#define G2P_IDLE_MAX 8
/* Voice packs kept per engine (510 x 256 floats, 522 KB each): a render of
 * many cues with a few voices reads each file once. Beyond this many
 * distinct specs, a voice is loaded for the call and freed after it. */
#define VOICE_CACHE_MAX 32

struct kk_tts {
    kk_model *model;
    char model_path[4096];
    char model_dir[4096];
    char voices_dir[4096];
    char identity[64];
    char identity_fast[96]; /* identity + "-fast" + KK_ENGINE_FAST_VERSION + "-" + the bf16 kernel */
    /* The pronunciation dictionary, mapped once and shared by every
     * prepare (read-only); NULL when there is none, which the first
     * prepare reports. */
    kk_lexdb *dict;
    char dict_error[KK_ERROR_MSG_MAX + 256];
    atomic_int dict_reported;
    /* g2p contexts for prepares without a lexicon file, kept for the next
     * ones (a context is one thread's at a time; workers take one each). */
    pthread_mutex_t g2p_lock;
    kk_g2p *g2p_idle[G2P_IDLE_MAX];
    int n_g2p_idle;
    /* loaded voice packs by spec (read-only once loaded; freed with the
     * engine), under voice_lock */
    pthread_mutex_t voice_lock;
    kk_voice *voices[VOICE_CACHE_MAX];
    int n_voices;
};

kk_tts_params kk_tts_default_params(void)
{
    return (kk_tts_params){0};
}

kk_synth_params kk_synth_default_params(void)
{
    return (kk_synth_params){.voice = "af_heart", .speed = 1.0f};
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The model file in a directory: the published names, most exact first. */
static int model_in_dir(const char *dir, char *dst, size_t size)
{
    static const char *const names[] = {"model.onnx", "model_q4_w16.onnx", "model_fp16.onnx", "model_q4.onnx",
                                        "model_quantized.onnx", "onnx/model.onnx"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int n = snprintf(dst, size, "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= size) /* a path this long cannot be opened anyway */
            continue;
        if (is_file(dst))
            return 1;
    }
    return 0;
}

kk_status kk_tts_find_model(char *dst, size_t size, kk_error *err)
{
    char cand[5][4096];
    int n = 0;
    const char *env = getenv("KOKORO_MODEL_DIR");
    if (env && *env)
        snprintf(cand[n++], sizeof cand[0], "%s", env);
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(cand[n++], sizeof cand[0], "%s/kokoro", xdg);
    else if (home && *home)
        snprintf(cand[n++], sizeof cand[0], "%s/.local/share/kokoro", home);
    snprintf(cand[n++], sizeof cand[0], "models/kokoro-82m-v1.0");
    snprintf(cand[n++], sizeof cand[0], "../shared/models/kokoro-82m-v1.0");
    char file[4096], looked[2048] = "";
    for (int i = 0; i < n; i++) {
        if (is_dir(cand[i]) && model_in_dir(cand[i], file, sizeof file)) {
            snprintf(dst, size, "%s", cand[i]);
            return KK_OK;
        }
        size_t used = strlen(looked);
        snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "", cand[i]);
    }
    return kk_error_set(err, KK_ERR_IO,
                        "no Kokoro model found (looked in %s); download model.onnx, config.json and voices/ "
                        "from onnx-community/Kokoro-82M-v1.0-ONNX into one of those folders, or point "
                        "KOKORO_MODEL_DIR or --model at it",
                        looked);
}

/* dst = "a/b" (or just a when b is NULL); -1 when it does not fit. */
static int path_set(char *dst, size_t size, const char *a, const char *b)
{
    int n = b ? snprintf(dst, size, "%s/%s", a, b) : snprintf(dst, size, "%s", a);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

kk_status kk_tts_new(const kk_tts_params *params, kk_tts **out, kk_error *err)
{
    kk_tts_params defaults = kk_tts_default_params();
    if (!params)
        params = &defaults;
    *out = NULL;
    kk_tts *t = calloc(1, sizeof *t);
    if (!t)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = KK_OK;
    if (!params->model) {
        st = kk_tts_find_model(t->model_dir, sizeof t->model_dir, err);
        if (st == KK_OK)
            model_in_dir(t->model_dir, t->model_path, sizeof t->model_path);
    } else if (is_dir(params->model)) {
        snprintf(t->model_dir, sizeof t->model_dir, "%s", params->model);
        if (!model_in_dir(t->model_dir, t->model_path, sizeof t->model_path))
            st = kk_error_set(err, KK_ERR_IO, "%s: no model.onnx (or model_fp16.onnx, model_q4.onnx, ...) in this "
                              "folder; download one from onnx-community/Kokoro-82M-v1.0-ONNX", params->model);
    } else if (path_set(t->model_path, sizeof t->model_path, params->model, NULL) ||
               path_set(t->model_dir, sizeof t->model_dir, params->model, NULL)) {
        st = kk_error_set(err, KK_ERR_ARG, "the model path is longer than %zu bytes", sizeof t->model_path);
    } else {
        char *slash = strrchr(t->model_dir, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(t->model_dir, ".");
    }
    if (st == KK_OK) {
        if (params->voices_dir ? path_set(t->voices_dir, sizeof t->voices_dir, params->voices_dir, NULL)
                               : path_set(t->voices_dir, sizeof t->voices_dir, t->model_dir, "voices"))
            st = kk_error_set(err, KK_ERR_ARG, "the voices path is longer than %zu bytes", sizeof t->voices_dir);
        else
            st = kk_model_load(t->model_path, &t->model, err);
    }
    if (st != KK_OK) {
        free(t);
        return st;
    }
    pthread_mutex_init(&t->g2p_lock, NULL);
    pthread_mutex_init(&t->voice_lock, NULL);
    kk_error de;
    if (kk_lexdb_open_default(&t->dict, &de) != KK_OK)
        snprintf(t->dict_error, sizeof t->dict_error,
                 "no pronunciation dictionary (%s); English words are read by espeak-ng alone, which reads "
                 "some of them less well (run scripts/install-deps.sh and rebuild)",
                 de.msg);
    snprintf(t->identity, sizeof t->identity, "kkw-%016llx-e%d", (unsigned long long)kk_model_identity(t->model),
             KK_ENGINE_VERSION);
    /* AMX and AVX512_BF16 sum in different orders: their fast audio is not
     * the same bits, so the key names the kernel (a cache shared by render
     * workers on both kinds of machine keeps them apart) */
    const char *kernel = kk_forward_fast_kernel();
    snprintf(t->identity_fast, sizeof t->identity_fast, "%s-fast%d-%s", t->identity, KK_ENGINE_FAST_VERSION,
             kernel ? kernel : "none");
    *out = t;
    return KK_OK;
}

void kk_tts_free(kk_tts *t)
{
    if (!t)
        return;
    kk_model_free(t->model);
    for (int i = 0; i < t->n_g2p_idle; i++)
        kk_g2p_free(t->g2p_idle[i]);
    pthread_mutex_destroy(&t->g2p_lock);
    for (int i = 0; i < t->n_voices; i++)
        kk_voice_free(t->voices[i]);
    pthread_mutex_destroy(&t->voice_lock);
    kk_lexdb_close(t->dict);
    free(t);
}

const char *kk_tts_model_path(const kk_tts *t) { return t->model_path; }
const char *kk_tts_voices_dir(const kk_tts *t) { return t->voices_dir; }
double kk_tts_load_ms(const kk_tts *t) { return kk_model_load_ms(t->model); }
const char *kk_tts_identity(const kk_tts *t) { return t->identity; }
const char *kk_tts_identity_for(const kk_tts *t, kk_precision p)
{
    return p == KK_PRECISION_FAST ? t->identity_fast : t->identity;
}

kk_precision kk_tts_precision(kk_tts *t, kk_precision asked, void (*on_notice)(void *user, const char *line),
                              void *user)
{
    return kk_model_precision(t->model, asked, on_notice, user);
}

kk_status kk_tts_precision_parse(const char *name, const char *what, kk_precision *out, kk_error *err)
{
    if (name && !strcmp(name, "exact"))
        *out = KK_PRECISION_EXACT;
    else if (name && !strcmp(name, "fast"))
        *out = KK_PRECISION_FAST;
    else
        return kk_error_set(err, KK_ERR_ARG,
                            "%s: \"%.60s\" is not a precision; use exact (fp32, the reference audio) or fast (bf16 "
                            "convolutions where the CPU has AMX)",
                            what ? what : "precision", name ? name : "(none)");
    return KK_OK;
}

const char *kk_tts_precision_name(kk_precision p) { return p == KK_PRECISION_FAST ? "fast" : "exact"; }

/* ---- synthesis ---- */

/* The voice for spec: from the cache, or loaded (and kept when there is
 * room: *owned = 0; else the caller frees it: *owned = 1). Two threads
 * asking for a new voice at once may both load it; the second copy is
 * freed. */
static kk_status voice_get(kk_tts *t, const char *spec, kk_voice **out, int *owned, kk_tts_profile *prof,
                           kk_error *err)
{
    *out = NULL, *owned = 0;
    pthread_mutex_lock(&t->voice_lock);
    for (int i = 0; i < t->n_voices; i++)
        if (!strcmp(t->voices[i]->id, spec))
            *out = t->voices[i];
    pthread_mutex_unlock(&t->voice_lock);
    if (*out) {
        if (prof)
            prof->voice_hits++;
        return KK_OK;
    }
    double t0 = kk_now_ms();
    kk_voice *v = NULL;
    kk_status st = kk_voice_load(t->voices_dir, spec, &v, err);
    if (st != KK_OK)
        return st;
    if (prof)
        prof->voice_ms += kk_now_ms() - t0, prof->voice_loads++;
    /* the key is the spec as asked (a blend's id is how voice.c writes it) */
    size_t len = strlen(spec);
    int cacheable = len < sizeof v->id;
    if (cacheable)
        memcpy(v->id, spec, len + 1);
    pthread_mutex_lock(&t->voice_lock);
    kk_voice *dup = NULL;
    for (int i = 0; cacheable && i < t->n_voices; i++)
        if (!strcmp(t->voices[i]->id, spec))
            dup = t->voices[i];
    if (dup) {
        kk_voice_free(v);
        v = dup;
    } else if (cacheable && t->n_voices < VOICE_CACHE_MAX)
        t->voices[t->n_voices++] = v;
    else
        *owned = 1;
    pthread_mutex_unlock(&t->voice_lock);
    *out = v;
    return KK_OK;
}

typedef struct {
    char *phonemes;
    int64_t *ids; /* with the two pads */
    size_t n_ids; /* pads included; 0 for a pure pause */
    int pause_ms;
    size_t text_start, text_end;
    kk_g2p_word *words;
    size_t n_words;
} chunk;

typedef struct {
    chunk *v;
    size_t n, cap;
    int oom;
} chunk_list;

static int collect(void *user, const kk_g2p_chunk *c)
{
    chunk_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        chunk *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return l->oom = 1;
        l->v = v, l->cap = cap;
    }
    chunk *k = &l->v[l->n];
    memset(k, 0, sizeof *k);
    k->pause_ms = c->pause_after_ms;
    k->text_start = c->text_start, k->text_end = c->text_end;
    if (c->n_ids) {
        k->phonemes = strdup(c->phonemes);
        k->ids = malloc((c->n_ids + 2) * sizeof *k->ids);
        if (!k->phonemes || !k->ids) {
            free(k->phonemes), free(k->ids);
            return l->oom = 1;
        }
        k->ids[0] = 0;
        memcpy(k->ids + 1, c->ids, c->n_ids * sizeof *k->ids);
        if (c->n_words) {
            k->words = malloc(c->n_words * sizeof *k->words);
            if (!k->words) {
                free(k->phonemes), free(k->ids);
                return l->oom = 1;
            }
            memcpy(k->words, c->words, c->n_words * sizeof *k->words);
            k->n_words = c->n_words;
        }
        k->ids[c->n_ids + 1] = 0;
        k->n_ids = c->n_ids + 2;
    }
    l->n++;
    return 0;
}

/* Word times from durations d[] (frames per id, the leading pad first). */
static void word_times(const chunk *c, const int *d, kk_tts_word *out)
{
    size_t j = 0, frames = (size_t)d[0]; /* frames before id j */
    for (size_t i = 0; i < c->n_words; i++) {
        const kk_g2p_word *w = &c->words[i];
        for (; j < w->first_id; j++)
            frames += (size_t)d[j + 1];
        size_t start = frames;
        for (; j < w->first_id + w->n_ids; j++)
            frames += (size_t)d[j + 1];
        out[i] = (kk_tts_word){.text_start = w->text_start, .text_end = w->text_end,
                               .start_sample = start * KK_SAMPLES_PER_FRAME,
                               .end_sample = frames * KK_SAMPLES_PER_FRAME,
                               .first_id = w->first_id + 1, .n_ids = w->n_ids, .emphasis = w->emphasis};
    }
}

static void g2p_warning(void *user, const kk_g2p_warning *w)
{
    const kk_synth_params *p = user;
    if (p->on_warning)
        p->on_warning(p->user, w->message);
}

static int forward_abort(void *user)
{
    const kk_synth_params *p = user;
    return p->abort && p->abort(p->user);
}

struct kk_tts_script {
    chunk_list chunks;
    char *phonemes; /* kk_tts_script_phonemes */
};

void kk_tts_script_free(kk_tts_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->chunks.n; i++)
        free(s->chunks.v[i].phonemes), free(s->chunks.v[i].ids), free(s->chunks.v[i].words);
    free(s->chunks.v);
    free(s->phonemes);
    free(s);
}

const char *kk_tts_script_phonemes(const kk_tts_script *s) { return s->phonemes; }
size_t kk_tts_script_chunks(const kk_tts_script *s) { return s->chunks.n; }

static kk_status check_params(const kk_synth_params *p, kk_error *err)
{
    if (!(p->speed >= KK_SPEED_MIN && p->speed <= KK_SPEED_MAX))
        return kk_error_set(err, KK_ERR_ARG, "speed %g is outside %g .. %g", (double)p->speed, (double)KK_SPEED_MIN,
                            (double)KK_SPEED_MAX);
    if (p->threads < 0)
        return kk_error_set(err, KK_ERR_ARG, "threads %d is negative", p->threads);
    return KK_OK;
}

/* "<phonemes>|<pause>\n" per chunk; "|emphasis <factor> <id>+<n> ..."
 * before the newline when it has emphasised words (their durations differ
 * from the plain text's: a cache keyed on this string must tell them
 * apart). */
static char *join_phonemes(const chunk_list *l)
{
    size_t n = 1;
    for (size_t i = 0; i < l->n; i++)
        n += (l->v[i].phonemes ? strlen(l->v[i].phonemes) : 0) + 32 + 48 * l->v[i].n_words;
    char *s = malloc(n), *e = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        const chunk *c = &l->v[i];
        e += snprintf(e, n - (size_t)(e - s), "%s|%d", c->phonemes ? c->phonemes : "", c->pause_ms);
        int any = 0;
        for (size_t k = 0; k < c->n_words; k++) {
            if (!c->words[k].emphasis)
                continue;
            if (!any++)
                e += snprintf(e, n - (size_t)(e - s), "|emphasis %.2f", KK_EMPHASIS_FACTOR);
            e += snprintf(e, n - (size_t)(e - s), " %zu+%zu", c->words[k].first_id + 1, c->words[k].n_ids);
        }
        e += snprintf(e, n - (size_t)(e - s), "\n");
    }
    *e = '\0';
    return s;
}

/* The adjust_durations hook of a chunk with emphasised words
 * (kk_forward_params): its words' spans, lengthened there. */
typedef struct {
    kk_prosody_span *spans;
    size_t n;
} emphasis_hook;

static void emphasise(void *user, int *durations, int n_ids)
{
    const emphasis_hook *h = user;
    /* -1 (no memory): the durations stay the predicted ones, a plainer
     * reading rather than a failed one */
    (void)kk_prosody_emphasise(durations, (size_t)n_ids, h->spans, h->n, KK_EMPHASIS_FACTOR);
}

static int any_emphasis(const chunk *c)
{
    for (size_t k = 0; k < c->n_words; k++)
        if (c->words[k].emphasis)
            return 1;
    return 0;
}

kk_status kk_tts_prepare(kk_tts *t, const char *text, const kk_synth_params *p, kk_tts_script **out, kk_error *err)
{
    kk_synth_params defaults = kk_synth_default_params();
    if (!p)
        p = &defaults;
    *out = NULL;
    if (!text)
        return kk_error_set(err, KK_ERR_ARG, "no text to speak");
    kk_status st = check_params(p, err);
    if (st != KK_OK)
        return st;
    const char *voice_spec = p->voice ? p->voice : "af_heart";
    const char *lang = p->lang ? p->lang : kk_g2p_lang_for_voice(voice_spec);

    kk_g2p_params gp = kk_g2p_default_params();
    gp.strict = p->strict;
    gp.lexicon_path = p->lexicon_path;
    gp.warn = g2p_warning;
    gp.warn_user = (void *)p;
    gp.dictionary = t->dict;
    gp.no_dictionary = !t->dict;
    gp.stream_chunks = p->stream_chunks;
    if (!t->dict && p->on_warning && !atomic_exchange(&t->dict_reported, 1))
        p->on_warning(p->user, t->dict_error);
    kk_tts_script *s = calloc(1, sizeof *s);
    if (!s)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    double t_prep = kk_now_ms();
    /* one context per engine for the usual case: the vocab and the
     * dictionary are not read again for every text */
    kk_g2p *g = NULL;
    int pooled = !p->lexicon_path;
    if (pooled) {
        pthread_mutex_lock(&t->g2p_lock);
        if (t->n_g2p_idle)
            g = t->g2p_idle[--t->n_g2p_idle];
        pthread_mutex_unlock(&t->g2p_lock);
    }
    st = g ? KK_OK : kk_g2p_new(t->model_dir, &gp, &g, err);
    if (st == KK_OK) {
        kk_g2p_set_warnings(g, g2p_warning, (void *)p, p->strict);
        kk_g2p_set_chunk_per_sentence(g, p->chunk_per_sentence);
        kk_g2p_set_stream_chunks(g, p->stream_chunks);
        st = kk_g2p_run(g, text, lang, collect, &s->chunks, err);
        kk_g2p_set_warnings(g, NULL, NULL, 0);
        kk_g2p_set_chunk_per_sentence(g, gp.chunk_per_sentence);
    }
    if (pooled && g) {
        pthread_mutex_lock(&t->g2p_lock);
        if (t->n_g2p_idle < G2P_IDLE_MAX) {
            t->g2p_idle[t->n_g2p_idle++] = g;
            g = NULL;
        }
        pthread_mutex_unlock(&t->g2p_lock);
    }
    kk_g2p_free(g);
    if (st == KK_OK && s->chunks.oom)
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory while phonemizing");
    if (st == KK_OK && !(s->phonemes = join_phonemes(&s->chunks)))
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    if (p->profile)
        p->profile->prepare_ms += kk_now_ms() - t_prep;
    if (st != KK_OK) {
        kk_tts_script_free(s);
        return st;
    }
    *out = s;
    return KK_OK;
}

kk_status kk_tts_speak(kk_tts *t, const kk_tts_script *s, const kk_synth_params *p, kk_error *err)
{
    kk_synth_params defaults = kk_synth_default_params();
    if (!p)
        p = &defaults;
    kk_status st = check_params(p, err);
    if (st != KK_OK)
        return st;
    if (s->chunks.n == 0)
        return kk_error_set(err, KK_ERR_INPUT, "the text has nothing to speak");
    if (p->durations) {
        if (p->n_durations != s->chunks.n || !p->n_ids_of)
            return kk_error_set(err, KK_ERR_ARG, "given durations for %zu chunks, the script has %zu; prepare "
                                "the text again and fit its durations to that script", p->n_durations, s->chunks.n);
        for (size_t i = 0; i < s->chunks.n; i++)
            if (p->durations[i] && p->n_ids_of[i] != s->chunks.v[i].n_ids)
                return kk_error_set(err, KK_ERR_ARG, "given durations for chunk %zu have %zu entries, its ids "
                                    "%zu (pads included)", i, p->n_ids_of[i], s->chunks.v[i].n_ids);
    }
    kk_voice *voice = NULL;
    int voice_owned = 0;
    st = voice_get(t, p->voice ? p->voice : "af_heart", &voice, &voice_owned, p->profile, err);
    if (st != KK_OK)
        return st;
    const chunk_list chunks = s->chunks;
    float *buf = NULL;
    kk_tts_word *words = NULL;
    kk_forward_result r = {0};
    emphasis_hook eh = {0};
    kk_forward_params fp = kk_forward_default_params();
    fp.speed = p->speed;
    fp.threads = p->threads;
    fp.durations_only = p->durations_only;
    fp.abort = forward_abort;
    fp.abort_user = (void *)p;
    fp.precision = p->precision;
    fp.on_notice = p->on_warning;
    fp.notice_user = p->user;
    fp.profile = p->profile ? &p->profile->forward : NULL;
    for (size_t i = 0; st == KK_OK && i < chunks.n; i++) {
        const chunk *c = &chunks.v[i];
        if (p->abort && p->abort(p->user)) {
            st = kk_error_set(err, KK_ERR_ABORTED, "synthesis stopped by the caller");
            break;
        }
        size_t speech = 0;
        if (c->n_ids) {
            const float *style = kk_voice_style(voice, (int)c->n_ids - 2, err);
            if (!style) {
                st = err ? err->code : KK_ERR_INPUT;
                break;
            }
            fp.durations = p->durations ? p->durations[i] : NULL;
            fp.adjust_durations = NULL;
            if (!fp.durations && any_emphasis(c)) {
                kk_prosody_span *sp = realloc(eh.spans, c->n_words * sizeof *sp);
                if (!sp) {
                    st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
                    break;
                }
                eh.spans = sp, eh.n = c->n_words;
                for (size_t k = 0; k < c->n_words; k++)
                    sp[k] = (kk_prosody_span){.first_id = c->words[k].first_id + 1, .n_ids = c->words[k].n_ids,
                                              .emphasis = c->words[k].emphasis};
                fp.adjust_durations = emphasise;
                fp.adjust_user = &eh;
            }
            double t0 = kk_now_ms();
            st = kk_model_forward(t->model, c->ids, (int)c->n_ids, style, &fp, &r, err);
            if (p->profile)
                p->profile->forward_ms += kk_now_ms() - t0;
            if (st != KK_OK)
                break;
            speech = (size_t)r.n_frames * KK_SAMPLES_PER_FRAME;
        }
        size_t pause = (size_t)c->pause_ms * KK_SAMPLE_RATE / 1000;
        free(buf);
        buf = p->durations_only ? NULL : malloc((speech + pause + 1) * sizeof *buf);
        if (!buf && !p->durations_only) {
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
            break;
        }
        if (buf && speech)
            memcpy(buf, r.samples, speech * sizeof *buf);
        if (buf)
            memset(buf + speech, 0, pause * sizeof *buf);
        free(words);
        words = c->n_words && speech ? malloc(c->n_words * sizeof *words) : NULL;
        if (c->n_words && speech) {
            if (!words) {
                st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
                break;
            }
            word_times(c, r.durations, words);
            for (size_t k = 0; buf && k < c->n_words; k++)
                if (words[k].emphasis)
                    kk_prosody_gain(buf, speech, words[k].start_sample, words[k].end_sample, KK_EMPHASIS_GAIN_DB);
        }
        kk_tts_chunk out = {.samples = buf, .n_samples = speech + pause, .pause_samples = pause, .index = i,
                            .text_start = c->text_start, .text_end = c->text_end, .phonemes = c->phonemes,
                            .durations = c->n_ids ? r.durations : NULL, .n_durations = c->n_ids ? (size_t)r.n_ids : 0,
                            .raw_durations = c->n_ids ? r.raw_durations : NULL,
                            .words = words, .n_words = words ? c->n_words : 0};
        if (p->on_chunk && p->on_chunk(p->user, &out))
            st = kk_error_set(err, KK_ERR_ABORTED, "synthesis stopped by the caller");
        kk_forward_result_free(&r);
        if (p->on_progress)
            p->on_progress(p->user, i + 1, chunks.n);
    }
    kk_forward_result_free(&r);
    free(buf);
    free(words);
    free(eh.spans);
    if (voice_owned)
        kk_voice_free(voice);
    return st;
}

kk_status kk_tts_synthesize(kk_tts *t, const char *text, const kk_synth_params *p, kk_error *err)
{
    kk_tts_script *s = NULL;
    kk_status st = kk_tts_prepare(t, text, p, &s, err);
    if (st == KK_OK)
        st = kk_tts_speak(t, s, p, err);
    kk_tts_script_free(s);
    return st;
}
