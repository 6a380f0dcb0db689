/*
 * upstream_log.h -- log helpers shared by the forwarding modules
 * (upstream.c, upstream_health.c, upstream_sock.c).
 *
 * They live apart so that the three modules print a server the same way and
 * share one rate limit for warnings about local resources (descriptors,
 * memory, events): when the process runs short of them every query hits the
 * same wall, and one line a second says all there is to say.
 *
 * Nothing here allocates; buffers and limiter state belong to the caller.
 */
#ifndef PLINKFWD_UPSTREAM_LOG_H
#define PLINKFWD_UPSTREAM_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* At most one warning of a kind per this many milliseconds. */
#define UP_WARN_INTERVAL_MS 1000

/* "host@port" of ss (AF_INET or AF_INET6) into buf (len bytes, the caller's);
 * returns buf, for use inside a log call. */
const char *up_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len);

/*
 * 1 when a warning guarded by *last_ms may be logged at now_ms (the
 * caller's clock), and records it in
 * *last_ms; 0 within UP_WARN_INTERVAL_MS of the previous one.  *last_ms
 * starts at 0 (never warned) and belongs to the caller; modules that must
 * share one limit are handed a pointer to the same variable.
 */
int up_warn_limit(uint64_t *last_ms, uint64_t now_ms);

#endif
