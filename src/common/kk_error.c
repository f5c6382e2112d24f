/* kk_error.c - see kk_error.h. */
#include "kk_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

kk_status kk_error_set(kk_error *err, kk_status code, const char *fmt, ...)
{
    int e = errno; /* before vsnprintf, which may change it */
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
        err->sys_errno = code == KK_ERR_IO ? e : 0;
    }
    errno = e;
    return code;
}

void kk_error_clear(kk_error *err)
{
    if (err) {
        err->code = KK_OK;
        err->msg[0] = '\0';
        err->sys_errno = 0;
    }
}

int kk_error_disk_full(const kk_error *err)
{
    if (!err || err->code != KK_ERR_IO)
        return 0;
#ifdef EDQUOT
    if (err->sys_errno == EDQUOT)
        return 1;
#endif
    return err->sys_errno == ENOSPC;
}

const char *kk_status_name(kk_status code)
{
    switch (code) {
    case KK_OK: return "ok";
    case KK_ERR_INPUT: return "input error";
    case KK_ERR_IO: return "I/O error";
    case KK_ERR_NOMEM: return "out of memory";
    case KK_ERR_ARG: return "invalid argument";
    case KK_ERR_UNSUPPORTED: return "unsupported";
    case KK_ERR_ABORTED: return "aborted";
    case KK_ERR_NOT_FOUND: return "not found";
    case KK_ERR_CONFLICT: return "conflict";
    }
    return "unknown error";
}
