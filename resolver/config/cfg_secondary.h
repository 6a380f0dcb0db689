/*
 * cfg_secondary.h -- the primary: key of a zone: clause (secondary zones).
 *
 * "zone: NAME" with one or more "primary: ADDR[@PORT] [key NAME]" lines is a
 * secondary zone: plinkfwd transfers it from those servers (resolver/xfr/)
 * instead of reading a file, so file: and primary: exclude each other.
 * The list lives in struct cfg_zone (config.h) and is freed by cfg_free()
 * through cfg_primary_list_free(): each key text and then the array.
 */
#ifndef PLINKFWD_CFG_SECONDARY_H
#define PLINKFWD_CFG_SECONDARY_H

#include <stddef.h>
#include <sys/socket.h>

#include "common.h"

struct cfg;

/* Port of a primary: line that names none. */
#define CFG_PRIMARY_DEFAULT_PORT 53

struct cfg_primary {
	struct sockaddr_storage ss; /* address and port transfers go to */
	socklen_t len;
	char *key;                  /* TSIG key name (lower case, trailing dot), or NULL; owned */
	int line;
};

/*
 * "ADDR[@PORT] [key NAME]" into *out (out->key allocated; out->line is the
 * caller's).  FWD_OK; FWD_EPARSE with the reason in why; FWD_ENOMEM.
 */
enum fwd_err cfg_primary_parse(const char *val, struct cfg_primary *out, char *why, size_t whylen);

/* Free every key of list[0..n) and the array itself (NULL is fine). */
void cfg_primary_list_free(struct cfg_primary *list, size_t n);

/* 1 when both lists name the same servers with the same keys, in order. */
int cfg_primaries_equal(const struct cfg_primary *a, size_t na, const struct cfg_primary *b, size_t nb);

/* Index in list[0..n) of the primary whose address (port ignored: a NOTIFY
 * comes from any source port) is sa's, or -1. */
int cfg_primary_find(const struct cfg_primary *list, size_t n, const struct sockaddr *sa);

/*
 * The rules a zone: clause follows, checked when it closes: file: or
 * primary:, exactly one of them, and no fallback: public with primary:
 * (the zone is a copy of another server's, answered as it is).
 * FWD_OK, or FWD_EPARSE with the message in msg and the line it belongs
 * to in *line.
 */
struct cfg_zone;
enum fwd_err cfg_secondary_check_zone(const struct cfg_zone *z, int *line, char *msg, size_t msglen);

/* Every primary: ... key NAME names a key: clause of cfg (they may come
 * later in the file, so this runs once it is read).  FWD_OK, or FWD_EPARSE
 * with the message in msg and its line in *line. */
enum fwd_err cfg_secondary_check_keys(const struct cfg *cfg, int *line, char *msg, size_t msglen);

#endif
