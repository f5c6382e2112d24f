/*
 * kk_zip.c - stored zip archives of finished files through libzip (kk_zip.h).
 */
#include "kk_zip.h"

#include <string.h>
#include <unistd.h>
#include <zip.h>

kk_status kk_zip_files(const char *path, const char *const *names, const char *const *paths, size_t n,
                       kk_error *err)
{
    if (!n)
        return kk_error_set(err, KK_ERR_ARG, "%s: a zip archive needs at least one file", path);
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !*names[i])
            return kk_error_set(err, KK_ERR_ARG, "%s: file %zu has no name in the archive", path, i + 1);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(names[i], names[k]))
                return kk_error_set(err, KK_ERR_ARG, "%s: two files named \"%.200s\" in the archive", path,
                                    names[i]);
    }
    int zerr = 0;
    /* libzip writes beside path and renames at zip_close. */
    unlink(path);
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_EXCL, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        kk_error_set(err, KK_ERR_IO, "%s: cannot create the archive: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return KK_ERR_IO;
    }
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_file(za, paths[i], 0, -1);
        zip_int64_t idx = src ? zip_file_add(za, names[i], src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0 || zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0)) {
            kk_error_set(err, KK_ERR_IO, "%s: cannot add %s: %s", path, paths[i], zip_strerror(za));
            if (src && idx < 0)
                zip_source_free(src);
            zip_discard(za);
            return KK_ERR_IO;
        }
    }
    if (zip_close(za)) {
        kk_error_set(err, KK_ERR_IO, "%s: cannot write the archive: %s; check free space", path, zip_strerror(za));
        zip_discard(za);
        unlink(path);
        return KK_ERR_IO;
    }
    return KK_OK;
}
