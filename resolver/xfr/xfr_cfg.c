/*
 * xfr_cfg.c -- a served zone's transfer settings (see xfr_cfg.h).
 */
#include "xfr_cfg.h"

#include <string.h>

#include "arm_config.h"

void xfr_zone_cfg(const struct cfg *cfg, enum route_origin origin, const char *name, struct xfr_zone_cfg *out)
{
	memset(out, 0, sizeof(*out));
	if (origin == ORIGIN_ZONE_ARM) {
		if (cfg->arm) {
			out->acl = cfg->arm->allow_transfer;
			out->nacl = cfg->arm->nallow_transfer;
			out->notify = cfg->arm->notify;
			out->nnotify = cfg->arm->nnotify;
		}
		return;
	}
	for (size_t i = 0; i < cfg->nzones; i++) {
		if (strcmp(cfg->zones[i].name, name) == 0) {
			out->acl = cfg->zones[i].allow_transfer;
			out->nacl = cfg->zones[i].nallow_transfer;
			out->notify = cfg->zones[i].notify;
			out->nnotify = cfg->zones[i].nnotify;
			return;
		}
	}
}
