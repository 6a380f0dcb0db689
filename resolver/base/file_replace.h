/*
 * file_replace.h -- replacing a file in the state directory atomically:
 * the one writer of every copy plinkfwd keeps there (ARM-synced zones,
 * secondary zones, the IXFR journal, the synced-zone serials).
 */
#ifndef PLINKFWD_FILE_REPLACE_H
#define PLINKFWD_FILE_REPLACE_H

#include <stddef.h>

#include "common.h"

/*
 * Replace path with data[0..len): written to "path.tmp.PID", fsync'ed,
 * renamed over path, and the directory dir fsync'ed (dir may be NULL: then
 * the directory part of path), so that after a crash path is the old copy or
 * the new one, never a torn mix.  A failure is logged as "WHO: ..." (who: the
 * subsystem, e.g. "arm" or "xfr"), the temporary file removed and path left
 * as it was.  FWD_OK, FWD_EINVAL (path too long), FWD_EIO.  Nothing is
 * allocated; data stays the caller's.
 */
enum fwd_err fwd_file_replace(const char *who, const char *dir, const char *path, const void *data, size_t len);

#endif
