/*
 * status_json.h -- the daemon's state as one JSON object, built in one
 * place for both readers: `plinkfwd-ctl status` (the control socket's
 * "status" command, control.c) and the status page's /status.json
 * (http.c), which adds the rate history of its ring.
 *
 * The object: version, pid, start and uptime, config and generation, the
 * bound listeners, workers, cloud, zone counts, the last reload and its
 * result, health, ARM sync, and, for the status page, query and rcode
 * totals, the cache (size and hit rate), every upstream group with every
 * server (health, RTT, caps; control_json.h) and every zone (source,
 * serial, records, last sync or its error; control_json.h).  Field by
 * field in docs/admin-guide.md.  Main thread only.
 */
#ifndef PLINKFWD_STATUS_JSON_H
#define PLINKFWD_STATUS_JSON_H

#include <cjson/cJSON.h>

#include "common.h"

struct daemon;
struct status_ring;

/* The status object ({"ok": true, ...}) into *out, which the caller frees
 * with cJSON_Delete.  FWD_OK, or FWD_ENOMEM with *out untouched. */
enum fwd_err status_json(struct daemon *d, cJSON **out);

/* Add "history" to o: the buckets of r, oldest first, each with the start
 * of its span relative to now (seconds), the seconds it covers, its
 * queries and queries per second, and its answers by rcode.  FWD_OK or
 * FWD_ENOMEM (o may then hold part of it). */
enum fwd_err status_json_history(cJSON *o, const struct status_ring *r);

#endif
