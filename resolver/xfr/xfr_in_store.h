/*
 * xfr_in_store.h -- a secondary zone's copy in state-dir.
 *
 * Each transfer that is applied is written to STATE-DIR/NAME.secondary.zone
 * (NAME with its trailing dot: "example.test.secondary.zone") as an RFC 1035
 * zone file, one record a line with absolute names, through a temporary
 * file, fsync and rename: after a crash the file is the old copy or the new
 * one.  Its header records when the primary last confirmed the copy (wall
 * clock), so that a restart counts the SOA expire time from then.
 * Start-up reads it back and serves it before any primary answers.
 */
#ifndef PLINKFWD_XFR_IN_STORE_H
#define PLINKFWD_XFR_IN_STORE_H

#include <ldns/ldns.h>
#include <stdint.h>

#include "common.h"

#define XFR_STORE_MAGIC "; plinkfwd secondary zone "

/* The file's path for zone (text, trailing dot) into out: FWD_OK or FWD_EINVAL (too long). */
enum fwd_err xfr_store_path(const char *dir, const char *zone, char *out, size_t outlen);

/* Write rrs (the SOA first) with refreshed_wall (seconds since the epoch):
 * FWD_OK, or FWD_EIO / FWD_ENOMEM (logged). */
enum fwd_err xfr_store_write(const char *dir, const char *zone, const ldns_rr_list *rrs, uint64_t refreshed_wall);

/* Rewrite only the "refreshed" line of the header (a check found the copy
 * up to date): FWD_OK or FWD_EIO.  Rewrites the whole file. */
enum fwd_err xfr_store_touch(const char *dir, const char *zone, const ldns_rr_list *rrs, uint64_t refreshed_wall);

/* Read the copy back: FWD_OK with *rrs (caller frees with
 * ldns_rr_list_deep_free) and *refreshed_wall; FWD_ENOENT (no file);
 * FWD_EPARSE with "path:line: message" in err. */
enum fwd_err xfr_store_read(const char *dir, const char *zone, ldns_rr_list **rrs, uint64_t *refreshed_wall,
			    char *err, size_t errlen);

/* The records as zone file text (SOA first): a string the caller frees, or NULL. */
char *xfr_store_text(const ldns_rr_list *rrs, size_t *len);

#endif
