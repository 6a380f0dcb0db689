/*
 * control.h -- the control socket that plinkfwd-ctl talks to.
 *
 * A UNIX stream socket (server: control-socket, permissions
 * control-socket-mode, 0600 by default) served on the daemon's main event
 * loop, next to signals and ARM sync.  Worker threads are never involved:
 * a request reads the published snapshot and the workers' counters (see
 * stats.h for why no lock is needed) and runs reload/sync exactly as the
 * signals do.
 *
 * Protocol: the client sends one request line (at most 4095 bytes, ended by
 * \n): a command and its arguments separated by blanks.  The daemon answers
 * with one JSON object on one line and closes the connection.  Every answer
 * has "ok": true or false; a failure has "error" with the reason (for
 * reload, the file:line message of the configuration error).  Commands:
 *   status | reload | stats | zones | flush [NAME] | sync [ZONE] |
 *   explain NAME [TYPE]  (explain.h)
 * The fields of each answer are documented in docs/plinkfwd-ctl.8.
 */
#ifndef PLINKFWD_CONTROL_H
#define PLINKFWD_CONTROL_H

struct daemon;
struct control;

/*
 * Create the socket at path with the given mode, owned by uid/gid when they
 * are not -1 (the user: the daemon drops to), and serve it on d->base.
 * A stale socket file left by a dead daemon is replaced; a live one (some
 * process accepts on it) or a file that is not a socket is an error.
 * Main thread; NULL on failure (logged).
 */
struct control *control_new(struct daemon *d, const char *path, int mode, long uid, long gid);
/* Close every connection and the socket, and remove the socket file if it
 * is still the one this daemon created. */
void control_free(struct control *c);

/* The socket path (owned by c). */
const char *control_path(const struct control *c);

/*
 * Run one request line and return the JSON answer as a string the caller
 * frees.  Main thread.  NULL only when out of memory.  (The socket code
 * uses it; it is public for the unit test.)
 */
char *control_run(struct daemon *d, const char *line);

#endif
