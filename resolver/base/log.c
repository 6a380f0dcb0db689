/*
 * log.c -- the process-wide log sink.  See log.h for why this state is
 * process-wide.  The level is read by every thread and written only by the
 * main thread, so it is an atomic int.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level_cur = LOG_LVL_INFO;
static atomic_int log_syslog_on = 0;
/* messages raised per level, shown or not (log_count) */
static atomic_uint_fast64_t log_raised[4];

static const char *const level_names[] = {"error", "warning", "info", "debug"};

enum fwd_err log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < FWD_ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return FWD_OK;
		}
	}
	if (strcmp(s, "warn") == 0) {
		*out = LOG_LVL_WARN;
		return FWD_OK;
	}
	return FWD_EINVAL;
}

void log_set_level(enum log_level lvl) { atomic_store(&log_level_cur, (int)lvl); }

enum log_level log_get_level(void) { return (enum log_level)atomic_load_explicit(&log_level_cur, memory_order_relaxed); }

void log_use_syslog(int on, const char *ident)
{
	if (on && !atomic_load(&log_syslog_on))
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && atomic_load(&log_syslog_on))
		closelog();
	atomic_store(&log_syslog_on, on);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	size_t n;

	if ((unsigned)lvl < FWD_ARRAY_LEN(log_raised))
		atomic_fetch_add_explicit(&log_raised[lvl], 1, memory_order_relaxed);
	if ((int)lvl > atomic_load_explicit(&log_level_cur, memory_order_relaxed))
		return;
	if (atomic_load_explicit(&log_syslog_on, memory_order_relaxed)) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(prio[lvl], "%s", line);
		return;
	}
	{
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ plinkfwd[%d] %s: ",
				      ts.tv_nsec / 1000000L, (int)getpid(), level_names[lvl]);
	}
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write(2) per line keeps lines from several threads whole */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

uint64_t log_count(enum log_level lvl)
{
	if ((unsigned)lvl >= FWD_ARRAY_LEN(log_raised))
		return 0;
	return atomic_load_explicit(&log_raised[lvl], memory_order_relaxed);
}
