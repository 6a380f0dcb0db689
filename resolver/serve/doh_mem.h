/*
 * doh_mem.h -- the allocator nghttp2 gets for the DoH sessions of one
 * worker, so that a query on an open HTTP/2 connection does not go to
 * malloc.
 *
 * nghttp2 allocates and frees a few small blocks for every stream (the
 * stream object, its header fields, frame bookkeeping).  This keeps freed
 * blocks of up to DOH_MEM_MAX bytes on per-size free lists (64-byte
 * classes, at most DOH_MEM_KEEP blocks each) and hands them out again;
 * larger blocks, and blocks beyond what a list keeps, go to and from
 * malloc as before.  One struct doh_mem belongs to one worker's DoH pool
 * and is used by that worker's thread only (no locks).
 */
#ifndef PLINKFWD_DOH_MEM_H
#define PLINKFWD_DOH_MEM_H

#include <stddef.h>

#include <nghttp2/nghttp2.h>

#define DOH_MEM_QUANTUM 64
#define DOH_MEM_CLASSES 16 /* blocks of 64, 128, ... 1024 bytes */
#define DOH_MEM_MAX (DOH_MEM_QUANTUM * DOH_MEM_CLASSES)
#define DOH_MEM_KEEP 4096  /* free blocks kept per class, at most */

struct doh_mem {
	nghttp2_mem mem;                 /* what nghttp2_session_server_new3() takes */
	void *free_list[DOH_MEM_CLASSES]; /* owned: freed blocks, linked through their first word */
	unsigned nfree[DOH_MEM_CLASSES];
};

/* Set m up (no allocation). */
void doh_mem_init(struct doh_mem *m);
/* Free the blocks m keeps; every session using it must be gone. */
void doh_mem_fini(struct doh_mem *m);

#endif
