/*
 * fuzz_query.c -- libFuzzer target for the query path.
 *
 * Every input is handed to query_handle() as a UDP query and as a TCP query
 * against a snapshot with a local zone (wildcard, CNAME chain, many records)
 * and forwarding groups without servers, so the whole path from parsing to
 * answer building runs without any network traffic.  Built with clang by
 * `make fuzz`; tests/fuzz/replay_main.c replays the corpus under `make check`.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "daemon.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "upstream.h"
#include "wire.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char zone_text[] =
	"$TTL 300\n"
	"@ IN SOA ns.fuzz.test. host.fuzz.test. 1 3600 300 86400 60\n"
	"@ IN NS ns.fuzz.test.\n"
	"a IN A 10.0.0.1\n"
	"a IN AAAA fd00::1\n"
	"c IN CNAME a\n"
	"d IN CNAME c\n"
	"out IN CNAME elsewhere.example.\n"
	"*.w IN A 10.0.0.2\n"
	"t IN TXT \"hello\" \"world\"\n"
	"deep.ent.x IN A 10.0.0.3\n";

/* The harness's state lives for the whole process: libFuzzer calls the
 * target millions of times and nothing here is per-input. */
static struct worker fuzz_worker;
static struct daemon fuzz_daemon;

static void setup(void)
{
	char dir[] = "/tmp/plinkfwd-fuzz-XXXXXX";
	char zpath[256], cpath[256], err[512];
	if (!mkdtemp(dir))
		abort();
	snprintf(zpath, sizeof(zpath), "%s/fuzz.test.zone", dir);
	snprintf(cpath, sizeof(cpath), "%s/fuzz.conf", dir);
	FILE *f = fopen(zpath, "w");
	fputs(zone_text, f);
	fclose(f);
	f = fopen(cpath, "w");
	fprintf(f, "server:\n  listen: 127.0.0.1@53535\n  allow: 0.0.0.0/0\n  allow: ::/0\n"
		   "zone: fuzz.test\n  file: %s\n  fallback: public\n"
		   "forward: fwd.test\n  to: default\n", zpath);
	fclose(f);
	struct snapshot *s = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "fuzz setup: %s\n", err);
		abort();
	}
	unlink(zpath);
	unlink(cpath);
	rmdir(dir);
	log_set_level(LOG_LVL_ERR);
	memset(&fuzz_daemon, 0, sizeof(fuzz_daemon));
	pthread_mutex_init(&fuzz_daemon.lock, NULL);
	fuzz_daemon.current = s;
	atomic_init(&fuzz_daemon.generation, 1);
	fuzz_worker.d = &fuzz_daemon;
	fuzz_worker.snap = s;
	fuzz_worker.gen = 1;
	fuzz_worker.base = event_base_new();
	/* no listener: every forward fails with "no server" before sending */
	fuzz_worker.up = upstream_new(fuzz_worker.base, 16, query_upstream_done, &fuzz_worker);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[WIRE_MAX_MSG];
	struct client cl;
	int fwd;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cl.addr;

	if (size > WIRE_MAX_MSG)
		return 0;
	memset(&cl, 0, sizeof(cl));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000001);
	cl.addrlen = sizeof(*sin);
	cl.transport = CLIENT_UDP;
	cl.fd = -1;
	size_t n = query_handle(&fuzz_worker, data, size, &cl, out, 4096, &fwd);
	if (n > 4096 || (n > 0 && n < WIRE_HDR_LEN))
		abort();
	if (n >= WIRE_HDR_LEN && !(wire_get16(out + 2) & WIRE_QR))
		abort(); /* every answer we send is a response */
	cl.transport = CLIENT_TCP;
	n = query_handle(&fuzz_worker, data, size, &cl, out, sizeof(out), &fwd);
	if (n > sizeof(out))
		abort();
	return 0;
}
