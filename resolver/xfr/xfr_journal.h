/*
 * xfr_journal.h -- the differences between the published versions of each
 * zone, for IXFR (RFC 1995).
 *
 * The main thread records a version whenever a publish changes a zone's
 * serial (xfr_journal_publish(), called with every snapshot the daemon
 * publishes): the records deleted and added since the previous version of
 * that zone, computed from the two compiled zones.  A zone's journal keeps
 * the newest versions whose differences fit in the size the snapshot's
 * xfr-journal-size: allows (oldest dropped first).  Workers read it
 * (xfr_journal_ixfr()) under the journal's mutex, which is held only to
 * copy the answer out.  With state-dir: each zone's journal is saved
 * there (STATE/xfr-journal/ZONE, temporary file and rename) after every
 * change and read back at start-up when it leads to the serial served.
 */
#ifndef PLINKFWD_XFR_JOURNAL_H
#define PLINKFWD_XFR_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct snapshot;
struct zone;
struct xfr_journal;

enum fwd_err xfr_journal_new(struct xfr_journal **out);
void xfr_journal_free(struct xfr_journal *j);

/* snap was just published (main thread): record the versions it changed. */
void xfr_journal_publish(struct xfr_journal *j, const struct snapshot *snap);

/*
 * The IXFR answer records from serial `from` to zone z's serial (z: the
 * zone being served): FWD_OK with *buf (malloc'd, the caller frees) holding
 * the records in order -- the new SOA, then per version the old SOA, the
 * deleted records, the new SOA, the added records, and the new SOA last --
 * each in wire form with its owner uncompressed, *len bytes, *count
 * records.  FWD_ENOENT when the journal does not reach back to `from` (then
 * the whole zone is the answer).  FWD_ENOMEM.
 */
enum fwd_err xfr_journal_ixfr(struct xfr_journal *j, const struct zone *z, uint32_t from, uint8_t **buf,
			      size_t *len, size_t *count);

/* The differences between two versions of a zone (a, b), as records in
 * wire form with uncompressed owners, SOA excluded: deleted (in a only)
 * and added (in b only), each malloc'd (the caller frees; NULL when none).
 * For tests and the journal itself.  FWD_OK, FWD_ENOMEM. */
enum fwd_err xfr_zone_diff(const struct zone *a, const struct zone *b, uint8_t **del, size_t *del_len,
			   size_t *ndel, uint8_t **add, size_t *add_len, size_t *nadd);

#endif
