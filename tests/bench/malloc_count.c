/*
 * malloc_count.c -- an LD_PRELOAD library for the benchmarks: counts every
 * allocation the process makes (malloc, calloc, realloc, posix_memalign,
 * aligned_alloc, memalign) in a shared counter, so that enc.sh can report
 * allocations per answer on an open connection from outside the process.
 *
 *   cc -shared -fPIC -O2 -o malloc_count.so malloc_count.c
 *   PLINKFWD_MALLOC_COUNT=/tmp/n LD_PRELOAD=./malloc_count.so plinkfwd ...
 *   od -An -tu8 -N8 /tmp/n       # allocations so far
 *
 * The counter is the first 8 bytes of the file PLINKFWD_MALLOC_COUNT names,
 * mapped shared: the benchmark reads it before and after a run without
 * signalling the process.  Allocations before the constructor ran (the
 * dynamic loader's own) are not counted.  free() is glibc's own.
 *
 * Not part of plinkfwd: a measuring tool, built by enc.sh when it runs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

/* the mapped counter; NULL until the constructor mapped it (then nothing is
 * counted).  A preloaded tool's one piece of state. */
static uint64_t *count;

__attribute__((constructor)) static void count_init(void)
{
	const char *path = getenv("PLINKFWD_MALLOC_COUNT");
	if (!path)
		return;
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return;
	if (ftruncate(fd, sizeof(uint64_t)) == 0) {
		void *m = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED)
			count = m;
	}
	close(fd);
}

static void bump(void)
{
	if (count)
		__atomic_fetch_add(count, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	bump();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	bump();
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	bump();
	return __libc_realloc(p, n);
}

void *memalign(size_t a, size_t n)
{
	bump();
	return __libc_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	bump();
	return __libc_memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
	void *p;
	bump();
	p = __libc_memalign(a, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}
