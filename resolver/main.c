/*
 * main.c -- command line, daemonizing, signals and the main loop.
 *
 * The main thread owns the daemon object and runs an event loop for
 * signals (SIGHUP reload, SIGTERM/SIGINT stop, SIGUSR1 ARM sync, SIGUSR2
 * query log reopen), ARM sync, the control socket and the HTTP endpoint;
 * each worker thread serves queries on its own loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "arm_sync.h"
#include "cache.h"
#include "cfg_loop.h"
#include "clock.h"
#include "common.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "xfr_journal.h"
#include "xfr_notify.h"
#include "http.h"
#include "log.h"
#include "querylog.h"
#include "schema.h"
#include "snapshot.h"
#include "tls.h"
#include "worker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/plinkfwd/plinkfwd.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: plinkfwd [-f] [-t] [-c FILE]\n"
		"       plinkfwd --schema-markdown [DOC.md]\n"
		"  -c, --config FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		"  -f, --foreground   stay in the foreground, log to stderr\n"
		"  -t, --check        check the configuration and every zone it names, then exit\n"
		"  --schema-markdown  print the key table of every clause in Markdown; with DOC.md,\n"
		"                     print DOC.md with its generated tables brought up to date\n"
		"  -v, --version      print the version and exit\n"
		"  -h, --help         this text\n"
		"signals: HUP reload (and flush the cache), TERM/INT stop, USR1 sync ARM zones now,\n"
		"         USR2 reopen the query log\n");
}

static void check_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: reloading %s", d->cfgpath);
		daemon_reload(d);
		break;
	case SIGUSR1:
		if (d->arm) {
			log_info("SIGUSR1: syncing ARM zones now");
			arm_sync_trigger(d->arm, NULL);
		} else {
			log_info("SIGUSR1: no arm: clause configured, nothing to sync");
		}
		break;
	case SIGUSR2:
		if (d->qlog)
			querylog_reopen(d->qlog);
		else
			log_info("SIGUSR2: no query-log configured, nothing to reopen");
		break;
	case SIGTERM:
	case SIGINT:
		log_info("signal %d: shutting down", (int)sig);
		event_base_loopbreak(d->base);
		break;
	default:
		break;
	}
}

/*
 * Fork into the background.  The parent waits on a pipe until the child
 * says it is serving (or dies), so `plinkfwd -c X` exits non-zero when the
 * daemon could not start, as an init system or an admin expects.
 */
static int daemonize(int *ready_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char c;
		close(p[1]);
		ssize_t n = read(p[0], &c, 1);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return -1;
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	*ready_fd = p[1];
	return 0;
}

/*
 * Every forwarded query holds a socket (its own random source port), so
 * workers x max-pending plus TCP clients can exceed the usual 1024 file
 * limit.  Raise the soft limit as far as needed and allowed.
 */
static void raise_nofile(const struct cfg *cfg)
{
	struct rlimit rl;
	int workers = cfg->workers;
	rlim_t want = (rlim_t)workers * (rlim_t)(cfg->max_pending + cfg->tcp_max_conns + 64) + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("open file limit %llu is below the %llu that workers x max-pending may need",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

/* user: is looked up before anything is created for it: the control
 * socket and a new query log are given to that user. */
static int lookup_user(const char *name, long *uid, long *gid)
{
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		log_err("user: %s: %s", name, errno ? strerror(errno) : "no such user");
		return -1;
	}
	*uid = (long)pw->pw_uid;
	*gid = (long)pw->pw_gid;
	/* said now, before sockets and files are created for that user */
	if (geteuid() != 0 && (geteuid() != pw->pw_uid || getegid() != pw->pw_gid)) {
		log_err("user: %s: cannot switch to it: not started as root", name);
		return -1;
	}
	return 0;
}

/*
 * Become user: for good, after every socket is bound and before a single
 * query is served.  Failing to drop is fatal: an admin who wrote user:
 * does not want a daemon that quietly stays root.  Only the user's primary
 * group is kept (no supplementary groups).
 */
static int drop_privileges(const char *name, uid_t uid, gid_t gid)
{
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
		return 0; /* started as that user already (e.g. systemd User=) */
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		log_err("user: %s: cannot switch to uid %ld gid %ld: %s", name, (long)uid, (long)gid,
			strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("user: %s: root privileges could be regained after the switch", name);
		return -1;
	}
	log_info("running as user %s (uid %ld, gid %ld)", name, (long)uid, (long)gid);
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		log_err("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

/*
 * --schema-markdown: the key tables of the configuration, generated from the
 * schema (schema.h); with a Markdown file, that file with its generated
 * sections replaced (make config-doc writes docs/ with it).
 */
static int schema_markdown(const char *doc)
{
	char err[256] = "", *text = NULL, *out = NULL;
	size_t len = 0;
	FILE *f;

	if (doc == NULL) {
		for (int c = 0; c < CFG_NCLAUSES; c++) {
			printf("<!-- schema: %s -->\n", cfg_clause_name((enum cfg_clause)c));
			cfg_schema_markdown(stdout, (enum cfg_clause)c);
			printf("<!-- /schema -->\n\n");
		}
		return 0;
	}
	f = fopen(doc, "r");
	if (f == NULL || getdelim(&text, &len, '\0', f) < 0) {
		fprintf(stderr, "%s: %s\n", doc, strerror(errno));
		if (f)
			fclose(f);
		free(text);
		return 1;
	}
	fclose(f);
	if (cfg_schema_doc_update(text, &out, err, sizeof(err)) != FWD_OK) {
		fprintf(stderr, "%s: %s\n", doc, err[0] ? err : "out of memory");
		free(text);
		return 1;
	}
	fputs(out, stdout);
	free(text);
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SCHEMA_MARKDOWN = 256 };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
		{"check", no_argument, NULL, 't'},        {"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},         {"schema-markdown", no_argument, NULL, OPT_SCHEMA_MARKDOWN},
		{NULL, 0, NULL, 0}};
	const char *cfgpath = DEFAULT_CONFIG;
	int foreground = 0, check = 0, schema = 0, c;
	char err[512] = "";

	while ((c = getopt_long(argc, argv, "c:fthv", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 'f': foreground = 1; break;
		case 't': check = 1; break;
		case 'v': printf("plinkfwd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case OPT_SCHEMA_MARKDOWN: schema = 1; break;
		default: usage(stderr); return 2;
		}
	}
	if (schema && argc - optind <= 1)
		return schema_markdown(optind < argc ? argv[optind] : NULL);
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	struct snapshot *snap = snapshot_build(cfgpath, NULL, 0, err, sizeof(err));
	if (!snap) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (tls_check(snap->cfg, err, sizeof(err)) != FWD_OK) {
		fprintf(stderr, "%s: %s\n", cfgpath, err);
		snapshot_unref(snap);
		return 1;
	}
	if (check) {
		/* loops the config shows (cfg_loop.h): warnings, not errors */
		cfg_loop_warnings(snap->cfg, check_warn, NULL);
		printf("%s: ok (%zu zones, %zu upstream groups)\n", cfgpath, snap->nzones,
		       snap->cfg->nupstreams);
		snapshot_unref(snap);
		return 0;
	}
	enum log_level lvl;
	if (log_level_parse(snap->cfg->log_level, &lvl) == FWD_OK)
		log_set_level(lvl);

	int ready_fd = -1;
	if (!foreground) {
		if (daemonize(&ready_fd) < 0) {
			fprintf(stderr, "plinkfwd: cannot daemonize: %s\n", strerror(errno));
			return 1;
		}
	}
	if (snap->cfg->use_syslog || !foreground)
		log_use_syslog(1, "plinkfwd");

	signal(SIGPIPE, SIG_IGN);
	/* libcurl's global state is set up once, before any thread exists */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	raise_nofile(snap->cfg);
	evthread_use_pthreads();

	struct daemon d;
	memset(&d, 0, sizeof(d));
	d.cfgpath = cfgpath;
	if (snapshot_pub_init(&d.pub) != FWD_OK) {
		log_err("cannot initialise the snapshot publisher");
		return 1;
	}
	snapshot_pub_publish(&d.pub, snap);
	d.started = time(NULL);
	d.clock = &fwd_clock_monotonic;
	d.base = event_base_new();
	int rc = 1;
	struct event *sigs[5] = {NULL};
	long run_uid = -1, run_gid = -1, own_uid = -1, own_gid = -1;
	if (!d.base) {
		log_err("cannot create the main event loop");
		goto out;
	}
	d.nworkers = snap->cfg->workers;
	d.workers = calloc((size_t)d.nworkers, sizeof(*d.workers));
	if (!d.workers)
		goto out;
	d.cache = cache_new(snap->cfg->cache_size, d.nworkers);
	if (!d.cache) {
		log_err("cannot allocate the answer cache");
		goto out;
	}
	/* certificates are read now, before user: takes effect */
	if (tls_store_new(&d.tls) != FWD_OK || tls_store_load(d.tls, snap->cfg, err, sizeof(err)) != FWD_OK) {
		log_err("%s", err[0] ? err : "out of memory");
		goto out;
	}
	if (xfr_journal_new(&d.journal) != FWD_OK) {
		log_err("cannot allocate the IXFR journal");
		goto out;
	}
	for (int i = 0; i < d.nworkers; i++) {
		enum fwd_err r = worker_init(&d.workers[i], i, &d.pub, d.cache, d.tls);
		if (r != 0) {
			log_err("worker %d: cannot start: %s", i, fwd_strerror(r));
			goto out;
		}
		d.workers[i].qe.journal = d.journal; /* outlives the workers: freed after them */
	}
	if (daemon_cookies_start(&d) != FWD_OK)
		goto out;
	if (daemon_loops_start(&d) != FWD_OK)
		goto out;
	/* saved copies of secondary zones serve from the first query on */
	if (daemon_xfr_start(&d) != FWD_OK)
		goto out;
	static const int signums[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < FWD_ARRAY_LEN(signums); i++) {
		sigs[i] = evsignal_new(d.base, signums[i], on_signal, &d);
		if (!sigs[i] || event_add(sigs[i], NULL) < 0)
			goto out;
	}
	if (snap->cfg->user && lookup_user(snap->cfg->user, &run_uid, &run_gid) < 0)
		goto out;
	if (run_uid >= 0 && ((uid_t)run_uid != geteuid() || (gid_t)run_gid != getegid())) {
		/* files created before the drop are handed to the user */
		own_uid = run_uid;
		own_gid = run_gid;
	}
	if (snap->cfg->query_log) {
		d.qlog = querylog_open(snap->cfg->query_log, own_uid, own_gid);
		if (!d.qlog)
			goto out;
		for (int i = 0; i < d.nworkers; i++)
			if (!(d.workers[i].qe.qlog = querylog_writer_new(d.qlog, d.workers[i].base, d.clock)))
				goto out;
	}
	if (snap->cfg->control_socket &&
	    !(d.control = control_new(&d, snap->cfg->control_socket, snap->cfg->control_socket_mode, own_uid,
				      own_gid)))
		goto out;
	if (snap->cfg->http_listen && !(d.http = http_new(&d, snap->cfg->http_listen)))
		goto out;
	if (snap->cfg->pidfile && write_pidfile(snap->cfg->pidfile) < 0)
		goto out;
	/* every socket is bound: the workers', the control socket, HTTP */
	if (snap->cfg->user && drop_privileges(snap->cfg->user, (uid_t)run_uid, (gid_t)run_gid) < 0)
		goto out;
	for (int i = 0; i < d.nworkers; i++)
		if (worker_start(&d.workers[i]) != 0) {
			log_err("worker %d: cannot create thread", i);
			goto out;
		}
	if (daemon_arm_apply(&d) != FWD_OK)
		goto out;
	if (daemon_notify_start(&d) != FWD_OK)
		goto out;
	daemon_loops_check(&d); /* the workers serve: a probe coming back is seen */
	/* snap belonged to d.pub from the publish on, and daemon_arm_apply()
	 * may have replaced it (zones from the state directory): a worker
	 * may already have dropped the last reference, so count the zones of
	 * the snapshot serving now, holding a reference of our own */
	struct snapshot *cur = snapshot_pub_acquire(&d.pub);
	log_info("plinkfwd %s serving with %d worker(s), %zu zone(s), config %s", PACKAGE_VERSION,
		 d.nworkers, cur ? cur->nzones : 0, cfgpath);
	snapshot_unref(cur);
	snap = NULL;
	if (ready_fd >= 0) {
		ssize_t w = write(ready_fd, "1", 1);
		(void)w;
		close(ready_fd);
		ready_fd = -1;
	}
	event_base_dispatch(d.base);
	rc = 0;
out:
	control_free(d.control);
	http_free(d.http);
	if (d.workers) {
		for (int i = 0; i < d.nworkers; i++)
			worker_stop(&d.workers[i]);
		for (int i = 0; i < d.nworkers; i++)
			querylog_writer_free(d.workers[i].qe.qlog); /* flushes what the worker left */
		for (int i = 0; i < d.nworkers; i++)
			if (d.workers[i].base)
				worker_destroy(&d.workers[i]);
		free(d.workers);
	}
	querylog_free(d.qlog);
	daemon_cookies_stop(&d);
	cache_free(d.cache); /* every worker has stopped */
	daemon_loops_stop(&d);
	daemon_xfr_stop(&d); /* after the workers: they call its NOTIFY hook */
	tls_store_free(d.tls);
	if (d.arm)
		arm_sync_free(d.arm);
	xfr_notify_free(d.notify);
	xfr_journal_free(d.journal); /* every worker has stopped */
	for (size_t i = 0; i < FWD_ARRAY_LEN(sigs); i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (d.base)
		event_base_free(d.base);
	if (d.pub.current->cfg->pidfile && rc == 0)
		unlink(d.pub.current->cfg->pidfile);
	snapshot_pub_fini(&d.pub);
	curl_global_cleanup();
	libevent_global_shutdown();
	return rc;
}
