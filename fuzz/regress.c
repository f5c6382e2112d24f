/*
 * regress.c - replays a saved fuzz corpus without libFuzzer: runs
 * LLVMFuzzerTestOneInput (fuzz_parser.c, built for one format) over every
 * file in the directory given, in name order. A broken invariant aborts, so
 * CTest sees a failure; so does a sanitizer report in the sanitizer build.
 *
 * An empty or missing corpus is a failure too: a regression test that runs
 * nothing would pass forever without checking anything.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (size_t n; buf && (n = fread(buf + len, 1, cap - len, fp)) > 0;) {
        len += n;
        if (len == cap) {
            uint8_t *p = realloc(buf, cap *= 2);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    int bad = !buf || ferror(fp);
    fclose(fp);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    /* An exact-size copy, so that ASan catches a read one past the end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *dir = opendir(argv[1]);
    if (!dir) {
        perror(argv[1]);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') /* ".", "..", and dot files such as .gitkeep */
            continue;
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *p);
            if (!p)
                return 1;
            names = p;
        }
        if (!(names[n++] = strdup(e->d_name)))
            return 1;
    }
    closedir(dir);
    if (n == 0) {
        fprintf(stderr, "%s: empty corpus; nothing would be tested\n", argv[1]);
        return 1;
    }
    qsort(names, n, sizeof *names, by_name);
    size_t ran = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            fprintf(stderr, "%s\n", path); /* the last name printed is the culprit of an abort */
            if (run_file(path))
                failed = 1;
            else
                ran++;
        }
        free(names[i]);
    }
    free(names);
    if (ran == 0) {
        fprintf(stderr, "%s: no regular files; nothing was tested\n", argv[1]);
        return 1;
    }
    printf("%zu inputs from %s passed\n", ran, argv[1]);
    return failed;
}
