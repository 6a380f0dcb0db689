#!/bin/sh
# t_man.sh -- the man pages as built name the configuration file this build
# uses: the path compiled into plinkfwd and plinkfwd-ctl (from --sysconfdir),
# with no placeholder of docs/*.in left.  No daemon, no network: it reads
# the built files and the binaries' --help.
B=${top_builddir:-.}
n=0
failed=0
check() { # DESC CMD...
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $n - $DESC"
	else
		echo "not ok $n - $DESC"
		failed=1
	fi
}

# the default the binaries print: "(default /usr/local/etc/plinkfwd/plinkfwd.conf)"
daemon_default=$("$B/plinkfwd" -h | sed -n 's/.*(default \([^)]*\)).*/\1/p' | head -n 1)
ctl_default=$("$B/plinkfwd-ctl" -h | sed -n 's/.*(default \([^)]*\)).*/\1/p' | head -n 1)
DESC="plinkfwd -h names its default config ($daemon_default)"
check test -n "$daemon_default"
DESC="plinkfwd-ctl has the same default"
check test "$daemon_default" = "$ctl_default"

for page in plinkfwd.8 plinkfwd.conf.5 plinkfwd-ctl.8; do
	f=$B/docs/$page
	DESC="$page is built"
	check test -s "$f"
	DESC="$page names $daemon_default"
	check grep -qF "$daemon_default" "$f"
	DESC="$page has no placeholder left"
	check sh -c '! grep -q "@[A-Za-z_][A-Za-z_]*@" "$1"' sh "$f"
	# a path other than the configured one would be what the admin tripped over
	DESC="$page names no other plinkfwd.conf directory"
	check sh -c '! grep -o "[^ (]*/plinkfwd/plinkfwd\.conf" "$1" | grep -vxF "$2"' sh "$f" "$daemon_default"
done
DESC="plinkfwd.8 carries the version"
check grep -q "^\.TH PLINKFWD 8 .*\"plinkfwd $("$B/plinkfwd" --version | sed 's/^plinkfwd //')\"" "$B/docs/plinkfwd.8"

echo "1..$n"
exit $failed
