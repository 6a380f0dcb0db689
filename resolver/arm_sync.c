/*
 * arm_sync.c -- the ARM sync rounds (see arm_sync.h for the contract, the
 * merge rule and the threading model).
 *
 * Requests are "jobs": one job lists one collection (the zones of a
 * subscription or resource group, or the record sets of one zone), page
 * after page, so a job has at most one request in flight.  Ready jobs wait
 * in a FIFO; the scheduler starts them while fewer than max-inflight are
 * out, no 429 hold is pending and a token is at hand.
 *
 * Faults, per request: 401 -> new token, retry once; 429 -> every ARM
 * request waits until Retry-After has passed (the budget is per
 * subscription and caller, so one throttled request means all of them are);
 * 5xx / timeout / transport error -> retry after an exponential backoff with
 * jitter; after max-retries, or on 403/404/other 4xx/malformed JSON, the job
 * fails and the zones it covers keep their last good copy.
 */
#include "arm_sync.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arm_auth.h"
#include "arm_config.h"
#include "arm_http.h"
#include "arm_records.h"
#include "common.h"
#include "log.h"
#include "zone.h"

#define ARM_SYNC_MAGIC "; plinkfwd arm-sync zone file: "
#define ARM_SYNC_MAX_PAGES 100000   /* per job: a nextLink loop guard */
#define ARM_SYNC_BACKOFF_CAP_MS 60000
#define ARM_SYNC_MAX_STATE_FILE (512u * 1024u * 1024u)
#define ARM_BUILD_KEPT (-100)       /* build_rc: not rebuilt, discovery failed */

/* ---------------------------------------------------------------- types */

struct arm_pub {            /* a published zone */
	char *name;
	struct zone *zone;        /* one reference */
	uint64_t hash;            /* of the zone text body */
	int fallback_public;
	uint8_t *subs;            /* per subscription: the zone came from it */
};

/*
 * What the control tool and /metrics say about one zone.  Kept apart from
 * arm_pub because a zone can have a state without being served (its first
 * listing failed) and keeps it across rounds; dropped with the zone.
 */
struct arm_zstat {
	char *name;
	char **sources;           /* resource ids of the last listing (or the saved file) */
	size_t nsources;
	size_t record_sets;       /* in the copy served */
	int64_t last_success;     /* unix time */
	int64_t last_attempt;
	char *last_error;         /* NULL after a success */
	unsigned consecutive;
	uint64_t attempts, failures, throttled;
};

struct arm_src {            /* one zone resource in one subscription */
	char *id;           /* resource id, as ARM gave it */
	char *zone;         /* lower-case, no trailing dot */
	size_t sub;         /* index into cfg->subscriptions */
	struct arm_rrsets rr; /* the record sets as zone file text */
	int listed;         /* a record-listing job was started */
	int failed;
	char *err;          /* why its listing failed */
	int finished;       /* its listing job is over (ok or not) */
	size_t idx;         /* position in the round's sorted srcs */
	/* On the first source of a zone, once every source is finished: */
	int built;          /* the zone was built (or found unchanged / failed) */
	int build_rc;       /* 1 new copy in np, 0 unchanged, <0 failed */
	struct arm_pub np;
};

enum arm_job_kind { ARM_JOB_ZONES = 1, ARM_JOB_RECORDS };

struct arm_job {
	struct arm_sync *s;
	enum arm_job_kind kind;
	size_t sub;               /* ZONES: subscription index */
	const char *rg;           /* ZONES: resource group, or NULL */
	struct arm_src *src;      /* RECORDS */
	char *url;                /* the page to fetch next */
	int page;
	int attempt;              /* retries used for this page */
	int auth_retried;         /* the one 401 retry was used */
	uint64_t tok_gen;         /* token generation the request carried */
	uint64_t not_before_ms;   /* backoff */
	struct arm_job *next;     /* run queue */
	char err[400];            /* why it failed, for zones and /metrics */
};

struct arm_round {
	uint64_t started_ms;
	char *only;               /* restrict record listing to this zone */
	size_t nsubs;             /* cfg->nsubscriptions */
	uint8_t *sub_failed;      /* per subscription: a zone listing failed */
	char **sub_err;           /* ... and why */
	char first_err[600];      /* the round's first failure, "" = none */
	int phase;                /* 1 = discovery, 2 = record sets */
	size_t pending;           /* unfinished jobs in this phase */
	struct arm_src **srcs;
	size_t nsrcs, srccap;
	struct arm_job **jobs;    /* every job, for freeing */
	size_t njobs, jobcap;
	int any_failed;
};

struct arm_sync {
	struct event_base *base;
	struct arm_cfg *cfg;      /* own copy */
	char *arm;                /* ARM endpoint, no trailing slash */
	char *state_dir;
	arm_publish_fn publish;
	void *ctx;
	struct arm_http *http;
	struct arm_auth *auth;

	struct arm_pub *pubs;     /* sorted by name */
	size_t npubs;

	struct arm_zstat *zst;    /* sorted by name */
	size_t nzst, zstcap;

	struct arm_round *round;
	struct event *tick_ev;    /* next round */
	struct event *kick_ev;    /* deferred start (trigger) */
	int again;                /* a trigger arrived during a round */
	char *again_zone;         /* its zone, NULL = all */
	int started;

	struct arm_job *qhead, *qtail;
	size_t inflight;
	uint64_t hold_until_ms;   /* 429: no ARM request before this */
	struct event *sched_ev;
	int token_wait;
	uint64_t tok_gen;
	int in_sched, sched_again;

	struct arm_sync_stats st;
};

static void arm_sched_run(struct arm_sync *s);
static void arm_job_finish(struct arm_sync *s, struct arm_job *j, int ok);
static void arm_job_fail(struct arm_sync *s, struct arm_job *j, const char *fmt, ...) FWD_PRINTF(3, 4);
static void arm_round_start(struct arm_sync *s, const char *only);

/* ---------------------------------------------------------------- helpers */

static void arm_lower(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* ---------------------------------------------------------------- published set */

static void arm_pub_clear(struct arm_pub *p)
{
	free(p->name);
	if (p->zone != NULL)
		zone_unref(p->zone);
	free(p->subs);
	memset(p, 0, sizeof(*p));
}

static int arm_pub_cmp(const void *a, const void *b)
{
	return strcmp(((const struct arm_pub *)a)->name, ((const struct arm_pub *)b)->name);
}

static const struct arm_pub *arm_pub_lookup(const struct arm_sync *s, const char *name)
{
	struct arm_pub key = {.name = (char *)name};

	if (s->npubs == 0)
		return NULL;
	return bsearch(&key, s->pubs, s->npubs, sizeof(*s->pubs), arm_pub_cmp);
}

static void arm_publish_now(struct arm_sync *s)
{
	struct route_zone *rz = calloc(s->npubs ? s->npubs : 1, sizeof(*rz));
	size_t records = 0;

	if (rz == NULL) {
		log_err("arm: out of memory publishing %zu zones", s->npubs);
		return;
	}
	for (size_t i = 0; i < s->npubs; i++) {
		rz[i].zone = s->pubs[i].zone;
		rz[i].origin = ORIGIN_ZONE_ARM;
		rz[i].fallback_public = s->pubs[i].fallback_public;
		records += zone_rr_count(s->pubs[i].zone);
	}
	s->st.zones = s->npubs;
	s->st.records = records;
	s->publish(s->ctx, rz, s->npubs);
	free(rz);
}

/* ---------------------------------------------------------------- per-zone state */

static int arm_zstat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct arm_zstat *)a)->name, ((const struct arm_zstat *)b)->name);
}

static void arm_zstat_clear(struct arm_zstat *z)
{
	free(z->name);
	for (size_t i = 0; i < z->nsources; i++)
		free(z->sources[i]);
	free(z->sources);
	free(z->last_error);
	memset(z, 0, sizeof(*z));
}

static struct arm_zstat *arm_zstat_find(const struct arm_sync *s, const char *name)
{
	struct arm_zstat key = {.name = (char *)name};

	if (s->nzst == 0)
		return NULL;
	return bsearch(&key, s->zst, s->nzst, sizeof(*s->zst), arm_zstat_cmp);
}

/* The state of zone name, inserted in order when missing.  NULL only when
 * out of memory: that zone's state is then not kept, serving goes on. */
static struct arm_zstat *arm_zstat_get(struct arm_sync *s, const char *name)
{
	struct arm_zstat *z = arm_zstat_find(s, name);
	size_t lo = 0, hi = s->nzst;
	char *nm;

	if (z != NULL)
		return z;
	if (s->nzst == s->zstcap) {
		size_t cap = s->zstcap ? s->zstcap * 2 : 16;
		struct arm_zstat *nz = realloc(s->zst, cap * sizeof(*nz));
		if (nz == NULL)
			return NULL;
		s->zst = nz;
		s->zstcap = cap;
	}
	nm = strdup(name);
	if (nm == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->zst[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&s->zst[lo + 1], &s->zst[lo], (s->nzst - lo) * sizeof(*s->zst));
	memset(&s->zst[lo], 0, sizeof(*s->zst));
	s->zst[lo].name = nm;
	s->nzst++;
	return &s->zst[lo];
}

static void arm_zstat_set_sources(struct arm_zstat *z, const char *const *ids, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof(*v));

	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(ids[i]);
		if (v[i] == NULL) {
			while (i > 0)
				free(v[--i]);
			free(v);
			return;
		}
	}
	for (size_t i = 0; i < z->nsources; i++)
		free(z->sources[i]);
	free(z->sources);
	z->sources = v;
	z->nsources = n;
}

/* One attempt to refresh zone ended: err NULL = a complete listing. */
static void arm_zstat_result(struct arm_sync *s, const char *zone, const char *err)
{
	struct arm_zstat *z = arm_zstat_get(s, zone);

	if (z == NULL)
		return;
	z->attempts++;
	z->last_attempt = (int64_t)time(NULL);
	free(z->last_error);
	z->last_error = NULL;
	if (err == NULL) {
		z->consecutive = 0;
		z->last_success = z->last_attempt;
		return;
	}
	z->failures++;
	z->consecutive++;
	z->last_error = strdup(err);
}

/* ---------------------------------------------------------------- state dir */

static int arm_state_path(const struct arm_sync *s, const char *zone, const char *suffix, char *out,
			  size_t cap)
{
	int n = snprintf(out, cap, "%s/%s.zone%s", s->state_dir, zone, suffix);

	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* temp file + fsync + rename + fsync of the directory: after a crash the
 * file is the old copy or the new one, never a torn mix. */
static int arm_state_write(struct arm_sync *s, const char *zone, const char *text, size_t len)
{
	char tmp[4096], path[4096], suffix[32];
	size_t off = 0;
	int fd, dfd;

	snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)getpid());
	if (arm_state_path(s, zone, suffix, tmp, sizeof(tmp)) < 0 ||
	    arm_state_path(s, zone, "", path, sizeof(path)) < 0) {
		log_err("arm: state-dir path too long for zone %s", zone);
		return FWD_EINVAL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("arm: cannot write %s: %s", tmp, strerror(errno));
		return FWD_EIO;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("arm: cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		log_err("arm: fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		log_err("arm: rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return FWD_EIO;
	}
	dfd = open(s->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return FWD_EIO;
}

static void arm_state_remove(struct arm_sync *s, const char *zone)
{
	char path[4096];

	if (s->state_dir == NULL || arm_state_path(s, zone, "", path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("arm: cannot remove %s: %s", path, strerror(errno));
}

/* Which configured subscriptions a saved or listed source id belongs to,
 * honouring resource-group:.  -1 when it is not wanted any more. */
static long arm_source_sub(const struct arm_sync *s, const char *id)
{
	char sub[128], rg[128];

	if (arm_records_id_part(id, "subscriptions", sub, sizeof(sub)) < 0)
		return -1;
	for (size_t i = 0; i < s->cfg->nsubscriptions; i++) {
		if (strcmp(s->cfg->subscriptions[i], sub) != 0)
			continue;
		if (s->cfg->nresource_groups == 0)
			return (long)i;
		if (arm_records_id_part(id, "resourcegroups", rg, sizeof(rg)) < 0)
			return -1;
		for (size_t k = 0; k < s->cfg->nresource_groups; k++)
			if (strcmp(s->cfg->resource_groups[k], rg) == 0)
				return (long)i;
		return -1;
	}
	return -1;
}

static char *arm_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	struct stat sb;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size < ARM_SYNC_MAX_STATE_FILE) {
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

/* Load one saved zone; 1 loaded, 0 skipped (not ours / not wanted), <0 bad. */
static int arm_state_load_one(struct arm_sync *s, const char *fname, struct arm_pub *out)
{
	char path[4096], zone[256], err[512];
	size_t flen = strlen(fname), len = 0, nids = 0;
	char *text, *body, *line;
	char *ids[16];
	uint8_t *subs;
	int wanted = 0;
	int64_t synced = 0;
	int rc;
	struct zone *z;
	struct arm_zstat *st;

	if (flen <= 5 || strcmp(fname + flen - 5, ".zone") != 0 || flen - 5 >= sizeof(zone))
		return 0;
	memcpy(zone, fname, flen - 5);
	zone[flen - 5] = '\0';
	if (!arm_records_zone_name_ok(zone) || !arm_cfg_zone_wanted(s->cfg, zone))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", s->state_dir, fname);
	text = arm_read_file(path, &len);
	if (text == NULL) {
		log_warn("arm: cannot read saved zone %s: %s", path, strerror(errno));
		return FWD_EIO;
	}
	if (strncmp(text, ARM_SYNC_MAGIC, sizeof(ARM_SYNC_MAGIC) - 1) != 0) {
		/* Not written by us: leave whatever it is alone. */
		free(text);
		return 0;
	}
	subs = calloc(s->cfg->nsubscriptions, 1);
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
			sub = arm_source_sub(s, id);
			if (sub >= 0) {
				subs[sub] = 1;
				wanted = 1;
				if (nids < FWD_ARRAY_LEN(ids) && (ids[nids] = strdup(id)) != NULL)
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
	out->fallback_public = arm_cfg_zone_fallback(s->cfg, zone);
	out->subs = subs;
	subs = NULL;
	/* The file's "synced:" time is when its data was last complete in
	 * ARM: the honest age of what is served until a sync succeeds. */
	st = arm_zstat_get(s, zone);
	if (st != NULL) {
		arm_zstat_set_sources(st, (const char *const *)ids, nids);
		st->record_sets = arm_records_count_sets(body, len - (size_t)(body - text));
		st->last_success = synced;
	}
	rc = 1;
out:
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(subs);
	free(text);
	return rc;
}

int arm_sync_load_state(struct arm_sync *s)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0, cap = 0;
	struct arm_pub *pubs = NULL;

	if (s->state_dir == NULL)
		return 0;
	d = opendir(s->state_dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			log_info("arm: state-dir %s does not exist yet; nothing saved to load",
				 s->state_dir);
			return 0;
		}
		log_err("arm: cannot open state-dir %s: %s", s->state_dir, strerror(errno));
		return FWD_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		struct arm_pub p = {0};
		int rc;
		if (de->d_name[0] == '.')
			continue;
		rc = arm_state_load_one(s, de->d_name, &p);
		if (rc <= 0)
			continue;
		if (n == cap) {
			struct arm_pub *np = realloc(pubs, (cap ? cap * 2 : 16) * sizeof(*np));
			if (np == NULL) {
				arm_pub_clear(&p);
				break;
			}
			pubs = np;
			cap = cap ? cap * 2 : 16;
		}
		pubs[n++] = p;
		log_info("arm: loaded saved zone %s (%zu records)", p.name, zone_rr_count(p.zone));
	}
	closedir(d);
	if (n == 0) {
		free(pubs);
		return 0;
	}
	qsort(pubs, n, sizeof(*pubs), arm_pub_cmp);
	for (size_t i = 0; i < s->npubs; i++)
		arm_pub_clear(&s->pubs[i]);
	free(s->pubs);
	s->pubs = pubs;
	s->npubs = n;
	arm_publish_now(s);
	return (int)n;
}

/* ---------------------------------------------------------------- round bookkeeping */

static void arm_src_free(struct arm_src *src)
{
	if (src == NULL)
		return;
	free(src->id);
	free(src->zone);
	free(src->err);
	arm_rrsets_free(&src->rr);
	if (src->np.zone != NULL)
		zone_unref(src->np.zone);
	free(src->np.name);
	free(src->np.subs);
	free(src);
}

static void arm_round_free(struct arm_round *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nsrcs; i++)
		arm_src_free(r->srcs[i]);
	free(r->srcs);
	for (size_t i = 0; i < r->njobs; i++) {
		free(r->jobs[i]->url);
		free(r->jobs[i]);
	}
	free(r->jobs);
	free(r->sub_failed);
	for (size_t i = 0; r->sub_err != NULL && i < r->nsubs; i++)
		free(r->sub_err[i]);
	free(r->sub_err);
	free(r->only);
	free(r);
}

static struct arm_job *arm_job_new(struct arm_sync *s, enum arm_job_kind kind, char *url)
{
	struct arm_round *r = s->round;
	struct arm_job *j;

	if (r->njobs == r->jobcap) {
		size_t cap = r->jobcap ? r->jobcap * 2 : 16;
		struct arm_job **nj = realloc(r->jobs, cap * sizeof(*nj));
		if (nj == NULL)
			goto nomem;
		r->jobs = nj;
		r->jobcap = cap;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		goto nomem;
	j->s = s;
	j->kind = kind;
	j->url = url;
	r->jobs[r->njobs++] = j;
	r->pending++;
	return j;
nomem:
	free(url);
	log_err("arm: out of memory starting a listing");
	return NULL;
}

static void arm_queue_push(struct arm_sync *s, struct arm_job *j)
{
	j->next = NULL;
	if (s->qtail != NULL)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
}

static const char *arm_job_what(const struct arm_job *j, char *buf, size_t cap)
{
	const struct arm_sync *s = j->s;

	if (j->kind == ARM_JOB_ZONES) {
		if (j->rg != NULL)
			snprintf(buf, cap, "listing private DNS zones of subscription %s resource group %s",
				 s->cfg->subscriptions[j->sub], j->rg);
		else
			snprintf(buf, cap, "listing private DNS zones of subscription %s",
				 s->cfg->subscriptions[j->sub]);
	} else {
		snprintf(buf, cap, "listing record sets of zone %s (%s)", j->src->zone, j->src->id);
	}
	return buf;
}

/* ---------------------------------------------------------------- scheduler */

static void arm_sched_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	arm_sched_run(arg);
}

static void arm_http_done_cb(void *arg, const struct arm_http_result *res);

static void arm_job_send(struct arm_sync *s, struct arm_job *j, const char *tok)
{
	char *hdr = NULL;
	const char *hdrs[3];
	int n;

	n = asprintf(&hdr, "Authorization: Bearer %s", tok);
	if (n < 0) {
		log_err("arm: out of memory sending a request");
		arm_job_fail(s, j, "out of memory");
		return;
	}
	hdrs[0] = hdr;
	hdrs[1] = "Accept: application/json";
	hdrs[2] = NULL;
	j->tok_gen = s->tok_gen;
	s->inflight++;
	s->st.requests++;
	log_debug("arm: GET %s", j->url);
	if (arm_http_request(s->http, j->url, hdrs, NULL, 0, 0, arm_http_done_cb, j) < 0) {
		s->inflight--;
		explicit_bzero(hdr, (size_t)n);
		free(hdr);
		arm_job_fail(s, j, "the request could not be started (see the log)");
		return;
	}
	explicit_bzero(hdr, (size_t)n);
	free(hdr);
}

static void arm_sched_run(struct arm_sync *s)
{
	uint64_t now, wake = 0;

	if (s->in_sched) {
		s->sched_again = 1;
		return;
	}
	s->in_sched = 1;
	do {
		s->sched_again = 0;
		now = fwd_now_ms();
		wake = 0;
		while (!s->token_wait && s->inflight < (size_t)s->cfg->max_inflight && s->qhead != NULL) {
			struct arm_job *j, *prev = NULL;
			uint64_t min_nb = UINT64_MAX;
			const char *tok;

			if (s->hold_until_ms > now) {
				wake = s->hold_until_ms;
				break;
			}
			for (j = s->qhead; j != NULL && j->not_before_ms > now; prev = j, j = j->next)
				if (j->not_before_ms < min_nb)
					min_nb = j->not_before_ms;
			if (j == NULL) {
				wake = min_nb;
				break;
			}
			tok = arm_auth_token(s->auth);
			if (tok == NULL) {
				s->token_wait = 1;
				arm_auth_refresh(s->auth);
				break;
			}
			if (prev != NULL)
				prev->next = j->next;
			else
				s->qhead = j->next;
			if (s->qtail == j)
				s->qtail = prev;
			j->next = NULL;
			arm_job_send(s, j, tok);
		}
	} while (s->sched_again);
	s->in_sched = 0;
	if (wake != 0) {
		struct timeval tv;
		uint64_t d = wake > now ? wake - now : 0;
		tv.tv_sec = (time_t)(d / 1000);
		tv.tv_usec = (suseconds_t)((d % 1000) * 1000);
		evtimer_add(s->sched_ev, &tv);
	}
}

static void arm_auth_ready_cb(void *arg, int ok)
{
	struct arm_sync *s = arg;
	struct arm_job *q;

	s->token_wait = 0;
	if (ok) {
		s->tok_gen++;
		arm_sched_run(s);
		return;
	}
	/* No token: every waiting request fails now (their zones keep their
	 * last good copy); the next round tries again. */
	q = s->qhead;
	s->qhead = s->qtail = NULL;
	while (q != NULL) {
		struct arm_job *next = q->next;
		q->next = NULL;
		arm_job_fail(s, q, "no token for ARM: the token request failed (see the log)");
		q = next;
	}
}

/* Delay for retry number attempt (1-based): exponential, capped, with
 * "equal jitter" so that many clients do not retry in lockstep. */
static uint64_t arm_backoff_ms(int attempt)
{
	uint64_t base = 1000ULL << (attempt - 1 < 6 ? attempt - 1 : 6);

	if (base > ARM_SYNC_BACKOFF_CAP_MS)
		base = ARM_SYNC_BACKOFF_CAP_MS;
	return base / 2 + fwd_random_u32() % (base / 2 + 1);
}

/* ---------------------------------------------------------------- pages */

static int arm_round_add_src(struct arm_sync *s, struct arm_job *j, const cJSON *item)
{
	struct arm_round *r = s->round;
	const cJSON *jn = cJSON_GetObjectItemCaseSensitive(item, "name");
	const cJSON *ji = cJSON_GetObjectItemCaseSensitive(item, "id");
	char name[256], sub[128];
	struct arm_src *src;
	size_t n;

	if (!cJSON_IsString(jn) || !cJSON_IsString(ji)) {
		log_err("arm: zone entry without name or id while listing subscription %s",
			s->cfg->subscriptions[j->sub]);
		return FWD_EPARSE;
	}
	n = strlen(jn->valuestring);
	if (n >= sizeof(name)) {
		log_warn("arm: zone name too long in subscription %s; skipped",
			 s->cfg->subscriptions[j->sub]);
		return 0;
	}
	memcpy(name, jn->valuestring, n + 1);
	arm_lower(name);
	if (n > 0 && name[n - 1] == '.')
		name[n - 1] = '\0';
	if (!arm_records_zone_name_ok(name)) {
		log_warn("arm: zone '%s' in subscription %s is not a usable DNS name; skipped", name,
			 s->cfg->subscriptions[j->sub]);
		return 0;
	}
	if (!arm_cfg_zone_wanted(s->cfg, name))
		return 0;
	if (arm_records_id_part(ji->valuestring, "subscriptions", sub, sizeof(sub)) < 0 ||
	    strcmp(sub, s->cfg->subscriptions[j->sub]) != 0 || strchr(ji->valuestring, '?') != NULL) {
		log_warn("arm: zone %s has id '%s' outside subscription %s; skipped", name,
			 ji->valuestring, s->cfg->subscriptions[j->sub]);
		return 0;
	}
	for (size_t i = 0; i < r->nsrcs; i++)
		if (strcasecmp(r->srcs[i]->id, ji->valuestring) == 0)
			return 0; /* the same zone on two pages */
	if (r->nsrcs == r->srccap) {
		size_t cap = r->srccap ? r->srccap * 2 : 16;
		struct arm_src **ns = realloc(r->srcs, cap * sizeof(*ns));
		if (ns == NULL)
			return FWD_ENOMEM;
		r->srcs = ns;
		r->srccap = cap;
	}
	src = calloc(1, sizeof(*src));
	if (src == NULL)
		return FWD_ENOMEM;
	src->id = strdup(ji->valuestring);
	src->zone = strdup(name);
	src->sub = j->sub;
	if (src->id == NULL || src->zone == NULL) {
		arm_src_free(src);
		return FWD_ENOMEM;
	}
	r->srcs[r->nsrcs++] = src;
	return 0;
}

/* One 200 page: 0 ok (job continues or completes), <0 failed (logged). */
static int arm_job_page(struct arm_sync *s, struct arm_job *j, const struct arm_http_result *res)
{
	char what[600], err[300];
	cJSON *root = cJSON_ParseWithLength(res->body, res->len);
	const cJSON *value, *item, *next;
	int rc = 0;

	value = cJSON_GetObjectItemCaseSensitive(root, "value");
	if (root == NULL || !cJSON_IsArray(value)) {
		log_err("arm: malformed JSON from ARM while %s (page %d, %zu bytes); %s",
			arm_job_what(j, what, sizeof(what)), j->page + 1, res->len,
			j->kind == ARM_JOB_RECORDS ? "keeping the last good copy of the zone"
						   : "zones of this subscription keep their last good copy");
		snprintf(j->err, sizeof(j->err), "malformed JSON from ARM (page %d, %zu bytes)", j->page + 1,
			 res->len);
		cJSON_Delete(root);
		return FWD_EPARSE;
	}
	cJSON_ArrayForEach(item, value)
	{
		if (j->kind == ARM_JOB_ZONES)
			rc = arm_round_add_src(s, j, item);
		else
			rc = arm_rrsets_add(&j->src->rr, item, err, sizeof(err));
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		if (j->kind == ARM_JOB_RECORDS) {
			log_err("arm: zone %s: %s (page %d of %s); keeping the last good copy",
				j->src->zone, rc == FWD_ENOMEM ? "out of memory" : err, j->page + 1,
				j->src->id);
			snprintf(j->err, sizeof(j->err), "%s (page %d)",
				 rc == FWD_ENOMEM ? "out of memory" : err, j->page + 1);
		} else {
			snprintf(j->err, sizeof(j->err), "%s (page %d)",
				 rc == FWD_ENOMEM ? "out of memory" : "zone entry without name or id",
				 j->page + 1);
		}
		cJSON_Delete(root);
		return rc;
	}
	next = cJSON_GetObjectItemCaseSensitive(root, "nextLink");
	if (cJSON_IsString(next) && next->valuestring[0] != '\0') {
		char *url;
		if (!arm_http_same_origin(next->valuestring, s->arm)) {
			log_err("arm: nextLink while %s points away from %s; not followed, listing "
				"failed",
				arm_job_what(j, what, sizeof(what)), s->arm);
			snprintf(j->err, sizeof(j->err), "nextLink points away from %s; not followed",
				 s->arm);
			cJSON_Delete(root);
			return FWD_EINVAL;
		}
		if (strcmp(next->valuestring, j->url) == 0 || j->page + 1 >= ARM_SYNC_MAX_PAGES) {
			log_err("arm: nextLink loop while %s; listing failed",
				arm_job_what(j, what, sizeof(what)));
			snprintf(j->err, sizeof(j->err), "nextLink loop (page %d)", j->page + 1);
			cJSON_Delete(root);
			return FWD_EINVAL;
		}
		/* Verbatim: it already carries api-version, $top and $skipToken. */
		url = strdup(next->valuestring);
		cJSON_Delete(root);
		if (url == NULL) {
			snprintf(j->err, sizeof(j->err), "out of memory");
			return FWD_ENOMEM;
		}
		free(j->url);
		j->url = url;
		j->page++;
		j->attempt = 0;
		j->auth_retried = 0;
		j->not_before_ms = 0;
		arm_queue_push(s, j);
		return 0;
	}
	cJSON_Delete(root);
	arm_job_finish(s, j, 1);
	return 0;
}

static void arm_http_done_cb(void *arg, const struct arm_http_result *res)
{
	struct arm_job *j = arg;
	struct arm_sync *s = j->s;
	char what[600], code[128] = "", msg[512] = "";
	int transient;

	s->inflight--;
	if (res->err == 0 && res->status == 200) {
		if (arm_job_page(s, j, res) < 0)
			arm_job_finish(s, j, 0);
		arm_sched_run(s);
		return;
	}
	arm_job_what(j, what, sizeof(what));
	if (res->err == 0)
		arm_records_error(res->body, res->len, code, sizeof(code), msg, sizeof(msg));
	if (res->err == 0 && res->status == 429) {
		/* every 429, retried or not: the budget is what the admin tunes */
		s->st.throttled++;
		if (j->kind == ARM_JOB_RECORDS) {
			struct arm_zstat *z = arm_zstat_get(s, j->src->zone);
			if (z != NULL)
				z->throttled++;
		}
	}

	if (res->err == 0 && res->status == 401) {
		if (!j->auth_retried) {
			log_warn("arm: HTTP 401 %s while %s; getting a new token and retrying once", code,
				 what);
			/* Only drop the token this request carried, not a newer
			 * one another request already fetched. */
			if (j->tok_gen == s->tok_gen)
				arm_auth_invalidate(s->auth);
			j->auth_retried = 1;
			s->st.retries++;
			arm_queue_push(s, j);
		} else {
			log_err("arm: HTTP 401 %s while %s, again with a fresh token: %s -- ARM does not "
				"accept the token (wrong tenant, cloud or audience?)",
				code, what, msg);
			arm_job_fail(s, j, "HTTP 401 %s: %s (again with a fresh token)", code, msg);
		}
		arm_sched_run(s);
		return;
	}
	if (res->err == 0 && res->status == 403) {
		log_err("arm: HTTP 403 %s while %s: %s -- the identity needs read access: assign the "
			"Reader role (it grants Microsoft.Network/privateDnsZones/read and "
			"privateDnsZones/ALL/read) on the subscription, resource group or zone; "
			"\"Private DNS Zone Contributor\" is not needed",
			code, what, msg);
		arm_job_fail(s, j, "HTTP 403 %s: %s (the identity needs the Reader role)", code, msg);
		arm_sched_run(s);
		return;
	}
	if (res->err == 0 && res->status == 404) {
		if (j->kind == ARM_JOB_ZONES)
			log_err("arm: HTTP 404 %s while %s: %s -- check the subscription id and "
				"resource-group names, and that the identity has the Reader role there",
				code, what, msg);
		else
			log_err("arm: HTTP 404 %s while %s: %s -- the zone was deleted or moved since it "
				"was listed; keeping the last good copy until a listing without it",
				code, what, msg);
		arm_job_fail(s, j, "HTTP 404 %s: %s", code, msg);
		arm_sched_run(s);
		return;
	}
	transient = res->err == FWD_ETIMEDOUT || res->err == FWD_EIO || res->status == 429 ||
		    res->status >= 500;
	if (!transient || j->attempt >= s->cfg->max_retries) {
		if (res->err != 0)
			log_err("arm: %s failed: %s%s", what, res->errmsg,
				transient ? " (retries exhausted)" : "");
		else
			log_err("arm: HTTP %ld %s while %s: %s%s", res->status, code, what, msg,
				transient ? " (retries exhausted)" : "");
		if (res->err != 0)
			arm_job_fail(s, j, "%s%s", res->errmsg, transient ? " (retries exhausted)" : "");
		else
			arm_job_fail(s, j, "HTTP %ld %s: %s%s", res->status, code, msg,
				     transient ? " (retries exhausted)" : "");
		arm_sched_run(s);
		return;
	}
	j->attempt++;
	s->st.retries++;
	if (res->err == 0 && res->status == 429) {
		/* Retry-After is the subscription's read budget: nobody asks
		 * before it passes.  Without the header, back off as for 5xx. */
		uint64_t wait = res->retry_after_s >= 0 ? (uint64_t)res->retry_after_s * 1000
							: arm_backoff_ms(j->attempt);
		uint64_t until = fwd_now_ms() + wait;
		if (until > s->hold_until_ms)
			s->hold_until_ms = until;
		log_warn("arm: throttled (HTTP 429 %s) while %s; no ARM request for %llu ms%s", code,
			 what, (unsigned long long)wait,
			 res->retry_after_s >= 0 ? " (Retry-After)" : "");
	} else {
		uint64_t wait = arm_backoff_ms(j->attempt);
		if (res->err == 0 && res->retry_after_s >= 0 &&
		    (uint64_t)res->retry_after_s * 1000 > wait)
			wait = (uint64_t)res->retry_after_s * 1000;
		j->not_before_ms = fwd_now_ms() + wait;
		if (res->err != 0)
			log_warn("arm: %s failed: %s; retry %d of %d in %llu ms", what, res->errmsg,
				 j->attempt, s->cfg->max_retries, (unsigned long long)wait);
		else
			log_warn("arm: HTTP %ld %s while %s; retry %d of %d in %llu ms", res->status,
				 code, what, j->attempt, s->cfg->max_retries,
				 (unsigned long long)wait);
	}
	arm_queue_push(s, j);
	arm_sched_run(s);
}

/* ---------------------------------------------------------------- round */

static char *arm_url_zones(struct arm_sync *s, size_t sub, const char *rg)
{
	char *url = NULL;
	int n;

	if (rg != NULL)
		n = asprintf(&url,
			     "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/"
			     "privateDnsZones?api-version=%s",
			     s->arm, s->cfg->subscriptions[sub], rg, s->cfg->api_version);
	else
		n = asprintf(&url,
			     "%s/subscriptions/%s/providers/Microsoft.Network/privateDnsZones?api-version=%s",
			     s->arm, s->cfg->subscriptions[sub], s->cfg->api_version);
	return n < 0 ? NULL : url;
}

static char *arm_url_records(struct arm_sync *s, const char *id)
{
	struct arm_buf b = {0};

	arm_buf_puts(&b, s->arm);
	if (arm_http_path_escape(&b, id) < 0) {
		arm_buf_free(&b);
		return NULL;
	}
	arm_buf_printf(&b, "/ALL?api-version=%s&$top=%d", s->cfg->api_version, s->cfg->page_size);
	if (b.oom) {
		arm_buf_free(&b);
		return NULL;
	}
	return b.p;
}

static int arm_src_order(const void *a, const void *b)
{
	const struct arm_src *x = *(struct arm_src *const *)a, *y = *(struct arm_src *const *)b;
	int c = strcmp(x->zone, y->zone);

	if (c != 0)
		return c;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	return strcasecmp(x->id, y->id);
}

static void arm_round_records(struct arm_sync *s)
{
	struct arm_round *r = s->round;

	r->phase = 2;
	if (r->nsrcs > 1)
		qsort(r->srcs, r->nsrcs, sizeof(*r->srcs), arm_src_order);
	for (size_t i = 0; i < r->nsrcs; i++)
		r->srcs[i]->idx = i;
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct arm_src *src = r->srcs[i];
		struct arm_job *j;
		char *url;
		if (r->only != NULL && strcmp(r->only, src->zone) != 0)
			continue;
		url = arm_url_records(s, src->id);
		if (url == NULL) {
			log_err("arm: zone %s has an unusable resource id '%s'; skipped", src->zone,
				src->id);
			src->failed = 1;
			r->any_failed = 1;
			arm_zstat_result(s, src->zone, "unusable resource id in the zone list");
			continue;
		}
		j = arm_job_new(s, ARM_JOB_RECORDS, url);
		if (j == NULL) {
			src->failed = 1;
			continue;
		}
		j->src = src;
		src->listed = 1;
		src->rr.source = src->id;
		arm_queue_push(s, j);
	}
}

/* Build the zone from its sources; 1 = new pub in *np (and its record
 * set count in *nsets_out), 0 = unchanged, <0 = failed (logged, and the
 * reason in berr; the old copy stays). */
static int arm_build_zone(struct arm_sync *s, struct arm_src **srcs, size_t n,
			  const struct arm_pub *old, struct arm_pub *np, size_t *nsets_out, char *berr,
			  size_t berrlen)
{
	const char *zone = srcs[0]->zone;
	struct arm_buf txt = {0};
	size_t body_off, nsets = 0, nskipped = 0;
	const struct arm_rrsets **sets = calloc(n, sizeof(*sets));
	char err[512], stamp[64], srcname[300];
	struct zone *z;
	time_t now = time(NULL);
	struct tm tm;
	uint64_t hash;

	snprintf(berr, berrlen, "out of memory building the zone");
	if (sets == NULL) {
		log_err("arm: out of memory building zone %s", zone);
		return FWD_ENOMEM;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	arm_buf_printf(&txt, ARM_SYNC_MAGIC "%s\n; Copied from Azure Resource Manager; replaced at every "
			     "sync, do not edit.\n",
		       zone);
	for (size_t i = 0; i < n; i++) {
		arm_buf_printf(&txt, "; source: %s\n", srcs[i]->id);
		nsets += srcs[i]->rr.nsets;
		nskipped += srcs[i]->rr.nskipped;
		sets[i] = &srcs[i]->rr;
	}
	arm_buf_printf(&txt, "; synced: %s\n", stamp);
	body_off = txt.len;
	if (arm_records_zone_text(zone, sets, n, &txt) < 0 || txt.oom) {
		free(sets);
		arm_buf_free(&txt);
		log_err("arm: out of memory building zone %s", zone);
		return FWD_ENOMEM;
	}
	free(sets);
	if (nskipped > 0)
		log_info("arm: zone %s: %zu record sets of types not served were skipped", zone, nskipped);
	hash = arm_records_hash(txt.p + body_off, txt.len - body_off);
	if (old != NULL && old->hash == hash) {
		arm_buf_free(&txt);
		return 0;
	}
	snprintf(srcname, sizeof(srcname), "arm:%s", zone);
	z = zone_load_text(zone, txt.p + body_off, srcname, err, sizeof(err));
	if (z == NULL) {
		log_err("arm: zone %s from ARM does not compile: %s; %s", zone, err,
			old ? "keeping the last good copy" : "not served");
		snprintf(berr, berrlen, "the zone from ARM does not compile: %s", err);
		arm_buf_free(&txt);
		return FWD_EPARSE;
	}
	*nsets_out = arm_records_count_sets(txt.p + body_off, txt.len - body_off);
	if (s->state_dir != NULL)
		arm_state_write(s, zone, txt.p, txt.len); /* failure logged; still serve */
	arm_buf_free(&txt);
	np->name = strdup(zone);
	np->subs = calloc(s->cfg->nsubscriptions, 1);
	if (np->name == NULL || np->subs == NULL) {
		zone_unref(z);
		free(np->name);
		free(np->subs);
		log_err("arm: out of memory publishing zone %s", zone);
		return FWD_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		np->subs[srcs[i]->sub] = 1;
	np->zone = z;
	np->hash = hash;
	np->fallback_public = arm_cfg_zone_fallback(s->cfg, zone);
	log_info("arm: zone %s %s: %zu record sets, %zu records", zone, old ? "updated" : "added", nsets,
		 zone_rr_count(z));
	return 1;
}

/* Did discovery fail for a subscription this zone came from? */
static int arm_pub_touched_by_failure(const struct arm_sync *s, const struct arm_pub *p)
{
	const struct arm_round *r = s->round;

	for (size_t i = 0; i < s->cfg->nsubscriptions; i++)
		if (r->sub_failed[i] && p->subs[i])
			return 1;
	return 0;
}

/* Why a zone from subscriptions subs was not refreshed this round: the
 * zone list of one of them failed. */
static void arm_sub_failure_text(const struct arm_sync *s, const uint8_t *subs, char *buf, size_t cap)
{
	const struct arm_round *r = s->round;

	for (size_t i = 0; i < s->cfg->nsubscriptions; i++) {
		if (!r->sub_failed[i] || !subs[i])
			continue;
		snprintf(buf, cap, "not refreshed: listing the zones of subscription %s failed: %s",
			 s->cfg->subscriptions[i], r->sub_err[i] ? r->sub_err[i] : "(see the log)");
		return;
	}
	snprintf(buf, cap, "not refreshed: a zone listing failed (see the log)");
}

/*
 * A source finished listing: when it was the last one of its zone, build
 * the zone now and drop the record text, so a round over many zones holds
 * the text of only the zones still being listed.
 */
static void arm_zone_ready(struct arm_sync *s, struct arm_src *src)
{
	struct arm_round *r = s->round;
	size_t g0 = src->idx, g1 = src->idx + 1;
	struct arm_src *head;
	const struct arm_pub *old;
	struct arm_zstat *z;
	char berr[600] = "";
	size_t nsets = 0;
	int bad = 0;

	while (g0 > 0 && strcmp(r->srcs[g0 - 1]->zone, src->zone) == 0)
		g0--;
	while (g1 < r->nsrcs && strcmp(r->srcs[g1]->zone, src->zone) == 0)
		g1++;
	for (size_t i = g0; i < g1; i++) {
		if (r->srcs[i]->listed && !r->srcs[i]->finished)
			return;
		bad |= r->srcs[i]->failed;
	}
	head = r->srcs[g0];
	if (head->built)
		return;
	head->built = 1;
	old = arm_pub_lookup(s, src->zone);
	if (bad)
		head->build_rc = FWD_EIO; /* logged where it failed */
	else if (old != NULL && arm_pub_touched_by_failure(s, old))
		head->build_rc = ARM_BUILD_KEPT;
	else
		head->build_rc = arm_build_zone(s, &r->srcs[g0], g1 - g0, old, &head->np, &nsets,
						berr, sizeof(berr));
	for (size_t i = g0; i < g1; i++)
		arm_rrsets_free(&r->srcs[i]->rr);

	/* The zone's own state, for zones and /metrics. */
	if (bad) {
		for (size_t i = g0; i < g1; i++) {
			const struct arm_src *f = r->srcs[i];
			if (!f->failed)
				continue;
			if (g1 - g0 > 1)
				snprintf(berr, sizeof(berr), "%s: %s", f->id, f->err ? f->err : "failed");
			else
				snprintf(berr, sizeof(berr), "%s", f->err ? f->err : "failed");
			break;
		}
	} else if (head->build_rc == ARM_BUILD_KEPT) {
		arm_sub_failure_text(s, old->subs, berr, sizeof(berr));
	}
	arm_zstat_result(s, src->zone, head->build_rc >= 0 ? NULL : berr);
	z = arm_zstat_get(s, src->zone);
	if (z != NULL) {
		const char **ids = calloc(g1 - g0, sizeof(*ids));
		if (ids != NULL) {
			for (size_t i = g0; i < g1; i++)
				ids[i - g0] = r->srcs[i]->id;
			arm_zstat_set_sources(z, ids, g1 - g0);
			free(ids);
		}
		if (head->build_rc == 1)
			z->record_sets = nsets;
	}
}

static int arm_src_zone_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct arm_src *const *)elem)->zone);
}

/*
 * After a round that listed every subscription: forget the state of zones
 * that are neither served nor in ARM any more (deleted, or filtered out),
 * so that /metrics does not keep series for them forever.
 */
static void arm_zstat_prune(struct arm_sync *s)
{
	const struct arm_round *r = s->round;
	size_t k = 0;

	for (size_t i = 0; i < s->nzst; i++) {
		struct arm_zstat *z = &s->zst[i];
		int keep = arm_pub_lookup(s, z->name) != NULL ||
			   (r->nsrcs > 0 && bsearch(z->name, r->srcs, r->nsrcs, sizeof(*r->srcs),
						    arm_src_zone_cmp) != NULL);
		if (keep)
			s->zst[k++] = *z;
		else
			arm_zstat_clear(z);
	}
	s->nzst = k;
}

static void arm_round_end(struct arm_sync *s)
{
	struct arm_round *r = s->round;
	struct arm_pub *out;
	size_t nout = 0, added = 0, updated = 0, removed = 0, failed = 0, kept = 0;
	size_t i = 0, k = 0;
	int discovery_ok = 1;
	uint64_t ms;

	for (size_t x = 0; x < s->cfg->nsubscriptions; x++)
		if (r->sub_failed[x])
			discovery_ok = 0;
	/* Upper bound: every old zone plus every listed one. */
	out = calloc(s->npubs + r->nsrcs + 1, sizeof(*out));
	if (out == NULL) {
		log_err("arm: out of memory finishing a sync round; nothing published");
		r->any_failed = 1;
		goto done;
	}
	/* Walk old pubs and zone groups (both sorted by name) together. */
	while (i < r->nsrcs || k < s->npubs) {
		int c;
		if (i >= r->nsrcs)
			c = 1;
		else if (k >= s->npubs)
			c = -1;
		else
			c = strcmp(r->srcs[i]->zone, s->pubs[k].name);
		if (c > 0) {
			/* Published, absent from this listing. */
			struct arm_pub *p = &s->pubs[k++];
			int may_delete = discovery_ok && (r->only == NULL || strcmp(r->only, p->name) == 0);
			if (may_delete) {
				log_info("arm: zone %s is no longer in ARM (or no longer matches the "
					 "filters); removed",
					 p->name);
				arm_state_remove(s, p->name);
				arm_pub_clear(p);
				removed++;
			} else {
				if ((r->only == NULL || strcmp(r->only, p->name) == 0) &&
				    arm_pub_touched_by_failure(s, p)) {
					char why[600];
					arm_sub_failure_text(s, p->subs, why, sizeof(why));
					arm_zstat_result(s, p->name, why);
				}
				out[nout++] = *p;
				memset(p, 0, sizeof(*p));
				kept++;
			}
			continue;
		}
		{
			struct arm_src *head = r->srcs[i];
			struct arm_pub *old = c == 0 ? &s->pubs[k] : NULL;
			size_t g = i;
			while (g < r->nsrcs && strcmp(r->srcs[g]->zone, head->zone) == 0)
				g++;
			if (head->built && head->build_rc == 1) {
				out[nout++] = head->np;
				memset(&head->np, 0, sizeof(head->np));
				if (old != NULL) {
					arm_pub_clear(old);
					updated++;
				} else {
					added++;
				}
			} else {
				if (head->built && head->build_rc == 0) {
					/* Unchanged text; the sources may still have moved. */
					memset(old->subs, 0, s->cfg->nsubscriptions);
					for (size_t x = i; x < g; x++)
						old->subs[r->srcs[x]->sub] = 1;
				}
				if (head->built && head->build_rc < 0 && head->build_rc != ARM_BUILD_KEPT)
					failed++;
				else if (old != NULL)
					kept++;
				if (old != NULL) {
					out[nout++] = *old;
					memset(old, 0, sizeof(*old));
				}
			}
			i = g;
			if (c == 0)
				k++;
		}
	}
	for (size_t x = 0; x < s->npubs; x++)
		arm_pub_clear(&s->pubs[x]);
	free(s->pubs);
	s->pubs = out;
	s->npubs = nout;
	if (added + updated + removed > 0)
		arm_publish_now(s);
	if (discovery_ok && r->only == NULL)
		arm_zstat_prune(s);
done:
	ms = fwd_now_ms() - r->started_ms;
	if (!discovery_ok)
		r->any_failed = 1;
	s->st.rounds++;
	s->st.last_duration_ms = ms;
	if (r->any_failed)
		s->st.rounds_failed++;
	else
		s->st.last_success_unix = (int64_t)time(NULL);
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s",
		 r->any_failed && r->first_err[0] == '\0' ? "failed (see the log)" : r->first_err);
	log_info("arm: sync %s in %llu ms: %zu zones served (%zu added, %zu updated, %zu removed, "
		 "%zu unchanged or kept, %zu failed)",
		 r->any_failed ? "finished with errors" : "done", (unsigned long long)ms, s->npubs,
		 added, updated, removed, kept, failed);
	arm_round_free(r);
	s->round = NULL;
	s->st.running = 0;
	/* Next round: interval after this one started, or now if triggered. */
	if (s->again) {
		char *z = s->again_zone;
		s->again = 0;
		s->again_zone = NULL;
		arm_round_start(s, z);
		free(z);
	} else if (s->started) {
		struct timeval tv = {s->cfg->interval_s, 0};
		uint64_t iv = (uint64_t)s->cfg->interval_s * 1000;
		if (ms < iv) {
			tv.tv_sec = (time_t)((iv - ms) / 1000);
			tv.tv_usec = (suseconds_t)(((iv - ms) % 1000) * 1000);
		} else {
			tv.tv_sec = 0;
		}
		evtimer_add(s->tick_ev, &tv);
	}
}

/* The job failed for the reason fmt says (already logged): finish it. */
static void arm_job_fail(struct arm_sync *s, struct arm_job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	arm_job_finish(s, j, 0);
}

/* A job is over: ok = listing complete.  Advances the round's phases. */
static void arm_job_finish(struct arm_sync *s, struct arm_job *j, int ok)
{
	struct arm_round *r = s->round;

	if (!ok) {
		const char *e = j->err[0] ? j->err : "failed (see the log)";
		char what[600];
		if (j->kind == ARM_JOB_ZONES) {
			r->sub_failed[j->sub] = 1;
			if (r->sub_err[j->sub] == NULL)
				r->sub_err[j->sub] = strdup(e);
		} else {
			j->src->failed = 1;
			if (j->src->err == NULL)
				j->src->err = strdup(e);
		}
		if (r->first_err[0] == '\0')
			snprintf(r->first_err, sizeof(r->first_err), "%s: %s",
				 arm_job_what(j, what, sizeof(what)), e);
		r->any_failed = 1;
	}
	if (j->kind == ARM_JOB_RECORDS) {
		j->src->finished = 1;
		arm_zone_ready(s, j->src);
	}
	if (--r->pending > 0)
		return;
	if (r->phase == 1) {
		arm_round_records(s);
		if (r->pending > 0) {
			arm_sched_run(s);
			return;
		}
	}
	arm_round_end(s);
}

static void arm_round_start(struct arm_sync *s, const char *only)
{
	struct arm_round *r;
	size_t nscopes;

	if (s->round != NULL) {
		/* Coalesce: one more round after this one, for all zones if
		 * any trigger asked for all. */
		if (!s->again) {
			s->again = 1;
			s->again_zone = only ? strdup(only) : NULL;
		} else if (only == NULL || s->again_zone == NULL || strcmp(only, s->again_zone) != 0) {
			free(s->again_zone);
			s->again_zone = NULL;
		}
		return;
	}
	evtimer_del(s->tick_ev);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->nsubs = s->cfg->nsubscriptions;
	r->sub_failed = calloc(s->cfg->nsubscriptions, 1);
	r->sub_err = calloc(s->cfg->nsubscriptions, sizeof(*r->sub_err));
	if (r->sub_failed == NULL || r->sub_err == NULL ||
	    (only != NULL && (r->only = strdup(only)) == NULL)) {
		arm_round_free(r);
		goto nomem;
	}
	r->started_ms = fwd_now_ms();
	r->phase = 1;
	if (only == NULL) {
		/* A full round answers every trigger that is still waiting. */
		s->again = 0;
		free(s->again_zone);
		s->again_zone = NULL;
	}
	s->round = r;
	s->st.running = 1;
	log_debug("arm: sync started%s%s", only ? " for zone " : "", only ? only : "");
	nscopes = s->cfg->nresource_groups ? s->cfg->nresource_groups : 1;
	for (size_t sub = 0; sub < s->cfg->nsubscriptions; sub++) {
		for (size_t g = 0; g < nscopes; g++) {
			const char *rg = s->cfg->nresource_groups ? s->cfg->resource_groups[g] : NULL;
			char *url = arm_url_zones(s, sub, rg);
			struct arm_job *j = url ? arm_job_new(s, ARM_JOB_ZONES, url) : NULL;
			if (j == NULL) {
				r->sub_failed[sub] = 1;
				continue;
			}
			j->sub = sub;
			j->rg = rg;
			arm_queue_push(s, j);
		}
	}
	if (r->pending == 0) {
		arm_round_end(s);
		return;
	}
	arm_sched_run(s);
	return;
nomem:
	log_err("arm: out of memory starting a sync round");
}

/* ---------------------------------------------------------------- events */

static void arm_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	arm_round_start(arg, NULL);
}

static void arm_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct arm_sync *s = arg;
	char *z = s->again_zone;

	(void)fd;
	(void)what;
	if (!s->again)
		return;
	s->again = 0;
	s->again_zone = NULL;
	arm_round_start(s, z);
	free(z);
}

/* ---------------------------------------------------------------- public */

struct arm_sync *arm_sync_new(struct event_base *main_base, const struct arm_cfg *ac, int cloud,
			      const char *state_dir, arm_publish_fn publish, void *ctx)
{
	struct arm_sync *s = calloc(1, sizeof(*s));
	struct arm_auth_params ap;
	struct arm_endpoints ep;
	char err[300];

	if (s == NULL)
		goto nomem;
	s->base = main_base;
	s->publish = publish;
	s->ctx = ctx;
	s->cfg = arm_cfg_dup(ac);
	if (s->cfg == NULL)
		goto nomem_free;
	if (arm_cfg_endpoints(ac, cloud, &ep, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto fail;
	}
	memset(&ap, 0, sizeof(ap));
	ap.kind = ac->auth;
	ap.login_endpoint = ep.login;
	ap.imds_endpoint = ep.imds;
	ap.audience = ep.audience;
	ap.client_id = ep.client_id;
	ap.tenant_id = ep.tenant_id;
	ap.secret_file = ac->client_secret_file;
	ap.secret_env = ac->client_secret_env;
	ap.federated_token_file = ep.federated_token_file;
	ap.max_retries = ac->max_retries;
	s->arm = strdup(ep.arm);
	if (s->arm == NULL)
		goto nomem_free;
	while (strlen(s->arm) > 0 && s->arm[strlen(s->arm) - 1] == '/')
		s->arm[strlen(s->arm) - 1] = '\0';
	if (state_dir != NULL && (s->state_dir = strdup(state_dir)) == NULL)
		goto nomem_free;
	if (state_dir == NULL)
		log_warn("arm: no state-dir: synced zones are not saved and a restart with ARM out of "
			 "reach serves none of them");
	s->http = arm_http_new(main_base, ac->ca_file, ac->timeout_s);
	if (s->http == NULL)
		goto fail;
	s->auth = arm_auth_new(main_base, s->http, &ap, arm_auth_ready_cb, s);
	if (s->auth == NULL)
		goto fail;
	s->tick_ev = evtimer_new(main_base, arm_tick_cb, s);
	s->kick_ev = event_new(main_base, -1, 0, arm_kick_cb, s);
	s->sched_ev = evtimer_new(main_base, arm_sched_cb, s);
	if (s->tick_ev == NULL || s->kick_ev == NULL || s->sched_ev == NULL)
		goto nomem_free;
	log_info("arm: syncing %zu subscription(s) from %s every %d s (%s)", ac->nsubscriptions, s->arm,
		 ac->interval_s,
		 ac->auth == ARM_AUTH_MANAGED_IDENTITY  ? "managed identity"
		 : ac->auth == ARM_AUTH_CLIENT_SECRET ? "client secret"
						      : "workload identity");
	return s;
nomem_free:
	log_err("arm: out of memory setting up the sync");
fail:
	arm_sync_free(s);
	return NULL;
nomem:
	log_err("arm: out of memory setting up the sync");
	return NULL;
}

void arm_sync_start(struct arm_sync *s)
{
	s->started = 1;
	arm_sync_trigger(s, NULL);
}

void arm_sync_trigger(struct arm_sync *s, const char *zone)
{
	char name[256];

	if (zone != NULL) {
		size_t n = strlen(zone);
		if (n >= sizeof(name)) {
			log_warn("arm: sync requested for an over-long zone name; ignored");
			return;
		}
		memcpy(name, zone, n + 1);
		arm_lower(name);
		if (n > 1 && name[n - 1] == '.')
			name[n - 1] = '\0';
		zone = name;
	}
	if (s->round != NULL) {
		arm_round_start(s, zone); /* queues another round */
		return;
	}
	/* Start from the loop, not from inside the caller (a signal
	 * handler event or a control request). */
	if (!s->again) {
		s->again = 1;
		s->again_zone = zone ? strdup(zone) : NULL;
	} else if (zone == NULL || s->again_zone == NULL || strcmp(zone, s->again_zone) != 0) {
		free(s->again_zone);
		s->again_zone = NULL;
	}
	event_active(s->kick_ev, EV_TIMEOUT, 0);
}

void arm_sync_free(struct arm_sync *s)
{
	if (s == NULL)
		return;
	/* HTTP first: its requests point at jobs of the round. */
	arm_http_free(s->http);
	arm_auth_free(s->auth);
	arm_round_free(s->round);
	if (s->tick_ev != NULL)
		event_free(s->tick_ev);
	if (s->kick_ev != NULL)
		event_free(s->kick_ev);
	if (s->sched_ev != NULL)
		event_free(s->sched_ev);
	for (size_t i = 0; i < s->npubs; i++)
		arm_pub_clear(&s->pubs[i]);
	free(s->pubs);
	for (size_t i = 0; i < s->nzst; i++)
		arm_zstat_clear(&s->zst[i]);
	free(s->zst);
	free(s->again_zone);
	free(s->arm);
	free(s->state_dir);
	arm_cfg_free(s->cfg);
	free(s);
}

void arm_sync_stats(const struct arm_sync *s, struct arm_sync_stats *out)
{
	*out = s->st;
}

/* ---------------------------------------------------------------- per-zone queries */

/* zone as the tables key it: lower-case, no trailing dot; -1 if too long. */
static int arm_zone_key(const char *zone, char *out, size_t cap)
{
	size_t n = strlen(zone);

	if (n >= cap)
		return -1;
	memcpy(out, zone, n + 1);
	arm_lower(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	return 0;
}

static void arm_zone_info_fill(const struct arm_sync *s, const struct arm_zstat *z,
			       struct arm_zone_info *out)
{
	const struct arm_pub *p = arm_pub_lookup(s, z->name);

	memset(out, 0, sizeof(*out));
	out->name = z->name;
	out->served = p != NULL;
	out->sources = (const char *const *)z->sources;
	out->nsources = z->nsources;
	out->record_sets = p != NULL ? z->record_sets : 0;
	out->records = p != NULL ? zone_rr_count(p->zone) : 0;
	out->last_success_unix = z->last_success;
	out->last_attempt_unix = z->last_attempt;
	out->last_error = z->last_error;
	out->consecutive_failures = z->consecutive;
	out->attempts = z->attempts;
	out->failures = z->failures;
	out->throttled = z->throttled;
}

size_t arm_sync_zone_count(const struct arm_sync *s)
{
	return s->nzst;
}

int arm_sync_zone_at(const struct arm_sync *s, size_t i, struct arm_zone_info *out)
{
	if (i >= s->nzst)
		return FWD_ENOENT;
	arm_zone_info_fill(s, &s->zst[i], out);
	return 0;
}

int arm_sync_zone_info(const struct arm_sync *s, const char *zone, struct arm_zone_info *out)
{
	char key[256];
	const struct arm_zstat *z;

	if (arm_zone_key(zone, key, sizeof(key)) < 0 || (z = arm_zstat_find(s, key)) == NULL)
		return FWD_ENOENT;
	arm_zone_info_fill(s, z, out);
	return 0;
}

int arm_sync_zone_file(const struct arm_sync *s, const char *zone, char **text, size_t *len,
		       int *current, char *path, size_t pathcap)
{
	char key[256];
	const struct arm_pub *p;
	const char *body;
	size_t n = 0;
	char *t;

	*text = NULL;
	*len = 0;
	*current = 0;
	if (s->state_dir == NULL || arm_zone_key(zone, key, sizeof(key)) < 0 ||
	    (p = arm_pub_lookup(s, key)) == NULL || arm_state_path(s, key, "", path, pathcap) < 0)
		return FWD_ENOENT;
	t = arm_read_file(path, &n);
	if (t == NULL)
		return errno == ENOENT ? FWD_ENOENT : FWD_EIO;
	if (strncmp(t, ARM_SYNC_MAGIC, sizeof(ARM_SYNC_MAGIC) - 1) != 0 ||
	    (body = strstr(t, "\n$ORIGIN ")) == NULL) {
		free(t);
		return FWD_EPARSE;
	}
	body++;
	/* the same hash the build and the loader compute over the body */
	*current = arm_records_hash(body, n - (size_t)(body - t)) == p->hash;
	*text = t;
	*len = n;
	return 0;
}
