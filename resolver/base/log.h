/*
 * log.h -- the process-wide log sink (stderr or syslog) and level.
 *
 * The sink is configured once by main before any worker thread starts and
 * again only on reload from the main thread; each message is written with a
 * single write(2) (or syslog(3)) so lines from several threads never mix.
 * This is the one piece of process-wide state besides the signal flags: a
 * logger passed through every call would only add noise to every signature.
 * Its per-level message counts (log_count) live with it.
 */
#ifndef PLINKFWD_LOG_H
#define PLINKFWD_LOG_H

#include "common.h"

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

/* Parse "error" | "warning" (or "warn") | "info" | "debug" into *out:
 * FWD_OK, or FWD_EINVAL for anything else (*out untouched). */
enum fwd_err log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Send messages to syslog (facility daemon) instead of stderr. */
void log_use_syslog(int on, const char *ident);

void log_msg(enum log_level lvl, const char *fmt, ...) FWD_PRINTF(2, 3);
/* Messages raised at lvl since start, whether the level let them through
 * or not (debug messages are only raised at debug level).  Lets tests
 * count rate-limited warnings without reading the log. */
uint64_t log_count(enum log_level lvl);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_get_level() >= LOG_LVL_DEBUG)        \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
