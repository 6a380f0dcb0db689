/*
 * ctl_check.h -- "plinkfwd-ctl check NAME [--connect PORT] [--json]": the
 * validation of Microsoft's custom DNS guide in one command.
 *
 * 1. Ask the running daemon NAME (A and AAAA) over DNS, on the first
 *    address it listens on (the wildcard address is asked on loopback), so
 *    that the answer goes through its own policy: zones, forwarding,
 *    splicing, the cache.
 * 2. Ask the control socket "check NAME" (explain.h, explain_check_json):
 *    the chain, where each record came from, the final addresses and
 *    whether each is private, and what the private endpoint listing says.
 * 3. With --connect PORT, open a TCP connection from this host to each
 *    final address, CTL_CHECK_CONNECT_MS at most, and report connected,
 *    refused or timed out.
 *
 * Exit status (docs/plinkfwd-ctl.8): 0 private (and, with --connect, every
 * address connected); 4 resolves to a public address; 5 does not resolve;
 * 6 private but unreachable on PORT; and, as for every command, 1 failed,
 * 3 the daemon could not be reached.
 */
#ifndef PLINKFWD_CTL_CHECK_H
#define PLINKFWD_CTL_CHECK_H

enum ctl_check_exit {
	CTL_CHECK_PRIVATE = 0,
	CTL_CHECK_PUBLIC = 4,
	CTL_CHECK_UNRESOLVED = 5,
	CTL_CHECK_UNREACHABLE = 6
};

#define CTL_CHECK_CONNECT_MS 3000
#define CTL_CHECK_DNS_MS 5000

/* One control request: the daemon's answer text (malloc'd, the caller
 * frees it) or NULL after printing why (plinkfwd-ctl's transport). */
typedef char *(*ctl_request_fn)(void *arg, const char *request_line);

/*
 * Run the check of name; connect_port 0 = no --connect.  Prints the text
 * report, or with json the daemon's object with "connect" and "exit"
 * added.  Returns the exit status above (1 or 3 on failures, said on
 * stderr).
 */
int ctl_check_run(ctl_request_fn req, void *arg, const char *name, int connect_port, int json);

#endif
