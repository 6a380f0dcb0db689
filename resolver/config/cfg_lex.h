/*
 * cfg_lex.h -- the lines of a configuration file, without building a
 * struct cfg: the key/value splitter the parser (config.c) reads every line
 * with, and a tolerant scan for one server: key that plinkfwd-ctl uses to
 * find the control socket of a daemon whose file no longer parses.
 */
#ifndef PLINKFWD_CFG_LEX_H
#define PLINKFWD_CFG_LEX_H

#include <stddef.h>

#include "common.h"

/*
 * Split one line in place into key and value: FWD_OK with *key NULL for a
 * blank or comment line, FWD_OK with *key and *val (pointers into s) for
 * "key: value", FWD_EPARSE with *why set (static text) for a malformed line.
 * Values may be quoted ("a # b"); \" and \\ are the only escapes.
 */
enum fwd_err cfg_line_split(char *s, char **key, char **val, const char **why);

/*
 * The value of the first `key:` inside a server: clause of the file at path,
 * read line by line with cfg_line_split() and nothing else: a malformed line,
 * an unknown key or a bad value elsewhere in the file does not stop the scan
 * (that is the point: an admin who broke the file can still reach the
 * daemon, which then reports the error itself).  Clauses are recognised as
 * the parser recognises them ("server:" with no value; upstream:, forward:,
 * zone:, arm:, key:).
 * FWD_OK: *val is a malloc'd copy the caller frees, *line its line number
 * (line may be NULL).  FWD_ENOENT: no such key in any server: clause.
 * FWD_EIO: the file cannot be read (err says why, as "path: reason").
 * FWD_ENOMEM.
 */
enum fwd_err cfg_scan_server_key(const char *path, const char *key, char **val, int *line, char *err,
				 size_t errlen);

#endif
