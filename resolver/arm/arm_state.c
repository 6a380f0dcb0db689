/*
 * arm_state.c -- saving ARM-synced zones to state-dir and reading them back
 * (see arm_state.h for the file format and the guarantees).
 */
#include "arm_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arm_config.h"
#include "arm_records.h"
#include "common.h"
#include "file_replace.h"
#include "log.h"
#include "zone.h"

#define ARM_STATE_MAGIC "; plinkfwd arm-sync zone file: "
#define ARM_STATE_MAX_FILE (512u * 1024u * 1024u)
#define ARM_STATE_MAX_IDS 16       /* source ids kept per loaded zone */

static int arm_state_path(const char *dir, const char *zone, const char *suffix, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s.zone%s", dir, zone, suffix);

	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

void arm_state_header(struct arm_buf *b, const char *zone, const char *const *ids, size_t nids,
		      time_t synced)
{
	char stamp[64];
	struct tm tm;

	gmtime_r(&synced, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	arm_buf_printf(b, ARM_STATE_MAGIC "%s\n; Copied from Azure Resource Manager; replaced at every "
			  "sync, do not edit.\n",
		       zone);
	for (size_t i = 0; i < nids; i++)
		arm_buf_printf(b, "; source: %s\n", ids[i]);
	arm_buf_printf(b, "; synced: %s\n", stamp);
}

/* One writer for every state file (file_replace.h): temp file, fsync,
 * rename, fsync of the directory. */
int arm_state_write(const char *dir, const char *zone, const char *text, size_t len)
{
	char path[4096];

	if (arm_state_path(dir, zone, "", path, sizeof(path)) < 0) {
		log_err("arm: state-dir path too long for zone %s", zone);
		return FWD_EINVAL;
	}
	return fwd_file_replace("arm", dir, path, text, len);
}

void arm_state_remove(const char *dir, const char *zone)
{
	char path[4096];

	if (dir == NULL || arm_state_path(dir, zone, "", path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("arm: cannot remove %s: %s", path, strerror(errno));
}

/* Which configured subscription a saved source id belongs to, honouring
 * resource-group:.  -1 when it is not wanted any more. */
static long arm_source_sub(const struct arm_cfg *cfg, const char *id)
{
	char sub[128], rg[128];

	if (arm_records_id_part(id, "subscriptions", sub, sizeof(sub)) < 0)
		return -1;
	/* the slot (arm_config.h): a configured subscription, or with
	 * discovery: resource-graph over the tenant, the others' slot */
	return arm_cfg_sub_slot(cfg, sub,
				arm_records_id_part(id, "resourcegroups", rg, sizeof(rg)) < 0 ? NULL : rg);
}

/* The whole file, NUL-terminated (the caller frees it); NULL with errno
 * set when it cannot be opened, or it is not a regular file below
 * ARM_STATE_MAX_FILE, or reading fails. */
static char *arm_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	struct stat sb;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size < ARM_STATE_MAX_FILE) {
		buf = malloc((size_t)sb.st_size + 1);
		if (buf != NULL && fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL) {
			buf[sb.st_size] = '\0';
			*len = (size_t)sb.st_size;
		}
	}
	fclose(f);
	return buf;
}

/* Load one saved zone into out; 1 loaded, 0 skipped (not ours / not
 * wanted), <0 bad (logged).  On 1 the caller owns out's name, zone and
 * subs, and the out->nids strings it put in ids[] (the caller's array of
 * ARM_STATE_MAX_IDS); otherwise nothing is left to free. */
static int arm_state_load_one(const char *dir, const struct arm_cfg *cfg, const char *fname,
			      struct arm_saved *out, char **ids)
{
	char path[4096], zone[256], err[512];
	size_t flen = strlen(fname), len = 0, nids = 0;
	char *text, *body, *line;
	uint8_t *subs;
	int wanted = 0;
	int64_t synced = 0;
	int rc;
	struct zone *z;

	if (flen <= 5 || strcmp(fname + flen - 5, ".zone") != 0 || flen - 5 >= sizeof(zone))
		return 0;
	memcpy(zone, fname, flen - 5);
	zone[flen - 5] = '\0';
	if (!arm_records_zone_name_ok(zone) || !arm_cfg_zone_wanted(cfg, zone))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, fname);
	text = arm_read_file(path, &len);
	if (text == NULL) {
		log_warn("arm: cannot read saved zone %s: %s", path, strerror(errno));
		return FWD_EIO;
	}
	if (strncmp(text, ARM_STATE_MAGIC, sizeof(ARM_STATE_MAGIC) - 1) != 0) {
		/* Not written by us: leave whatever it is alone. */
		free(text);
		return 0;
	}
	subs = calloc(arm_cfg_nslots(cfg) + 1, 1);
	if (subs == NULL) {
		free(text);
		return FWD_ENOMEM;
	}
	/* The header names the sources; a zone from a subscription or
	 * resource group no longer configured is not served again. */
	for (line = text; line != NULL && *line == ';'; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "; source: ", 10) == 0) {
			char id[1024];
			size_t n = strcspn(line + 10, "\n");
			long sub;
			if (n >= sizeof(id))
				continue;
			memcpy(id, line + 10, n);
			id[n] = '\0';
			sub = arm_source_sub(cfg, id);
			if (sub >= 0) {
				subs[sub] = 1;
				wanted = 1;
				if (nids < ARM_STATE_MAX_IDS && (ids[nids] = strdup(id)) != NULL)
					nids++;
			}
		} else if (strncmp(line, "; synced: ", 10) == 0) {
			struct tm tm;
			memset(&tm, 0, sizeof(tm));
			if (strptime(line + 10, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL)
				synced = (int64_t)timegm(&tm);
		}
	}
	body = strstr(text, "\n$ORIGIN ");
	if (!wanted || body == NULL) {
		if (body == NULL)
			log_warn("arm: saved zone %s has no $ORIGIN line; ignored", path);
		rc = body == NULL ? FWD_EPARSE : 0;
		goto out;
	}
	body++;
	z = zone_load_text(zone, body, path, err, sizeof(err));
	if (z == NULL) {
		log_warn("arm: saved zone %s does not load: %s", path, err);
		rc = FWD_EPARSE;
		goto out;
	}
	out->name = strdup(zone);
	if (out->name == NULL) {
		zone_unref(z);
		rc = FWD_ENOMEM;
		goto out;
	}
	out->zone = z;
	out->hash = arm_records_hash(body, len - (size_t)(body - text));
	out->subs = subs;
	subs = NULL;
	out->ids = (const char *const *)ids;
	out->nids = nids;
	nids = 0; /* the caller frees them now */
	out->record_sets = arm_records_count_sets(body, len - (size_t)(body - text));
	out->synced = synced;
	rc = 1;
out:
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(subs);
	free(text);
	return rc;
}

int arm_state_load(const char *dir, const struct arm_cfg *cfg, arm_state_take_fn take, void *arg)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			log_info("arm: state-dir %s does not exist yet; nothing saved to load", dir);
			return 0;
		}
		log_err("arm: cannot open state-dir %s: %s", dir, strerror(errno));
		return FWD_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		struct arm_saved z;
		char *ids[ARM_STATE_MAX_IDS];
		int rc;

		if (de->d_name[0] == '.')
			continue;
		memset(&z, 0, sizeof(z));
		if (arm_state_load_one(dir, cfg, de->d_name, &z, ids) <= 0)
			continue;
		rc = take(arg, &z);
		for (size_t i = 0; i < z.nids; i++)
			free(ids[i]);
		if (rc < 0)
			break;
		n++;
	}
	closedir(d);
	return n;
}

int arm_state_read(const char *dir, const char *zone, char **text, size_t *len, uint64_t *hash,
		   char *path, size_t pathcap)
{
	const char *body;
	size_t n = 0;
	char *t;

	if (arm_state_path(dir, zone, "", path, pathcap) < 0)
		return FWD_ENOENT;
	t = arm_read_file(path, &n);
	if (t == NULL)
		return errno == ENOENT ? FWD_ENOENT : FWD_EIO;
	if (strncmp(t, ARM_STATE_MAGIC, sizeof(ARM_STATE_MAGIC) - 1) != 0 ||
	    (body = strstr(t, "\n$ORIGIN ")) == NULL) {
		free(t);
		return FWD_EPARSE;
	}
	body++;
	/* the same hash the build and the loader compute over the body */
	*hash = arm_records_hash(body, n - (size_t)(body - t));
	*text = t;
	*len = n;
	return 0;
}
