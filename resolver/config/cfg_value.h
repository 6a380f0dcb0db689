/*
 * cfg_value.h -- the value parsers of the configuration file, for config.c,
 * the clause parsers and other readers of addresses (http.c).  Each returns
 * FWD_OK with *out set, or FWD_EPARSE with *out untouched.  No allocation.
 */
#ifndef PLINKFWD_CFG_VALUE_H
#define PLINKFWD_CFG_VALUE_H

#include <stdint.h>

#include "cfg_types.h"
#include "common.h"

/* Strict unsigned decimal up to max: digits only, no sign, no blanks. */
enum fwd_err cfg_parse_ulong(const char *s, unsigned long max, unsigned long *out);
/* "addr[@port]" (IPv6 may be bracketed; default_port when none). */
enum fwd_err cfg_parse_addr(const char *s, int default_port, struct cfg_addr *out);
/* "addr/prefix" (prefix optional = host). */
enum fwd_err cfg_parse_cidr(const char *s, struct cfg_cidr *out);
/* A size like "64m", "512k", "1g", "1000". */
enum fwd_err cfg_parse_size(const char *s, uint64_t *out);

#endif
