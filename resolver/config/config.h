/*
 * config.h -- the configuration file: parsed once into an immutable struct cfg.
 *
 * A struct cfg is built by cfg_load(), never changed afterwards, and freed by
 * cfg_free() (which frees every string and array it holds).  Reload builds a
 * new one aside; the running one is untouched until the swap.
 *
 * File shape (unbound-like clauses, '#' comments, "key: value" lines):
 *   server:  listen allow deny workers cloud state-dir ...
 *   upstream: NAME   server: addr[@port]   (repeatable)
 *   forward: SUFFIX  to: GROUP
 *   zone: NAME       file: PATH   fallback: public|none
 *                    or primary: ADDR[@PORT] [key NAME] (repeatable; a secondary zone)
 *   arm:             keys parsed by arm_config.c (see arm_config.h)
 *   key: NAME        algorithm: hmac-sha256|...   secret-file: PATH (TSIG)
 * Every key is a row of the schema table (schema.h), which the parser reads
 * keys, ranges and defaults from and docs/configuration.md's tables are
 * generated from; conf/plinkfwd.conf shows each one.  A struct cfg handed
 * out holds every default: readers never apply one of their own.
 */
#ifndef PLINKFWD_CONFIG_H
#define PLINKFWD_CONFIG_H

#include <stddef.h>

#include "common.h"
#include "cfg_tsig.h"
#include "cfg_types.h"
#include "cfg_value.h"


/*
 * Parse path into a new struct cfg.  On failure returns a negative
 * enum fwd_err, *out is untouched, and err holds "file:line: message".
 * Zone files are NOT read here (snapshot.c loads them); their paths are
 * resolved and checked for readability only by cfg_check_files().
 */
enum fwd_err cfg_load(const char *path, struct cfg **out, char *err, size_t errlen);
void cfg_free(struct cfg *cfg);

/*
 * Check that every zone file named by cfg can be opened for reading (for
 * "plinkfwd -t" and a clearer message before the zone loader runs).
 * FWD_OK, or FWD_EIO with "file:line: zone NAME: cannot read PATH: reason"
 * in err.
 */
enum fwd_err cfg_check_files(const struct cfg *cfg, char *err, size_t errlen);

/* Index of the group named name (any case) in *idx: FWD_OK, or FWD_ENOENT. */
enum fwd_err cfg_group_find(const struct cfg *cfg, const char *name, size_t *idx);

/* The port of http-listen: when its value names none (the value is kept as
 * written; whoever binds it parses it with this default). */
#define CFG_HTTP_DEFAULT_PORT 9153

#endif
