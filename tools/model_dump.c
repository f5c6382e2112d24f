/*
 * model_dump.c - kk-model-dump: opens a model (.onnx through the cache, or a
 * .kkw) and prints its tensors, keys and nodes, plus how long conversion,
 * opening and checksum verification took and the resident memory after open.
 *
 *   kk-model-dump [--tensors] [--keys] [--nodes] [--verify] [--find KEY]
 *                 [--convert OUT.kkw] [--widen-f16] [--evict] MODEL
 *
 * --evict drops the converted file from the page cache before opening it
 * (posix_fadvise DONTNEED, no root needed), so that open and verify times
 * are those of a cold start.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weights.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static void print_shape(const kk_tensor *t)
{
    printf("[");
    for (int d = 0; d < t->ndim; d++)
        printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
    printf("]");
}

static void print_tensor(const kk_tensor *t)
{
    printf("%-4s ", kk_dtype_name(t->dtype));
    print_shape(t);
    printf(" %zu B", t->nbytes);
    if (t->dtype == KK_DT_Q4)
        printf(" (K=%d N=%d block=%d%s)", t->q4.K, t->q4.N, t->q4.block_size,
               t->q4.zero_points ? " zp" : "");
    printf("  %s\n", t->name);
}

static int usage(void)
{
    fprintf(stderr, "usage: kk-model-dump [--tensors] [--keys] [--nodes] [--verify] [--find KEY] "
                    "[--convert OUT.kkw [--widen-f16]] [--evict] MODEL\n");
    return 2;
}

int main(int argc, char **argv)
{
    int tensors = 0, keys = 0, nodes = 0, verify = 0, widen_f16 = 0, evict = 0;
    const char *find = NULL, *convert = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tensors"))
            tensors = 1;
        else if (!strcmp(argv[i], "--keys"))
            keys = 1;
        else if (!strcmp(argv[i], "--nodes"))
            nodes = 1;
        else if (!strcmp(argv[i], "--verify"))
            verify = 1;
        else if (!strcmp(argv[i], "--evict"))
            evict = 1;
        else if (!strcmp(argv[i], "--widen-f16"))
            widen_f16 = 1;
        else if (!strcmp(argv[i], "--find") && i + 1 < argc)
            find = argv[++i];
        else if (!strcmp(argv[i], "--convert") && i + 1 < argc)
            convert = argv[++i];
        else if (argv[i][0] == '-' || model)
            return usage();
        else
            model = argv[i];
    }
    if (!model)
        return usage();
    kk_error err;
    kk_error_clear(&err);
    if (convert) {
        kk_convert_opts o = {.widen_f16 = widen_f16};
        double t0 = now_ms();
        if (kk_weights_convert(model, convert, &o, &err) != KK_OK) {
            fprintf(stderr, "kk-model-dump: %s\n", err.msg);
            return 1;
        }
        printf("converted %s -> %s in %.1f ms\n", model, convert, now_ms() - t0);
        model = convert;
    }
    if (evict) {
        /* Evict the file that open will map: the .kkw itself, or the
         * cached conversion of an .onnx. */
        char cpath[4096];
        const char *target = model;
        size_t ml = strlen(model);
        if (ml > 5 && !strcmp(model + ml - 5, ".onnx") &&
            kk_weights_cache_path(model, cpath, sizeof cpath, &err) == KK_OK)
            target = cpath;
        int fd = open(target, O_RDONLY);
        if (fd >= 0) {
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }
    long rss0 = rss_kib();
    kk_weights *w;
    if (kk_weights_open(model, &w, &err) != KK_OK) {
        fprintf(stderr, "kk-model-dump: %s\n", err.msg);
        return 1;
    }
    long rss1 = rss_kib();
    const kk_weights_stats *s = kk_weights_get_stats(w);
    if (tensors)
        for (size_t i = 0; i < kk_weights_count(w); i++)
            print_tensor(kk_weights_tensor(w, i));
    if (keys)
        for (size_t i = 0; i < kk_weights_key_count(w); i++) {
            const kk_tensor *t;
            const char *k = kk_weights_key(w, i, &t);
            printf("%s -> %s\n", k, t->name);
        }
    if (nodes)
        for (size_t i = 0; i < kk_weights_node_count(w); i++) {
            const kk_node *n = kk_weights_node(w, i);
            printf("%s%s%s %s (", n->domain, n->domain[0] ? "." : "", n->op_type, n->name);
            for (int j = 0; j < n->n_inputs; j++)
                printf("%s%s", j ? ", " : "", n->inputs[j]);
            printf(") -> (");
            for (int j = 0; j < n->n_outputs; j++)
                printf("%s%s", j ? ", " : "", n->outputs[j]);
            printf(")");
            for (int j = 0; j < n->n_attrs; j++) {
                const kk_attr *a = &n->attrs[j];
                printf(" %s=", a->name);
                switch (a->type) {
                case 'i': printf("%lld", (long long)a->i); break;
                case 'f': printf("%g", a->f); break;
                case 's': printf("\"%s\"", a->s); break;
                case 't': printf("<%s>", a->t->name); break;
                case 'I':
                    for (int q = 0; q < a->n; q++)
                        printf("%s%lld", q ? "," : "[", (long long)a->ints[q]);
                    printf(a->n ? "]" : "[]");
                    break;
                case 'F':
                    for (int q = 0; q < a->n; q++)
                        printf("%s%g", q ? "," : "[", a->floats[q]);
                    printf(a->n ? "]" : "[]");
                    break;
                }
            }
            printf("\n");
        }
    if (find) {
        const kk_tensor *t = kk_weights_find(w, find);
        if (!t) {
            fprintf(stderr, "kk-model-dump: no tensor or key '%s'\n", find);
            kk_weights_close(w);
            return 1;
        }
        print_tensor(t);
    }
    printf("file: %s\n", s->path);
    printf("size: %.1f MB, %zu tensors, %zu keys, %zu nodes\n", s->file_size / 1e6,
           kk_weights_count(w), kk_weights_key_count(w), kk_weights_node_count(w));
    if (s->from_cache)
        printf("conversion: none (converted copy reused from the cache)\n");
    else if (s->convert_ms > 0)
        printf("conversion: %.1f ms\n", s->convert_ms);
    printf("open: %.2f ms\n", s->open_ms);
    printf("rss: %ld KiB before open, %ld KiB after\n", rss0, rss1);
    if (verify) {
        double t0 = now_ms();
        kk_status st = kk_weights_verify(w, &err);
        printf("verify: %s in %.1f ms\n", st == KK_OK ? "ok" : err.msg, now_ms() - t0);
        printf("rss after verify: %ld KiB\n", rss_kib());
        if (st != KK_OK) {
            kk_weights_close(w);
            return 1;
        }
    }
    kk_weights_close(w);
    return 0;
}
