/*
 * fuzz_config.c -- libFuzzer target for the configuration parser: the input
 * is a config file (server:, upstream:, forward:, zone: and arm: clauses),
 * read by cfg_load() from an in-memory file (memfd), as plinkfwd -t and a
 * reload read it.  A config that parses is then checked and used as the
 * daemon uses it: its groups and rules are consistent, the arm: clause
 * resolves its endpoints and copies, and snapshot_build_cfg() builds the
 * ACL and the routes (the catalogue, forward rules, zones).  Zone paths are
 * replaced with one small zone file of the harness, so no file the input
 * names is ever opened.  A config that fails must say where and why.
 */
#include <sys/mman.h>

#include "arm_config.h"
#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "snapshot.h"

#define MAX_ZONES 8 /* zones loaded per input; more are parsed, not built */

static int memfd = -1;
static char cfgpath[64];
static char zonepath[600];

/* Relative names only: the same file serves any apex. */
static const char ZONE[] = "$TTL 300\n"
			   "@ IN SOA ns hostmaster 1 3600 300 86400 60\n"
			   "@ IN NS ns\n"
			   "ns IN A 192.0.2.53\n"
			   "www IN A 192.0.2.1\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_tmpdir("config");
	snprintf(zonepath, sizeof(zonepath), "%s/any.zone", dir);
	fuzz_write_file(zonepath, ZONE, strlen(ZONE));
	memfd = memfd_create("plinkfwd-fuzz.conf", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(cfgpath, sizeof(cfgpath), "/proc/self/fd/%d", memfd);
	log_set_level(LOG_LVL_ERR);
	return 0;
}

static void check_cfg(struct cfg *cfg)
{
	FUZZ_ASSERT(cfg->nupstreams >= 2);
	FUZZ_ASSERT(cfg->group_azure < cfg->nupstreams && cfg->group_default < cfg->nupstreams);
	size_t g = SIZE_MAX;
	FUZZ_ASSERT(cfg_group_find(cfg, "azure", &g) == FWD_OK && g == cfg->group_azure);
	FUZZ_ASSERT(cfg_group_find(cfg, "default", &g) == FWD_OK && g == cfg->group_default);
	FUZZ_ASSERT(cfg->nlisten > 0);
	for (size_t i = 0; i < cfg->nupstreams; i++)
		FUZZ_ASSERT(cfg->upstreams[i].nservers <= CFG_MAX_GROUP_SERVERS);
	for (size_t i = 0; i < cfg->nforwards; i++) {
		FUZZ_ASSERT(cfg->forwards[i].group_index < cfg->nupstreams);
		FUZZ_ASSERT(cfg->forwards[i].suffix != NULL);
	}
	for (size_t i = 0; i < cfg->nzones; i++)
		FUZZ_ASSERT(cfg->zones[i].name != NULL && cfg->zones[i].path != NULL);
	if (cfg->nsid)
		FUZZ_ASSERT(cfg->nsid_len > 0 && cfg->nsid_len <= CFG_NSID_MAX);
	if (cfg->arm) {
		struct arm_endpoints ep;
		char err[512];
		FUZZ_ASSERT(cfg->arm->nsubscriptions > 0);
		if (arm_cfg_endpoints(cfg->arm, (int)cfg->cloud, &ep, err, sizeof(err)) == 0)
			FUZZ_ASSERT(ep.arm != NULL && ep.audience != NULL);
		struct arm_cfg *dup = arm_cfg_dup(cfg->arm);
		FUZZ_ASSERT(dup != NULL);
		FUZZ_ASSERT(dup->nsubscriptions == cfg->arm->nsubscriptions);
		arm_cfg_zone_wanted(dup, "privatelink.blob.core.windows.net");
		arm_cfg_zone_fallback(dup, "privatelink.blob.core.windows.net");
		arm_cfg_free(dup);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *cfg = NULL;
	char err[512] = "";

	if (size > 256 * 1024)
		return 0;
	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	int rc = cfg_load(cfgpath, &cfg, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc < 0 && cfg == NULL);
		FUZZ_ASSERT(strncmp(err, cfgpath, strlen(cfgpath)) == 0); /* "file:line: message" */
		return 0;
	}
	FUZZ_ASSERT(cfg != NULL);
	check_cfg(cfg);
	if (cfg->nzones > MAX_ZONES) {
		cfg_free(cfg);
		return 0;
	}
	for (size_t i = 0; i < cfg->nzones; i++) {
		free(cfg->zones[i].path);
		cfg->zones[i].path = strdup(zonepath);
		if (!cfg->zones[i].path)
			abort();
	}
	struct snapshot *s = snapshot_build_cfg(cfg, NULL, 0, err, sizeof(err));
	if (s)
		snapshot_unref(s);
	else
		FUZZ_ASSERT(err[0] != '\0');
	return 0;
}
