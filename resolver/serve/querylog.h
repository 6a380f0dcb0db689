/*
 * querylog.h -- the optional query log: one line per answered query.
 *
 * Line format (fields separated by one blank, a line ends with \n):
 *   TIME CLIENT PROTO NAME TYPE RCODE SOURCE LATENCY
 *   2025-01-31T12:00:00.123456Z 127.0.0.1#40001 udp www.example. A NOERROR upstream:default 1830
 * TIME is UTC when the line was written; CLIENT is address#port; PROTO udp
 * or tcp; NAME the question name as text (lower case, trailing dot; "-"
 * when the query had no readable question); TYPE a mnemonic or TYPEnnn;
 * RCODE a mnemonic; SOURCE local | synced | cache | error |
 * upstream:GROUP; LATENCY microseconds from the arrival of the query (or of
 * its UDP batch) to the answer.
 *
 * Threads: struct querylog belongs to the main thread; each worker has its
 * own struct querylog_writer, so workers never wait for each other.  A
 * writer collects lines in its own buffer and hands them to the kernel
 * with one write(2) per buffer (when it is nearly full, and at least once
 * a second from a timer on the worker's loop); the file is opened with
 * O_APPEND, so the blocks of several writers never overwrite each other
 * and a line is never split between two writes.
 *
 * Rotation: querylog_reopen() (SIGUSR2) opens the path anew on the main
 * thread (to report a problem at once and to create the new file), then
 * bumps a generation counter; each writer sees it at its next flush or
 * tick, flushes what it holds into the old file and reopens the path
 * itself.  No file descriptor is ever shared between threads, so none is
 * closed under another thread's feet.  After a privilege drop the reopen
 * runs as that user: the log's directory must be writable by it.
 */
#ifndef PLINKFWD_QUERYLOG_H
#define PLINKFWD_QUERYLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "labels.h"

struct event_base;
struct fwd_clock;
struct client;
struct querylog;
struct querylog_writer;

/* Open (create, mode 0640) path for appending, on the main thread.  With
 * uid/gid other than -1 a newly created file is given to that owner (the
 * user: the daemon will drop to).  NULL when it cannot be opened (logged). */
struct querylog *querylog_open(const char *path, long uid, long gid);
/* SIGUSR2: reopen the path (main thread).  FWD_OK, or FWD_EIO (logged;
 * writers keep the old file). */
enum fwd_err querylog_reopen(struct querylog *ql);
/* Free it; every writer must be freed first. */
void querylog_free(struct querylog *ql);

/* A writer for one worker, registered on that worker's loop.  Main thread,
 * before the worker starts.  NULL on failure (logged). */
struct querylog_writer *querylog_writer_new(struct querylog *ql, struct event_base *base,
					    const struct fwd_clock *clock);
/* Flush and free it; main thread, after the worker's thread has stopped. */
void querylog_writer_free(struct querylog_writer *qw);

/* Lines written and lines lost (write errors), summed over writers. */
void querylog_counts(const struct querylog *ql, uint64_t *lines, uint64_t *lost);

struct querylog_entry {
	const struct client *cl;
	const uint8_t *qname;   /* lower-cased wire name, or NULL */
	uint16_t qtype;
	int rcode;
	enum stats_source source;
	const char *group;      /* upstream group name for STATS_SRC_UPSTREAM, or NULL */
	uint64_t latency_us;
};
/* Append one line (worker thread, the writer's own). Allocation-free. */
void querylog_write(struct querylog_writer *qw, const struct querylog_entry *e);

#endif
