/*
 * cloud.h -- the Azure clouds by name (AzureCloud, AzureUSGovernment,
 * AzureChinaCloud), shared by the server: clause (catalogue choice) and
 * the arm: clause (ARM and login endpoints).  No state, no allocation.
 */
#ifndef PLINKFWD_CLOUD_H
#define PLINKFWD_CLOUD_H

#include "common.h"

enum cfg_cloud { CLOUD_NONE = 0, CLOUD_AZURE, CLOUD_USGOV, CLOUD_CHINA };

/* Name (any case) to *out: FWD_OK, or FWD_EINVAL for an unknown name
 * (*out untouched). */
enum fwd_err cfg_cloud_parse(const char *s, enum cfg_cloud *out);
/* Canonical name; a static string, never NULL. */
const char *cfg_cloud_name(enum cfg_cloud c);

#endif
