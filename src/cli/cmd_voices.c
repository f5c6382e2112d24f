/*
 * cmd_voices.c - `kokoro voices`: the voice packs in the model's voices/
 * folder (or --voices DIR), one a line: id, language, gender, and a note on
 * the voices whose language cannot be phonemized (Japanese and Chinese), so
 * that nobody has to find out from a failed `say`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "g2p.h"
#include "voice.h"

int cmd_voices(int argc, char **argv)
{
    const char *model = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--voices") && i + 1 < argc)
            dir = argv[++i];
        else
            return cli_usage("voices: unknown or incomplete option '%s'", argv[i]);
    }
    kk_error err = {0};
    char found[4096], path[4200];
    if (!dir) {
        if (!(model = cli_model_dir(model, found, sizeof found, &err)))
            return cli_fail(&err);
        snprintf(path, sizeof path, "%s/voices", model);
        dir = path;
    }
    kk_voice_info *v = NULL;
    size_t n = 0;
    if (kk_voice_list(dir, &v, &n, &err) != KK_OK)
        return cli_fail(&err);
    printf("%-16s %-8s %s\n", "voice", "language", "gender");
    for (size_t i = 0; i < n; i++) {
        const char *gender = v[i].gender == 'f' ? "female" : v[i].gender == 'm' ? "male" : "?";
        const char *unsupported = kk_g2p_voice_unsupported(v[i].id);
        /* the reason: between the sentence's ": " and its advice after ";" */
        const char *why = unsupported ? strstr(unsupported, ": ") : NULL;
        why = why ? why + 2 : unsupported;
        if (unsupported)
            printf("%-16s %-8s %-6s  not supported: %.*s\n", v[i].id, v[i].language, gender,
                   (int)strcspn(why, ";"), why);
        else
            printf("%-16s %-8s %s\n", v[i].id, v[i].language, gender);
    }
    free(v);
    return KK_EXIT_OK;
}
