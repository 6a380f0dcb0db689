/*
 * test_file_replace.c -- the one writer of state files: a new file, a
 * replacement, and a failure that leaves the old copy and no temporary file.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_replace.h"
#include "log.h"
#include "tap.h"

static char dir[] = "/tmp/test_file_replace.XXXXXX";

/* The whole of path as a string ("" when it cannot be read). */
static const char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/* How many entries of dir have ".tmp" in their name. */
static int tmp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	char path[512], sub[600];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/zone", dir);
	is_int(fwd_file_replace("test", dir, path, "one\n", 4), FWD_OK, "a new file is written");
	is_str(slurp(path), "one\n", "... with the data");
	is_int(fwd_file_replace("test", NULL, path, "two two\n", 8), FWD_OK, "replaced (directory taken from the path)");
	is_str(slurp(path), "two two\n", "... with the new data");
	is_int(tmp_files(), 0, "no temporary file is left");
	is_int(fwd_file_replace("test", dir, path, "", 0), FWD_OK, "an empty file is a file too");
	is_str(slurp(path), "", "... and empty");
	snprintf(sub, sizeof(sub), "%s/missing/zone", dir);
	uint64_t errs = log_count(LOG_LVL_ERR);
	is_int(fwd_file_replace("test", NULL, sub, "x", 1), FWD_EIO, "a directory that does not exist: FWD_EIO");
	ok(log_count(LOG_LVL_ERR) == errs + 1, "... logged as an error");
	fwd_file_replace("test", dir, path, "kept\n", 5);
	snprintf(sub, sizeof(sub), "%s/zone/under-a-file", dir);
	is_int(fwd_file_replace("test", NULL, sub, "x", 1), FWD_EIO, "a path under a file: FWD_EIO");
	is_str(slurp(path), "kept\n", "the file is left as it was");
	is_int(tmp_files(), 0, "and no temporary file");
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
