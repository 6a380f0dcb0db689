/*
 * fuzz_zone.c -- libFuzzer target for zone file loading: the input is the
 * text of a zone file for "fuzz.test" (what `zone: fuzz.test` + `file:`
 * reads, and what ARM sync compiles), loaded with zone_load_text() as
 * zone_load_file() and arm_sync.c do.  A zone that loads is then asked
 * about its apex, a few fixed names and the owner names of its first lines
 * (fuzz_zone.h), and every answer is checked: a well-formed message that
 * echoes the question and fits the client's limit.  A zone that does not
 * load must say why.
 */
#include "fuzz.h"
#include "fuzz_zone.h"
#include "log.h"
#include "zone.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";

	if (size > 256 * 1024)
		return 0;
	char *text = fuzz_strdup(data, size);
	struct zone *z = zone_load_text("fuzz.test", text, "fuzz.test.zone", err, sizeof(err));
	if (!z) {
		FUZZ_ASSERT(err[0] != '\0');
		free(text);
		return 0;
	}
	FUZZ_ASSERT(zone_rr_count(z) >= 1); /* the SOA at least */
	fuzz_zone_probe(z, text);
	zone_unref(z);
	free(text);
	return 0;
}
