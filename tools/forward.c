/*
 * forward.c - kk-forward: runs the C forward pass on phoneme ids, the way
 * tools/reference/ort_run.js runs ONNX Runtime, so the two can be compared:
 *
 *   kk-forward --model M --ids 50,83,54 --voice af_heart [--speed 1]
 *              [--f32 OUT] [--dump-dir DIR] [--repeat N] [--threads N]
 *              [--precision exact|fast]
 *
 * --ids are phoneme ids WITHOUT the pads (added here). --voice is a name in
 * the model's voices/ directory or a path to a .bin pack. --dump-dir writes
 * every intermediate tensor the engine hands out as raw float32 plus an
 * index.json in ort_run.js's format ({tensors:[{name,dtype,shape,file}]}).
 * --threads: the engine's threads (0, the default: one per CPU); the
 * waveform is the same for any count. --repeat N runs N times and reports
 * the best time. --precision fast: the engine's fast mode (kk_forward.h;
 * falls back to exact with a line on stderr where the CPU lacks AMX).
 * Prints timings, the precision that ran and durations as JSON on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kk_forward.h"
#include "nn.h"
#include "voice.h"

typedef struct {
    const char *dir;
    FILE *index;
    int n;
} dumper;

static void on_tensor(void *user, const char *name, int ndim, const int64_t *shape, const float *data)
{
    dumper *d = user;
    char file[64], path[4096];
    snprintf(file, sizeof file, "t%03d.f32", d->n);
    snprintf(path, sizeof path, "%s/%s", d->dir, file);
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), n, f) != n) {
        fprintf(stderr, "kk-forward: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    fprintf(d->index, "%s{\"name\": \"%s\", \"dtype\": \"float32\", \"shape\": [", d->n ? ",\n" : "", name);
    for (int i = 0; i < ndim; i++)
        fprintf(d->index, "%s%lld", i ? ", " : "", (long long)shape[i]);
    fprintf(d->index, "], \"file\": \"%s\"}", file);
    d->n++;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *msg)
{
    fprintf(stderr, "kk-forward: %s\n", msg);
    exit(2);
}

int main(int argc, char **argv)
{
    /* OMP_WAIT_POLICY and OPENBLAS_CORETYPE are read when the libraries
     * load: set them and start again (nn.h) */
    nn_exec_tuned(argv);
    const char *model = NULL, *ids_s = NULL, *voice_s = "af_heart", *f32 = NULL, *dump = NULL;
    float speed = 1.0f;
    int repeat = 1, threads = 0;
    kk_precision prec = KK_PRECISION_EXACT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("every option takes a value");
        if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--ids"))
            ids_s = v;
        else if (!strcmp(a, "--voice"))
            voice_s = v;
        else if (!strcmp(a, "--speed"))
            speed = strtof(v, NULL);
        else if (!strcmp(a, "--f32"))
            f32 = v;
        else if (!strcmp(a, "--dump-dir"))
            dump = v;
        else if (!strcmp(a, "--repeat"))
            repeat = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--precision") && (!strcmp(v, "exact") || !strcmp(v, "fast")))
            prec = !strcmp(v, "fast") ? KK_PRECISION_FAST : KK_PRECISION_EXACT;
        else
            die("unknown option");
        i++;
    }
    if (!model || !ids_s)
        die("usage: kk-forward --model M --ids LIST [--voice V] [--speed S] [--f32 OUT] [--dump-dir DIR] [--repeat N] [--threads N] [--precision exact|fast]");
    int64_t ids[KK_MAX_IDS];
    int n = 0;
    ids[n++] = 0;
    for (const char *p = ids_s; *p;) {
        if (n >= KK_MAX_IDS - 1)
            die("--ids takes at most 510 ids (the model's 512 with the two pads)");
        char *end;
        ids[n++] = strtoll(p, &end, 10);
        if (end == p)
            die("--ids takes numbers separated by commas");
        p = *end ? end + 1 : end;
    }
    ids[n++] = 0;

    kk_error err;
    double t0 = now_ms();
    kk_model *m;
    if (kk_model_load(model, &m, &err) != KK_OK) {
        fprintf(stderr, "kk-forward: %s\n", err.msg);
        return 2;
    }
    double load = now_ms() - t0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", model);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash + 1 : dir, sizeof dir - (slash ? (size_t)(slash + 1 - dir) : 0), "voices");
    kk_voice *voice;
    if (kk_voice_load(dir, voice_s, &voice, &err) != KK_OK) {
        fprintf(stderr, "kk-forward: %s\n", err.msg);
        return 2;
    }
    const float *style = kk_voice_style(voice, n - 2, &err);
    if (!style) {
        fprintf(stderr, "kk-forward: %s\n", err.msg);
        return 2;
    }
    dumper d = {.dir = dump};
    kk_forward_params p = kk_forward_default_params();
    p.speed = speed;
    p.threads = threads;
    p.precision = prec;
    if (dump) {
        if (mkdir(dump, 0755) && errno != EEXIST)
            die("cannot create the dump directory");
        char path[4096];
        snprintf(path, sizeof path, "%s/index.json", dump);
        d.index = fopen(path, "w");
        if (!d.index)
            die("cannot write index.json");
        fprintf(d.index, "{\"model\": \"%s\", \"tensors\": [\n", model);
        p.on_tensor = on_tensor;
        p.tensor_user = &d;
    }
    kk_forward_result r;
    double best = 1e30;
    for (int k = 0; k < repeat; k++) {
        double t1 = now_ms();
        if (kk_model_forward(m, ids, n, style, &p, &r, &err) != KK_OK) {
            fprintf(stderr, "kk-forward: %s\n", err.msg);
            return 2;
        }
        double el = now_ms() - t1;
        best = el < best ? el : best;
        if (k + 1 < repeat)
            kk_forward_result_free(&r);
        p.on_tensor = NULL;
    }
    if (d.index) {
        fprintf(d.index, "\n]}\n");
        fclose(d.index);
    }
    if (f32) {
        FILE *f = fopen(f32, "wb");
        if (!f || fwrite(r.samples, sizeof(float), r.n_samples, f) != r.n_samples)
            die("cannot write the waveform");
        fclose(f);
    }
    double secs = r.n_samples / (double)KK_SAMPLE_RATE;
    printf("{\"threads\": %d, \"precision\": \"%s\", \"load_ms\": %.1f, \"inference_ms\": %.1f, \"audio_s\": %.3f, \"rtf\": %.4f, \"frames\": %d, "
           "\"durations\": [",
           threads, r.precision == KK_PRECISION_FAST ? "fast" : "exact", load, best, secs, best / 1000.0 / secs, r.n_frames);
    for (int i = 0; i < r.n_ids; i++)
        printf("%s%d", i ? "," : "", r.durations[i]);
    printf("]}\n");
    kk_forward_result_free(&r);
    kk_voice_free(voice);
    kk_model_free(m);
    return 0;
}
