/*
 * cloud.c -- Azure cloud names (see cloud.h).
 */
#include "cloud.h"

#include <strings.h>

static const struct {
	const char *name;
	enum cfg_cloud cloud;
} clouds[] = {
	{"AzureCloud", CLOUD_AZURE},
	{"AzureUSGovernment", CLOUD_USGOV},
	{"AzureChinaCloud", CLOUD_CHINA},
	{"none", CLOUD_NONE},
};

enum fwd_err cfg_cloud_parse(const char *s, enum cfg_cloud *out)
{
	if (s == NULL)
		return FWD_EINVAL;
	for (size_t i = 0; i < FWD_ARRAY_LEN(clouds); i++)
		if (strcasecmp(s, clouds[i].name) == 0) {
			*out = clouds[i].cloud;
			return FWD_OK;
		}
	return FWD_EINVAL;
}

const char *cfg_cloud_name(enum cfg_cloud c)
{
	for (size_t i = 0; i < FWD_ARRAY_LEN(clouds); i++)
		if (clouds[i].cloud == c)
			return clouds[i].name;
	return "none";
}
