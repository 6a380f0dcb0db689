/*
 * cfg_loop.h -- forwarding loops that the configuration alone shows
 * (docs/onprem-recipes.md, "Loops").
 *
 *  - An upstream server that is one of plinkfwd's own listen: addresses
 *    -- the same address and port, or a loopback or local interface
 *    address on the port of a wildcard listener (0.0.0.0, ::) -- gets every
 *    query plinkfwd sends it straight back: an error (cfg_load() refuses
 *    the file, so -t, start-up and reload all do).
 *  - A forward: rule whose group has a server that allow: lets query
 *    plinkfwd is a loop as soon as that server forwards the rule's names
 *    back: a warning with the reason (only allow: lines written in the
 *    file count; loopback is always allowed and says nothing of intent).
 *
 * Pure functions of a struct cfg (and, for wildcard listeners, the
 * machine's interface addresses, read with getifaddrs(3)); nothing kept.
 */
#ifndef PLINKFWD_CFG_LOOP_H
#define PLINKFWD_CFG_LOOP_H

#include <stddef.h>

#include "common.h"

struct cfg;

/* FWD_OK, or FWD_EPARSE with "file:line: message" (the server: line) in err. */
enum fwd_err cfg_check_self_forward(const struct cfg *cfg, char *err, size_t errlen);

/* Each warning, "file:line: warning: message" (the forward: line), handed
 * to warn; returns how many there were. */
typedef void (*cfg_warn_fn)(void *arg, const char *msg);
size_t cfg_loop_warnings(const struct cfg *cfg, cfg_warn_fn warn, void *arg);

#endif
