/*
 * prosody.c - see prosody.h. All integer frames once the targets are
 * rounded, so the sums are exact: a word placed at frame A starts at
 * frame A, whatever came before it.
 */
#include "prosody.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kk_pause_mode_from_name(const char *name)
{
    if (name && !strcmp(name, "stretch"))
        return KK_PAUSE_STRETCH;
    if (name && !strcmp(name, "silence"))
        return KK_PAUSE_SILENCE;
    return -1;
}

void kk_prosody_fit_free(kk_prosody_fit *f)
{
    if (!f)
        return;
    free(f->durations);
    free(f->silences);
    free(f->problems);
    memset(f, 0, sizeof *f);
}

static int natural(float raw, float speed)
{
    float r = rintf(raw / speed);
    return r < 1.0f ? 1 : (int)r;
}

/* The part of an id's predicted length that a faster target does not
 * take (frames): Klatt's minimum duration. Compressed speech shortens its
 * long sounds (vowels, held consonants) and keeps its short ones, so a word
 * given less than its natural length takes the frames from what each id
 * has above this floor: a 2-frame stop stays 2 frames while its vowel
 * goes from 6 to 4, where shrinking both by a third would leave the stop
 * a single 25 ms frame. */
#define KK_PROSODY_MIN_FRAMES 2.0

/* total frames over ids [a, b) in proportion to their predicted durations
 * (when total is below their sum: in proportion to what each has above
 * KK_PROSODY_MIN_FRAMES, see there), at least one each (total >= b - a):
 * largest remainders, so the sum is exact. */
static void distribute(const float *raw, size_t a, size_t b, int64_t total, int *dur)
{
    size_t m = b - a;
    if (m == 0)
        return;
    unsigned char *fixed = calloc(m, 1);
    double *x = malloc(m * sizeof *x), *wv = malloc(m * sizeof *wv);
    if (!fixed || !x || !wv) { /* evenly, without scratch: still exact */
        for (size_t k = a; k < b; k++)
            dur[k] = (int)(total / (int64_t)m + ((int64_t)(k - a) < total % (int64_t)m));
        free(fixed), free(x), free(wv);
        return;
    }
    double wsum = 0.0, fsum = 0.0;
    for (size_t k = 0; k < m; k++) {
        wv[k] = raw[a + k] > 0.05f ? raw[a + k] : 0.05f;
        wsum += wv[k];
        fsum += fmin(wv[k], KK_PROSODY_MIN_FRAMES);
    }
    /* compression that the floors leave room for: each id's weight becomes
     * its floor plus its share of what is left above the floors (the
     * weights then sum to total, and are the shares the loop below keeps
     * unless one is under a frame) */
    if ((double)total < wsum && (double)total >= fsum && wsum > fsum) {
        double keep = ((double)total - fsum) / (wsum - fsum), nsum = 0.0;
        for (size_t k = 0; k < m; k++) {
            double fl = fmin(wv[k], KK_PROSODY_MIN_FRAMES);
            wv[k] = fl + (wv[k] - fl) * keep;
            nsum += wv[k];
        }
        wsum = nsum;
    }
    /* ids whose share is under one frame get one; the rest share what is
     * left, until no share is under one */
    int64_t left = total;
    double wl = wsum;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t k = 0; k < m; k++) {
            if (fixed[k])
                continue;
            double w = wv[k];
            x[k] = wl > 0 ? w * (double)left / wl : 1.0;
            if (x[k] < 1.0) {
                fixed[k] = 1, left--, wl -= w, changed = 1;
            }
        }
    }
    int64_t given = 0;
    for (size_t k = 0; k < m; k++) {
        if (fixed[k])
            dur[a + k] = 1, x[k] = 0.0;
        else {
            int64_t f = (int64_t)floor(x[k]);
            if (f < 1)
                f = 1;
            dur[a + k] = (int)f;
            x[k] -= (double)f;
        }
        given += dur[a + k];
    }
    /* the frames left over go to the largest remainders (ties: the first) */
    for (; given < total; given++) {
        size_t best = 0;
        for (size_t k = 1; k < m; k++)
            if (x[k] > x[best])
                best = k;
        dur[a + best]++, x[best] = -1.0;
    }
    /* the floor of one frame may have given too many: take them back from
     * the longest */
    for (; given > total; given--) {
        size_t best = 0;
        for (size_t k = 1; k < m; k++)
            if (dur[a + k] > dur[a + best])
                best = k;
        if (dur[a + best] <= 1)
            break;
        dur[a + best]--;
    }
    free(fixed), free(x), free(wv);
}

static int64_t nat_sum(const float *raw, size_t a, size_t b, float speed)
{
    int64_t s = 0;
    for (size_t k = a; k < b; k++)
        s += natural(raw[k], speed);
    return s;
}

static int add_problem(kk_prosody_fit *f, size_t tag, kk_prosody_problem_kind kind, int64_t frames, int64_t ids,
                       double rate)
{
    for (size_t i = 0; i < f->n_problems; i++)
        if (f->problems[i].tag == tag && f->problems[i].kind == kind)
            return 0;
    kk_prosody_problem *v = realloc(f->problems, (f->n_problems + 1) * sizeof *v);
    if (!v)
        return -1;
    f->problems = v;
    v[f->n_problems++] = (kk_prosody_problem){.tag = tag, .kind = kind, .frames = frames, .ids = ids, .rate = rate};
    return 0;
}

static int add_silence(kk_prosody_fit *f, int64_t at, int64_t frames, size_t cap)
{
    if (frames <= 0)
        return 0;
    if (f->n_silences >= cap)
        return -1;
    f->silences[f->n_silences++] = (kk_prosody_silence){at, frames};
    return 0;
}

/* Whether an untimed word (start NAN) lies in ids [a, b). */
static int has_word(const kk_prosody_word *w, size_t n, size_t a, size_t b)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(w[i].start) && w[i].first_id >= a && w[i].first_id < b)
            return 1;
    return 0;
}

kk_status kk_prosody_fit_chunk(const float *raw, size_t n_ids, float speed, const kk_prosody_word *words,
                               size_t n_words, kk_pause_mode mode, kk_prosody_fit *out, kk_error *err)
{
    memset(out, 0, sizeof *out);
    if (n_ids < 3 || !raw || !(speed > 0.0f))
        return kk_error_set(err, KK_ERR_ARG, "prosody fit: %zu ids (pads included) at speed %g; it needs 3 or more "
                            "and a speed above 0", n_ids, (double)speed);
    for (size_t i = 0; i < n_words; i++) {
        const kk_prosody_word *w = &words[i];
        if (w->n_ids == 0 || w->first_id < 1 || w->first_id + w->n_ids > n_ids - 1 ||
            (i && w->first_id < words[i - 1].first_id + words[i - 1].n_ids))
            return kk_error_set(err, KK_ERR_ARG, "prosody fit: word %zu has ids %zu .. %zu, not after the word "
                                "before it inside 1 .. %zu", i, w->first_id, w->first_id + w->n_ids, n_ids - 2);
    }
    out->durations = malloc(n_ids * sizeof *out->durations);
    out->silences = malloc((n_words + 1) * sizeof *out->silences);
    if (!out->durations || !out->silences) {
        kk_prosody_fit_free(out);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    out->n_ids = n_ids;
    int *dur = out->durations;
    int64_t cur = 0; /* timeline frames so far (silences counted) */
    int64_t eng = 0; /* engine frames so far */
    size_t k = 0;    /* the next id without a duration */
    int first = 1, oom = 0;
    for (size_t i = 0; i < n_words && !oom; i++) {
        const kk_prosody_word *w = &words[i];
        if (isnan(w->start))
            continue;
        size_t a = w->first_id, b = a + w->n_ids;
        /* the room before the word: ids [k, a) in A - cur frames */
        int64_t A = llround(w->start), F = A - cur, need = (int64_t)(a - k);
        if (F < need) {
            /* the chunk's start (or a word before, already reported) leaves
             * no room for these ids */
            if (i == 0 || first)
                oom |= add_problem(out, w->tag, KK_PROSODY_TOO_SHORT, F, need, 0.0);
            F = need;
        }
        int64_t nat = nat_sum(raw, k, a, speed);
        if (first && F >= nat) {
            /* the chunk's start: the pad takes the wait (it is silence) */
            for (size_t q = k; q < a; q++)
                dur[q] = natural(raw[q], speed);
            if (mode == KK_PAUSE_SILENCE)
                oom |= add_silence(out, eng, F - nat, n_words + 1);
            else
                dur[k] += (int)(F - nat);
        } else if (mode == KK_PAUSE_SILENCE && F >= nat && !has_word(words, n_words, k, a)) {
            /* the ids as slower speech would hold them, up to
             * KK_PROSODY_PAUSE_HOLD times their natural length: the word
             * after them then rises as it does in such speech (a target
             * from speech at speed 0.8 has its pauses held so, and its
             * words' first sound comes that far before their aligned
             * start); the rest is silence, so no long hum */
            int64_t S = F; /* nat <= S <= F */
            if ((double)S > KK_PROSODY_PAUSE_HOLD * (double)nat)
                S = (int64_t)(KK_PROSODY_PAUSE_HOLD * (double)nat);
            if (S == nat)
                for (size_t q = k; q < a; q++)
                    dur[q] = natural(raw[q], speed);
            else
                distribute(raw, k, a, S, dur);
            /* in the middle of the pause, where the signal is quietest */
            oom |= add_silence(out, eng + (S + 1) / 2, F - S, n_words + 1);
        } else {
            distribute(raw, k, a, F, dur);
        }
        for (size_t q = k; q < a; q++)
            eng += dur[q];
        cur += F;
        k = a;
        first = 0;
        /* the word: to its end target, or its natural length, within the
         * room up to the next placed word (less the ids between) */
        const kk_prosody_word *next = NULL;
        for (size_t q = i + 1; q < n_words; q++)
            if (!isnan(words[q].start)) {
                next = &words[q];
                break;
            }
        int64_t nw = (int64_t)w->n_ids, natw = nat_sum(raw, a, b, speed);
        int64_t W = isnan(w->end) ? natw : llround(w->end) - cur;
        int short_ = 0;
        if (next) {
            int64_t between = (int64_t)(next->first_id - b), room = llround(next->start) - cur;
            int64_t maxW = room - between;
            if (between == 0 || W > maxW) /* nothing between: the word runs up to the next */
                W = maxW;
            if (maxW < nw) {
                oom |= add_problem(out, w->tag, KK_PROSODY_TOO_SHORT, room, nw + between, 0.0);
                short_ = 1;
            }
        }
        /* The last word's end target is where it stops being heard (a
         * transcript's word end, or our own speech's, cut where its sound
         * ends), but its aligned frames run on: the model puts the
         * sentence's closing silence into the last ids (a final "t" of
         * "it." is predicted 12 frames, most of them closure). Fitting the
         * frames to the heard end squeezed the word itself (its vowel to
         * two frames) and pocketsphinx lost it. So the last word is not
         * shortened below its natural length; what runs past the target
         * is that silence, which the renderer trims. */
        if (!next && W < natw)
            W = natw;
        if (W < nw) /* an end target too early: the pause after it gives way */
            W = nw;
        if (!short_ && (double)natw / (double)W > KK_PROSODY_MAX_RATE)
            oom |= add_problem(out, w->tag, KK_PROSODY_TOO_FAST, W, nw, (double)natw / (double)W);
        distribute(raw, a, b, W, dur);
        eng += W;
        cur += W;
        k = b;
    }
    for (; k < n_ids; k++) { /* after the last placed word: as predicted */
        dur[k] = natural(raw[k], speed);
        eng += dur[k];
    }
    out->frames = eng;
    for (size_t s = 0; s < out->n_silences; s++)
        out->frames += out->silences[s].frames;
    if (oom) {
        kk_prosody_fit_free(out);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    return KK_OK;
}

void kk_prosody_problem_text(const kk_prosody_problem *p, const char *name, char *dst, size_t size)
{
    char who[96];
    if (name)
        snprintf(who, sizeof who, "word %zu (\"%.60s\")", p->tag + 1, name);
    else
        snprintf(who, sizeof who, "word %zu", p->tag + 1);
    if (p->kind == KK_PROSODY_TOO_FAST)
        snprintf(dst, size, "%s would be %.1fx faster than natural (%lld frames of 25 ms), past the %.1fx that "
                 "is speakable", who, p->rate, (long long)p->frames, KK_PROSODY_MAX_RATE);
    else if (p->frames <= 0) /* "gets -7 frames" said nothing a user could act on */
        snprintf(dst, size, "%s gets no time for its %lld phonemes (the speech before it runs past its time)", who,
                 (long long)p->ids);
    else
        snprintf(dst, size, "%s gets %lld frames of 25 ms for %lld phonemes (at least one each)", who,
                 (long long)p->frames, (long long)p->ids);
}

/* ---- emphasis ---- */

/* Adds (give > 0) or takes (give < 0) |give| frames over the m ids in idx,
 * in proportion to weight[k] (what id idx[k] may take or give; the caller
 * makes |give| <= the sum when taking): largest remainders, ties to the
 * first. */
static void share_frames(int *dur, const size_t *idx, const double *weight, size_t m, int64_t give, double *scratch)
{
    double wsum = 0.0;
    for (size_t k = 0; k < m; k++)
        wsum += weight[k];
    if (m == 0 || give == 0 || wsum <= 0.0)
        return;
    int64_t amount = give < 0 ? -give : give, done = 0;
    for (size_t k = 0; k < m; k++) {
        double x = weight[k] * (double)amount / wsum;
        int64_t f = (int64_t)floor(x);
        if (give < 0 && f > (int64_t)weight[k])
            f = (int64_t)weight[k];
        scratch[k] = x - (double)f;
        dur[idx[k]] += (int)(give < 0 ? -f : f);
        done += f;
    }
    for (; done < amount; done++) {
        size_t best = m;
        for (size_t k = 0; k < m; k++)
            if (scratch[k] >= 0.0 && (best == m || scratch[k] > scratch[best]))
                best = k;
        if (best == m)
            break;
        dur[idx[best]] += give < 0 ? -1 : 1;
        scratch[best] = -1.0;
    }
}

int64_t kk_prosody_emphasise(int *dur, size_t n_ids, const kk_prosody_span *words, size_t n_words, double factor)
{
    if (n_ids < 3) /* no word between the pads */
        return 0;
    int *orig = malloc(n_ids * sizeof *orig);
    size_t *idx = malloc(n_ids * sizeof *idx);
    double *w = malloc(n_ids * sizeof *w), *scratch = malloc(n_ids * sizeof *scratch);
    if (!orig || !idx || !w || !scratch) {
        free(orig), free(idx), free(w), free(scratch);
        return -1;
    }
    memcpy(orig, dur, n_ids * sizeof *orig);
    if (!(factor >= 1.0))
        factor = 1.0;
    int64_t grew = 0;
    for (size_t k = 0; k < n_words; k++) {
        const kk_prosody_span *e = &words[k];
        if (!e->emphasis || !e->n_ids || e->first_id < 1 || e->first_id + e->n_ids > n_ids - 1)
            continue;
        int64_t nat = 0;
        for (size_t i = e->first_id; i < e->first_id + e->n_ids; i++)
            nat += orig[i];
        int64_t extra = (int64_t)llround((double)nat * (factor - 1.0));
        if (factor > 1.0 && extra < 1)
            extra = 1;
        if (extra <= 0)
            continue;
        /* the word: longer, in proportion to its ids' natural frames */
        for (size_t i = 0; i < e->n_ids; i++)
            idx[i] = e->first_id + i, w[i] = orig[e->first_id + i];
        share_frames(dur, idx, w, e->n_ids, extra, scratch);
        /* its neighbours, nearest first: what each id can still give */
        int64_t want = extra;
        for (size_t r = 1; want > 0 && (r <= k || k + r < n_words); r++) {
            size_t m = 0;
            double cap = 0.0;
            for (int side = 0; side < 2; side++) {
                if (side == 0 ? r > k : k + r >= n_words)
                    continue;
                const kk_prosody_span *d = &words[side == 0 ? k - r : k + r];
                if (d->emphasis || d->first_id < 1 || d->first_id + d->n_ids > n_ids - 1)
                    continue;
                for (size_t i = d->first_id; i < d->first_id + d->n_ids; i++) {
                    int keep = (int)ceil(orig[i] * KK_EMPHASIS_KEEP);
                    if (keep < 1)
                        keep = 1;
                    if (dur[i] > keep) {
                        idx[m] = i, w[m] = dur[i] - keep, cap += w[m];
                        m++;
                    }
                }
            }
            int64_t take = want < (int64_t)cap ? want : (int64_t)cap;
            share_frames(dur, idx, w, m, -take, scratch);
            want -= take;
        }
        grew += want;
    }
    free(orig), free(idx), free(w), free(scratch);
    return grew;
}

void kk_prosody_gain(float *s, size_t n, size_t start, size_t end, double gain_db)
{
    if (end > n)
        end = n;
    if (!s || start >= end)
        return;
    double g = pow(10.0, gain_db / 20.0);
    size_t len = end - start, ramp = KK_EMPHASIS_RAMP < len / 2 ? KK_EMPHASIS_RAMP : len / 2;
    for (size_t i = 0; i < len; i++) {
        size_t edge = i < len - 1 - i ? i : len - 1 - i; /* samples from the nearer end */
        double a = ramp && edge < ramp ? (double)edge / (double)ramp : 1.0;
        s[start + i] *= (float)(1.0 + (g - 1.0) * a);
    }
}
