/*
 * replay_main.c -- run a fuzz target over the files named on the command
 * line (its corpus and crash reproducers), without libFuzzer.  Linked with
 * each tests/fuzz/fuzz_*.c into tests/fuzz/replay_*; tests/fuzz/replay.sh
 * runs it under `make check`.
 *
 * After each file it prints "ok FILE" (or "not ok FILE: why" for a file it
 * cannot read) and flushes, so that when a file crashes the program the
 * first file without a line names the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The whole file in a buffer of its own size (so that ASan sees a read
 * past the end, as under libFuzzer); NULL when it cannot be read. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	/* an exact-size copy */
	uint8_t *exact = malloc(n ? n : 1);
	if (exact)
		memcpy(exact, buf, n);
	free(buf);
	*len = n;
	return exact;
}

int main(int argc, char **argv)
{
	int failed = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		size_t n = 0;
		uint8_t *buf = slurp(argv[i], &n);
		if (!buf) {
			printf("not ok %s: cannot read\n", argv[i]);
			fflush(stdout);
			failed++;
			continue;
		}
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
		printf("ok %s\n", argv[i]);
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
