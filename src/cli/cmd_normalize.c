/*
 * cmd_normalize.c - `kokoro normalize`: the words that will be spoken.
 *
 * Prints the text as the normaliser hands it to the phonemiser ("$49.99" ->
 * "forty-nine dollars and ninety-nine cents"), so that users and tests can
 * see how numbers, money, dates, times, units and abbreviations are read.
 * --json adds each expansion with the source span it came from.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "normalize.h"

static int print_json(const char *src, const kk_norm *n)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (!root || !arr || !cJSON_AddStringToObject(root, "text", n->text)) {
        cJSON_Delete(root);
        cJSON_Delete(arr);
        return -1;
    }
    cJSON_AddItemToObject(root, "expansions", arr);
    for (size_t i = 0; i < n->n_spans; i++) {
        const kk_norm_span *s = &n->spans[i];
        if (s->verbatim)
            continue;
        cJSON *o = cJSON_CreateObject();
        char *a = strndup(src + s->src_start, s->src_end - s->src_start);
        char *b = strndup(n->text + s->out_start, s->out_end - s->out_start);
        int ok = o && a && b && cJSON_AddStringToObject(o, "source", a) &&
                 cJSON_AddNumberToObject(o, "start", (double)s->src_start) &&
                 cJSON_AddNumberToObject(o, "end", (double)s->src_end) && cJSON_AddStringToObject(o, "spoken", b);
        free(a);
        free(b);
        if (!ok) {
            cJSON_Delete(o);
            cJSON_Delete(root);
            return -1;
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    if (!out)
        return -1;
    printf("%s\n", out);
    free(out);
    return 0;
}

int cmd_normalize(int argc, char **argv)
{
    const char *text = NULL, *lang = "en-us", *file = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "-l") || !strcmp(a, "--lang")) && v)
            lang = v, i++;
        else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && v)
            file = v, i++;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (a[0] == '-' && a[1])
            return cli_usage("normalize: unknown or incomplete option '%s'", a);
        else if (!text)
            text = a;
        else
            return cli_usage("normalize: give the text as one argument (quote it) or with -f FILE");
    }
    kk_error err = {0};
    kk_buf buf = {0};
    int rc0 = cli_get_text("normalize", &text, file, &buf);
    if (rc0 != KK_EXIT_OK)
        return rc0;
    kk_norm n;
    kk_status st = kk_normalize(text, lang, &n, &err);
    int rc = KK_EXIT_OK;
    if (st != KK_OK) {
        rc = cli_fail(&err);
    } else if (json ? print_json(text, &n) < 0 : printf("%s\n", n.text) < 0) {
        fprintf(stderr, "kokoro: error: normalize: out of memory or cannot write the output\n");
        rc = KK_EXIT_FAIL;
    }
    if (st == KK_OK)
        kk_norm_free(&n);
    kk_buf_free(&buf);
    return rc;
}
