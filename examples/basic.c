// examples/basic.c - speak one sentence into a WAV file with libkokoro.
//
//   cc basic.c $(pkg-config --cflags --libs kokoro) -o basic
//   ./basic hello.wav
//
// Exits 0 when the file was written, 1 on an error (with its message),
// 77 when no model is installed (the code test runners read as a skip).
#include <stdio.h>

#include <kokoro.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "hello.wav";
    kokoro_error err;
    printf("libkokoro %s\n", kokoro_version());

    char model[4096];
    if (kokoro_find_model(model, sizeof model, &err) != KOKORO_OK) {
        fprintf(stderr, "basic: %s\n", err.message);
        return 77;
    }

    kokoro_context_params cp = kokoro_context_default_params();
    cp.model = model;
    kokoro_context *ctx = NULL;
    if (kokoro_init(&cp, &ctx, &err) != KOKORO_OK) {
        fprintf(stderr, "basic: %s\n", err.message);
        return 1;
    }

    kokoro_speak_params sp = kokoro_speak_default_params();
    sp.voice = "af_heart";
    kokoro_status st = kokoro_speak_to_file(ctx, "Hello from Kokoro.", &sp, out, NULL, &err);
    if (st != KOKORO_OK)
        fprintf(stderr, "basic: %s (%s)\n", err.message, kokoro_status_name(st));
    else
        printf("wrote %s\n", out);
    kokoro_free(ctx);
    return st == KOKORO_OK ? 0 : 1;
}
