/*
 * doh_req.h -- the pieces of a DNS over HTTPS request (RFC 8484) that are
 * plain text: the path and its `dns` parameter, base64url, the media type.
 * Pure functions, no allocation, no state (unit-tested in
 * tests/unit/test_doh_req.c).
 */
#ifndef PLINKFWD_DOH_REQ_H
#define PLINKFWD_DOH_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* The one path plinkfwd serves (RFC 8484 leaves it to the server; this is
 * the one every client defaults to, and what DDR's dohpath advertises). */
#define DOH_PATH "/dns-query"
#define DOH_MEDIA_TYPE "application/dns-message"

/*
 * The `dns` parameter of a request target (path, len bytes, not
 * NUL-terminated).  FWD_OK with *val and *vlen pointing into path;
 * FWD_ENOENT when the path is not DOH_PATH (404); FWD_EINVAL when it is
 * but has no (or an empty) dns parameter (400 for a GET).
 */
enum fwd_err doh_path_dns(const char *path, size_t len, const char **val, size_t *vlen);

/* 1 when the path part (before any '?') is DOH_PATH. */
int doh_path_ok(const char *path, size_t len);

/*
 * Decode base64url (RFC 4648 section 5) in[0..inlen) into out[0..cap):
 * the alphabet with '-' and '_', padding omitted as RFC 8484 6 says (a
 * trailing '=' padding is tolerated).  FWD_OK with *outlen set; FWD_EINVAL
 * for a character outside the alphabet, a length no encoding has, or
 * non-zero bits left over; FWD_EFULL when the result does not fit.
 */
enum fwd_err doh_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen);

/* 1 when a content-type value names application/dns-message (any case,
 * parameters after ';' ignored). */
int doh_media_type_ok(const char *val, size_t len);

/*
 * The freshness lifetime an answer may be given in HTTP (RFC 8484 5.1: at
 * most the smallest TTL of its records): the smallest TTL of the answer
 * and authority records of msg (a negative answer's SOA carries its
 * lifetime, RFC 2308), or 0 when it has none or cannot be walked.
 */
uint32_t doh_max_age(const uint8_t *msg, size_t len);

#endif
