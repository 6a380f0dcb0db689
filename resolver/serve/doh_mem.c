/*
 * doh_mem.c -- free lists for nghttp2's small blocks (see doh_mem.h).
 *
 * Every block has a 16-byte header in front of what nghttp2 sees (16 keeps
 * the alignment malloc gives): its class (DOH_MEM_CLASSES for a large
 * block) and its usable size, so that free and realloc know what it is.
 */
#include "doh_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hdr {
	size_t cls;  /* class index, or DOH_MEM_CLASSES: a large block */
	size_t size; /* usable bytes after the header */
};
_Static_assert(sizeof(struct hdr) == 16, "the header keeps malloc's alignment");

static struct hdr *hdr_of(void *p) { return (struct hdr *)(void *)((char *)p - sizeof(struct hdr)); }

static void *m_malloc(size_t size, void *ud)
{
	struct doh_mem *m = ud;
	size_t cls = size ? (size - 1) / DOH_MEM_QUANTUM : 0;
	struct hdr *h;

	if (cls < DOH_MEM_CLASSES) {
		void *p = m->free_list[cls];
		if (p) {
			memcpy(&m->free_list[cls], p, sizeof(void *));
			m->nfree[cls]--;
			return p;
		}
		size = (cls + 1) * DOH_MEM_QUANTUM;
	} else {
		cls = DOH_MEM_CLASSES;
	}
	if (size > SIZE_MAX - sizeof(*h) || !(h = malloc(sizeof(*h) + size)))
		return NULL;
	h->cls = cls;
	h->size = size;
	return h + 1;
}

static void m_free(void *p, void *ud)
{
	struct doh_mem *m = ud;
	if (!p)
		return;
	struct hdr *h = hdr_of(p);
	if (h->cls < DOH_MEM_CLASSES && m->nfree[h->cls] < DOH_MEM_KEEP) {
		memcpy(p, &m->free_list[h->cls], sizeof(void *));
		m->free_list[h->cls] = p;
		m->nfree[h->cls]++;
		return;
	}
	free(h);
}

static void *m_calloc(size_t n, size_t size, void *ud)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = m_malloc(n * size, ud);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *m_realloc(void *p, size_t size, void *ud)
{
	if (!p)
		return m_malloc(size, ud);
	struct hdr *h = hdr_of(p);
	if (size <= h->size)
		return p;
	void *q = m_malloc(size, ud);
	if (!q)
		return NULL;
	memcpy(q, p, h->size);
	m_free(p, ud);
	return q;
}

void doh_mem_init(struct doh_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->mem.mem_user_data = m;
	m->mem.malloc = m_malloc;
	m->mem.free = m_free;
	m->mem.calloc = m_calloc;
	m->mem.realloc = m_realloc;
}

void doh_mem_fini(struct doh_mem *m)
{
	for (size_t c = 0; c < DOH_MEM_CLASSES; c++) {
		void *p = m->free_list[c];
		while (p) {
			void *next;
			memcpy(&next, p, sizeof(next));
			free(hdr_of(p));
			p = next;
		}
		m->free_list[c] = NULL;
		m->nfree[c] = 0;
	}
}
