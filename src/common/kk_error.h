/*
 * kk_error.h - status codes and error messages shared by every Kokoro subsystem.
 *
 * Every library call that can fail returns a kk_status and, when the caller
 * passes a kk_error, fills it with one human-readable message that says what
 * went wrong, where (file:line when the problem is in an input file) and what
 * to do about it. The library never prints and never exits: the CLI and the
 * server decide how to show the message.
 *
 * Layer: src/common is the bottom of the library; it calls nothing of ours
 * and every other folder may call it.
 */
#ifndef KK_ERROR_H
#define KK_ERROR_H

#include <stddef.h>

typedef enum kk_status {
    KK_OK = 0,
    KK_ERR_INPUT,       /* the input data is malformed or unusable */
    KK_ERR_IO,          /* reading or writing a file failed */
    KK_ERR_NOMEM,       /* an allocation failed */
    KK_ERR_ARG,         /* the caller passed an invalid argument */
    KK_ERR_UNSUPPORTED, /* a valid request we cannot serve (format, feature) */
    KK_ERR_ABORTED,     /* a callback asked us to stop */
    KK_ERR_NOT_FOUND,   /* no such thing (a project, a segment) */
    KK_ERR_CONFLICT,    /* the request does not fit the current state (nothing to undo, say) */
} kk_status;

#define KK_ERROR_MSG_MAX 1024

typedef struct kk_error {
    kk_status code;
    char msg[KK_ERROR_MSG_MAX];
    /* For KK_ERR_IO: errno as it was when the error was set, that is the
     * failed system call's (the I/O helpers set the error right after
     * it); 0 for the other codes. Callers that must tell a full disk from
     * other I/O failures read it (kk_error_disk_full), never the message. */
    int sys_errno;
} kk_error;

/* Sets code and a printf-style message; err may be NULL. For KK_ERR_IO it
 * also records errno (read before anything else) in sys_errno, so an I/O
 * error must be set before anything that may change errno runs (cleanup:
 * close, unlink, free), or sys_errno be set by hand after it. errno is left
 * as it was. Returns code so that callers can write `return
 * kk_error_set(err, KK_ERR_IO, "...")`. */
kk_status kk_error_set(kk_error *err, kk_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err (code KK_OK, empty message, sys_errno 0); err may be NULL. */
void kk_error_clear(kk_error *err);

/* Whether err is an I/O error for want of space: the disk full (ENOSPC)
 * or the user's quota spent (EDQUOT). NULL: 0. */
int kk_error_disk_full(const kk_error *err);

/* A short name for a status code ("input error", "I/O error", ...). */
const char *kk_status_name(kk_status code);

#endif
