/*
 * cfg_tsig.h -- the values of a key: clause (TSIG keys, RFC 8945): the
 * algorithm's name as ldns spells it, and the secret read from its file.
 * config.c calls these while it parses; nothing here keeps state.
 */
#ifndef PLINKFWD_CFG_TSIG_H
#define PLINKFWD_CFG_TSIG_H

#include <stddef.h>

#include "common.h"
#include "cfg_types.h"

/* Longest secret file accepted: a 512-bit key is 88 base64 characters; the
 * rest is room for line breaks and a generous key. */
#define CFG_TSIG_FILE_MAX 4096

/*
 * The algorithm as written (any case, "hmac-sha256" or "hmac-sha256.") into
 * ldns's name in *out ("hmac-sha256.", malloc'd, the caller frees):
 * FWD_OK, FWD_EPARSE when it is none of cfg_tsig_alg_words, FWD_ENOMEM.
 */
enum fwd_err cfg_tsig_alg(const char *val, char **out);

/*
 * Read the base64 secret of the file at path: blanks and line breaks are
 * dropped, the rest must be base64 of at least one byte.  FWD_OK with a
 * malloc'd copy in *b64 (the caller frees it with cfg_tsig_secret_free());
 * FWD_EIO or FWD_EPARSE with a message in why that never quotes the file's
 * content; FWD_ENOMEM.
 */
enum fwd_err cfg_tsig_read_secret(const char *path, char **b64, char *why, size_t whylen);

/* Wipe and free a secret (NULL is fine). */
void cfg_tsig_secret_free(char *b64);

/* Free what one key: element owns (its texts; the secret wiped). */
void cfg_tsig_key_free(struct cfg_tsig_key *k);

/* The key: clause named name (any case, trailing dot optional), or NULL.
 * The result points into cfg and lives as long as it. */
const struct cfg_tsig_key *cfg_key_find(const struct cfg *cfg, const char *name);

#endif
