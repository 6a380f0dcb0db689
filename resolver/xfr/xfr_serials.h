/*
 * xfr_serials.h -- the serials plinkfwd gives synced zones, kept in the
 * state directory (file "xfr-serials": one "ZONE SERIAL HASH" line per zone)
 * so that they never go back across restarts.
 *
 * Azure keeps a private DNS zone's SOA serial while its records change; a
 * secondary would never see the change.  Every version of a synced zone
 * whose content (the hash of its zone text) differs from the last one gets
 * serial_next() of the last serial (serial.h): a new serial exactly when
 * the content changed.  The table is owned by the ARM sync (arm/), main
 * thread only.
 */
#ifndef PLINKFWD_XFR_SERIALS_H
#define PLINKFWD_XFR_SERIALS_H

#include <stdint.h>

#include "common.h"

struct xfr_serials;

/* Open the table of state_dir (NULL: kept in memory only), reading the file
 * when there is one (a malformed line is skipped with a warning).  FWD_OK
 * with *out, FWD_ENOMEM. */
enum fwd_err xfr_serials_open(const char *state_dir, struct xfr_serials **out);
void xfr_serials_free(struct xfr_serials *t);

/*
 * The serial of zone's content `hash`, whose source SOA says src, at the
 * wall-clock time now: the recorded serial when the hash is the recorded
 * one, else a new one (serial_next), recorded and written to the file
 * (temporary file and rename; a failure is logged and the serial is still
 * used).  FWD_OK with *serial, FWD_ENOMEM.
 */
enum fwd_err xfr_serials_assign(struct xfr_serials *t, const char *zone, uint64_t hash, uint32_t src, uint32_t now,
				uint32_t *serial);

#endif
