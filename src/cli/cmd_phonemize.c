/*
 * cmd_phonemize.c - `kokoro phonemize`: what the engine would be given, one
 * chunk of phonemes a line (misaki's symbols), from the g2p alone (no
 * weights are loaded).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "g2p.h"

typedef struct {
    int n;
} phon_state;

static int print_chunk(void *user, const kk_g2p_chunk *c)
{
    phon_state *p = user;
    if (c->n_ids)
        printf("%s\n", c->phonemes), p->n++;
    return 0;
}

static void phon_warning(void *user, const kk_g2p_warning *w)
{
    (void)user;
    cli_warn(w->message);
}

int cmd_phonemize(int argc, char **argv)
{
    const char *text = NULL, *lang = NULL, *model = NULL, *file = NULL;
    kk_g2p_params gp = kk_g2p_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "-l") || !strcmp(a, "--lang")) && v)
            lang = v, i++;
        else if (!strcmp(a, "--model") && v)
            model = v, i++;
        else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && v)
            file = v, i++;
        else if (!strcmp(a, "--lexicon") && v)
            gp.lexicon_path = v, i++;
        else if (!strcmp(a, "--strict"))
            gp.strict = 1;
        else if (!strcmp(a, "--no-dictionary"))
            gp.no_dictionary = 1;
        else if (!strcmp(a, "--no-normalize"))
            gp.normalize = 0;
        else if (a[0] == '-' && a[1])
            return cli_usage("phonemize: unknown or incomplete option '%s'", a);
        else if (!text)
            text = a;
        else
            return cli_usage("phonemize: give the text as one argument (quote it) or with -f FILE");
    }
    kk_error err = {0};
    kk_buf buf = {0};
    int rc0 = cli_get_text("phonemize", &text, file, &buf);
    if (rc0 != KK_EXIT_OK)
        return rc0;
    char found[4096];
    if (!(model = cli_model_dir(model, found, sizeof found, &err))) {
        kk_buf_free(&buf);
        return cli_fail(&err);
    }
    gp.warn = phon_warning;
    kk_g2p *g = NULL;
    phon_state ps = {0};
    kk_status st = kk_g2p_new(model, &gp, &g, &err);
    if (st == KK_OK)
        st = kk_g2p_run(g, text, lang ? lang : "en-us", print_chunk, &ps, &err);
    kk_g2p_free(g);
    kk_buf_free(&buf);
    if (st != KK_OK)
        return cli_fail(&err);
    return fflush(stdout) == 0 ? KK_EXIT_OK : KK_EXIT_FAIL;
}
