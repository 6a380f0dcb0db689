/*
 * siphash.h -- SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), 64-bit output.
 *
 * Used for DNS server cookies (RFC 9018).  Pure function: reads key and
 * data (both owned by the caller), allocates nothing, no global state.
 */
#ifndef PLINKFWD_SIPHASH_H
#define PLINKFWD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16
#define SIPHASH_OUT_LEN 8

/*
 * SipHash-2-4 of data[0..len) under the 16-byte key.  The 64-bit result is
 * written to out as 8 bytes, little-endian, which is the byte order of the
 * reference implementation's output and of the RFC 9018 Hash field.
 */
void siphash24(const uint8_t key[SIPHASH_KEY_LEN], const uint8_t *data, size_t len,
	       uint8_t out[SIPHASH_OUT_LEN]);

#endif
