/*
 * fuzz_big_blocks.h -- for targets that make and free big zeroed blocks on
 * every input (fuzz_reply.c: the continuation pool, the upstream instance
 * and its server table; fuzz_doh.c: the DoH pool with its 64 KiB answer
 * buffer).  Included by one file of such a target; defines functions, so
 * never by two files of one program.
 *
 * The libFuzzer build (tests/fuzz/fuzz.mk) defines FUZZ_REUSE_BIG_BLOCKS
 * and links the target with -Wl,--wrap=calloc,--wrap=free.  Under ASan
 * each block of 64 KiB and more was a fresh mmap() and page faults, and its
 * free an munmap(), a shadow madvise() and TLB shootdowns: a third of
 * fuzz_reply's CPU time, and of fuzz_doh's.  Here a freed big block is kept
 * and handed out again, zeroed, for the next calloc() of its size.  ASan
 * still checks every access against the block's redzones; only a use after
 * the block's free (at the end of an input, when nothing runs) would go
 * unseen.  The replay build (make check) allocates as the daemon does.
 */
#ifndef PLINKFWD_FUZZ_BIG_BLOCKS_H
#define PLINKFWD_FUZZ_BIG_BLOCKS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef FUZZ_REUSE_BIG_BLOCKS
#define BIG_BLOCK 16384
#define BIG_SLOTS 16
void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

static struct {
	void *p;
	size_t size;
	int busy;
} big[BIG_SLOTS];

void *__wrap_calloc(size_t n, size_t size)
{
	if (size && n <= SIZE_MAX / size && n * size >= BIG_BLOCK) {
		size_t t = n * size;
		for (int i = 0; i < BIG_SLOTS; i++) {
			if (big[i].p && !big[i].busy && big[i].size == t) {
				big[i].busy = 1;
				return memset(big[i].p, 0, t);
			}
		}
		for (int i = 0; i < BIG_SLOTS; i++) {
			if (!big[i].p) {
				big[i].p = __real_calloc(1, t);
				big[i].size = t;
				big[i].busy = big[i].p != NULL;
				return big[i].p;
			}
		}
	}
	return __real_calloc(n, size);
}

void __wrap_free(void *p)
{
	for (int i = 0; p && i < BIG_SLOTS; i++) {
		if (big[i].p == p) {
			big[i].busy = 0;
			return;
		}
	}
	__real_free(p);
}
#endif

/* Every input makes and frees a few hundred KiB: a smaller quarantine than
 * the default 256 MiB still holds many inputs' worth of freed memory, so a
 * use after free within an input is caught, and the fuzzer stops spending
 * its time on page faults. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

#endif
