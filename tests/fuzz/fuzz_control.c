/*
 * fuzz_control.c -- libFuzzer target for control-socket requests: the
 * input is what a client writes to the control socket (control.c: one
 * request line of at most 4095 bytes, then the daemon answers and closes).
 * It goes through the real socket: control_new() on a scratch path, served
 * on the daemon's loop; each input is one connection that writes the input,
 * says EOF and reads the answer (fuzz_daemon.h).  The daemon has a zone, a
 * forward rule, groups and a cache with entries, so status, stats, zones,
 * flush, explain and reload all have something to work on.
 *
 * Checked: the daemon answers at most once, with one line holding a JSON
 * object whose "ok" is a boolean and which has "error" when it is false;
 * an answer comes whenever the input holds a newline or is too long to be
 * a request.
 */
#include <sys/un.h>

#include <cjson/cJSON.h>

#include "control.h"
#include "fuzz_daemon.h"

#define CTL_LINE_MAX 4096 /* control.c */

static struct control *ctl;
static struct sockaddr_un sun;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_daemon_setup("control");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(fuzz_dir) + sizeof("/ctl.sock") > sizeof(sun.sun_path))
		abort();
	memcpy(sun.sun_path, fuzz_dir, strlen(fuzz_dir));
	strcat(sun.sun_path, "/ctl.sock");
	ctl = control_new(&fuzz_d, sun.sun_path, 0600, -1, -1);
	if (!ctl)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ans[1 << 20];

	if (size > 64 * 1024)
		return 0;
	fuzz_daemon_cache_put("www.example.com");
	fuzz_daemon_cache_put("acct.openai.azure.com");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		abort();
	size_t n = fuzz_daemon_talk(fd, data, size, ans, sizeof(ans), 1);
	const uint8_t *nl = memchr(data, '\n', size);
	if ((nl && (size_t)(nl - data) < CTL_LINE_MAX) || size >= CTL_LINE_MAX)
		FUZZ_ASSERT(n > 0);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "answer (%zu bytes): %.*s\n", n, (int)(n > 2000 ? 2000 : n), ans);
	if (n == 0)
		return 0;
	char *end = strchr(ans, '\n');
	FUZZ_ASSERT(end != NULL && (size_t)(end - ans) == n - 1 && strlen(ans) == n);
	*end = '\0';
	cJSON *o = cJSON_Parse(ans);
	FUZZ_ASSERT(cJSON_IsObject(o));
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	FUZZ_ASSERT(cJSON_IsBool(ok));
	if (cJSON_IsFalse(ok))
		FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error")));
	cJSON_Delete(o);
	return 0;
}
