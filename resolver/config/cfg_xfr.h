/*
 * cfg_xfr.h -- the zone transfer keys of zone: and arm: clauses:
 * allow-transfer: PREFIX [key NAME] (who may transfer the zone) and
 * notify: ADDR[@PORT] [key NAME] (who is told of a new version).  config.c
 * and arm_config.c call these while they parse; a list belongs to its
 * clause's struct and is freed with it.
 */
#ifndef PLINKFWD_CFG_XFR_H
#define PLINKFWD_CFG_XFR_H

#include <stddef.h>

#include "common.h"
#include "cfg_types.h"

/* Parse one value and append it to *arr (grown with realloc; *n counted).
 * FWD_OK; FWD_EPARSE with the message (naming the key `what`) in err;
 * FWD_ENOMEM. */
enum fwd_err cfg_xfr_acl_add(struct cfg_xfr_acl **arr, size_t *n, const char *what, const char *val, int line,
			     char *err, size_t errlen);
enum fwd_err cfg_xfr_notify_add(struct cfg_notify **arr, size_t *n, const char *what, const char *val, int line,
				char *err, size_t errlen);

/* Free a list and its key names; *arr NULL and *n 0 afterwards. */
void cfg_xfr_acl_free(struct cfg_xfr_acl **arr, size_t *n);
void cfg_xfr_notify_free(struct cfg_notify **arr, size_t *n);

/* Deep copies (arm_cfg_dup): FWD_OK with *out (NULL when n is 0), FWD_ENOMEM. */
enum fwd_err cfg_xfr_acl_dup(const struct cfg_xfr_acl *arr, size_t n, struct cfg_xfr_acl **out);
enum fwd_err cfg_xfr_notify_dup(const struct cfg_notify *arr, size_t n, struct cfg_notify **out);

/*
 * Every key named by these allow-transfer: and notify: lines (of one zone:
 * clause, or of arm:) has a key: clause in cfg: FWD_OK, or FWD_EPARSE with
 * "file:line: allow-transfer: no key: clause named NAME" in err.
 */
enum fwd_err cfg_xfr_check_keys(const struct cfg *cfg, const struct cfg_xfr_acl *acl, size_t nacl,
				const struct cfg_notify *nt, size_t nnt, char *err, size_t errlen);

#endif
