/*
 * xfr_cfg.h -- which transfer settings apply to a served zone: the
 * allow-transfer: and notify: lines of its zone: clause (a zone file), or
 * of the arm: clause (a synced zone).  Read-only lookups into a struct cfg.
 */
#ifndef PLINKFWD_XFR_CFG_H
#define PLINKFWD_XFR_CFG_H

#include <stddef.h>

#include "config.h"
#include "route.h"

struct xfr_zone_cfg {
	const struct cfg_xfr_acl *acl;   /* point into cfg; NULL/0 when none */
	size_t nacl;
	const struct cfg_notify *notify;
	size_t nnotify;
};

/* The settings of the zone named name (lower case with the dot) that
 * came from origin (ORIGIN_ZONE_FILE or ORIGIN_ZONE_ARM). */
void xfr_zone_cfg(const struct cfg *cfg, enum route_origin origin, const char *name, struct xfr_zone_cfg *out);

#endif
