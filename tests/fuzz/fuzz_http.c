/*
 * fuzz_http.c -- libFuzzer target for HTTP requests to the metrics
 * listener: the input is what a client sends to http-listen (request line,
 * headers, maybe several pipelined requests), through a real loopback TCP
 * connection to http_new()'s evhttp server on the daemon's loop
 * (fuzz_daemon.h), so libevent's request parser, the method and size
 * limits and plinkfwd's /metrics, /healthz, /readyz and 404 handlers all
 * see it.
 *
 * Checked: whatever comes back starts with an HTTP status line (three
 * digits); /metrics answered 200 is Prometheus text (every line
 * a comment or "name[{labels}] value").
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "http.h"
#include "fuzz_daemon.h"

static struct http_server *hs;
static struct sockaddr_in addr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char listen[64];
	socklen_t al = sizeof(addr);

	fuzz_daemon_setup("http");
	/* a free port: the kernel's choice, released for http_new() */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &al) != 0)
		abort();
	close(fd);
	snprintf(listen, sizeof(listen), "127.0.0.1@%u", ntohs(addr.sin_port));
	hs = http_new(&fuzz_d, listen);
	if (!hs)
		abort();
	return 0;
}

/* Every non-comment line of a metrics body: a name, maybe labels, a value. */
static void check_metrics(const char *body)
{
	for (const char *l = body; *l; ) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (n > 0 && l[0] != '#') {
			if (!((l[0] >= 'a' && l[0] <= 'z') || l[0] == '_') || !memchr(l, ' ', n))
				fprintf(stderr, "metrics line: %.*s\n", (int)n, l);
			FUZZ_ASSERT((l[0] >= 'a' && l[0] <= 'z') || l[0] == '_');
			FUZZ_ASSERT(memchr(l, ' ', n) != NULL);
		}
		if (!e)
			break;
		l = e + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ans[4 << 20];

	if (size > 64 * 1024)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS))
		abort();
	size_t n = fuzz_daemon_talk(fd, data, size, ans, sizeof(ans), 0);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "answer (%zu bytes): %.*s\n", n, (int)(n > 2000 ? 2000 : n), ans);
	if (n == 0)
		return 0;
	FUZZ_ASSERT(strlen(ans) == n);
	/* a status line: "HTTP/", a version (evhttp echoes whatever numbers the
	 * request had: "HTTP/0.1", "HTTP/1.12", "HTTP/-1.1"), a blank, three
	 * digits */
	FUZZ_ASSERT(strncmp(ans, "HTTP/", 5) == 0);
	const char *p = ans + 5 + strcspn(ans + 5, " \r\n");
	FUZZ_ASSERT(p > ans + 5 && p[0] == ' ' && p[1] >= '1' && p[1] <= '5' && p[2] >= '0' && p[2] <= '9' &&
		    p[3] >= '0' && p[3] <= '9');
	char *hdr_end = strstr(ans, "\r\n\r\n");
	FUZZ_ASSERT(hdr_end != NULL);
	*hdr_end = '\0'; /* the first response's head */
	if (strncmp(p + 1, "200", 3) == 0 && strstr(ans, "version=0.0.4") != NULL) {
		char *body = hdr_end + 4;
		char *next = strstr(body, "HTTP/");
		if (next)
			*next = '\0';
		check_metrics(body);
	}
	return 0;
}
