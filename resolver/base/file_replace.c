/*
 * file_replace.c -- atomic replacement of a state file (file_replace.h).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "file_replace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* fsync the directory holding the new name: without it the rename itself
 * may be lost in a crash (the old file comes back). */
static void sync_dir(const char *dir, const char *path)
{
	char buf[4096];
	int dfd;

	if (dir == NULL) {
		const char *slash = strrchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : 0;
		if (n == 0 || n >= sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%s", slash == path ? "/" : ".");
		} else {
			memcpy(buf, path, n);
			buf[n] = '\0';
		}
		dir = buf;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

enum fwd_err fwd_file_replace(const char *who, const char *dir, const char *path, const void *data, size_t len)
{
	char tmp[4200];
	const char *p = data;
	size_t off = 0;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		log_err("%s: state-dir path too long: %s", who, path);
		return FWD_EINVAL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("%s: cannot write %s: %s", who, tmp, strerror(errno));
		return FWD_EIO;
	}
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("%s: cannot write %s: %s", who, tmp, n == 0 ? "no space written" : strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		log_err("%s: fsync %s: %s", who, tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		log_err("%s: cannot write %s: %s", who, tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		log_err("%s: rename %s to %s: %s", who, tmp, path, strerror(errno));
		goto fail;
	}
	sync_dir(dir, path);
	return FWD_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return FWD_EIO;
}
