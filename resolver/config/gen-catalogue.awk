# gen-catalogue.awk -- compile conf/privatelink-zones.tsv into the C tables
# declared in resolver/config/catalogue.h.
#
#   awk -f resolver/gen-catalogue.awk conf/privatelink-zones.tsv > resolver/catalogue_data.c
#
# Portable awk only (mawk, Debian's default, and gawk): no asort, no
# gensub, no arrays of arrays.  Anything unexpected in the table (an
# unknown cloud, a malformed zone name, a missing column, a cloud with no
# rows) stops the build: a catalogue that silently lost rows would send
# private names to the public resolver.

function fail(msg) {
	printf "%s:%d: %s\n", FILENAME, FNR, msg | "cat 1>&2"
	failed = 1
	exit 1
}

# Validate a lower-cased zone name without its trailing dot; sets
# is_placeholder.  A placeholder is a whole label "{word}".
function check_name(name,    n, i, lab, wirelen, labs) {
	is_placeholder = 0
	if (name == "")
		fail("empty private_dns_zone")
	n = split(name, labs, ".")
	wirelen = 1
	for (i = 1; i <= n; i++) {
		lab = labs[i]
		if (lab == "")
			fail("empty label in zone name '" name "'")
		if (length(lab) > 63)
			fail("label longer than 63 octets in '" name "'")
		wirelen += length(lab) + 1
		if (lab ~ /^[{][a-z0-9_]+[}]$/) {
			is_placeholder = 1
			continue
		}
		if (lab !~ /^[a-z0-9_-]+$/)
			fail("unexpected character in zone name '" name "'")
	}
	if (wirelen > 255)
		fail("zone name longer than 255 octets: '" name "'")
}

BEGIN {
	FS = "\t"
	failed = 0
	have_header = 0
	# TSV cloud column -> C identifier suffix, in output order.
	ncloud = 3
	cloud_tsv[1] = "AzureCloud";        cloud_c[1] = "azure"
	cloud_tsv[2] = "AzureUSGovernment"; cloud_c[2] = "usgov"
	cloud_tsv[3] = "AzureChinaCloud";   cloud_c[3] = "china"
	for (c = 1; c <= ncloud; c++) {
		cloud_idx[cloud_tsv[c]] = c
		count[c] = 0
	}
}

{ sub(/\r$/, "") }

/^#/ || /^[ \t]*$/ { next }

!have_header {
	col_cloud = 0
	col_zone = 0
	for (i = 1; i <= NF; i++) {
		if ($i == "cloud")
			col_cloud = i
		else if ($i == "private_dns_zone")
			col_zone = i
	}
	if (!col_cloud || !col_zone)
		fail("header line lacks the columns 'cloud' and 'private_dns_zone'")
	have_header = 1
	next
}

{
	if (NF < col_cloud || NF < col_zone)
		fail("row has " NF " fields, expected at least " (col_zone > col_cloud ? col_zone : col_cloud))
	if (!($col_cloud in cloud_idx))
		fail("unknown cloud '" $col_cloud "'")
	c = cloud_idx[$col_cloud]
	zone = tolower($col_zone)
	gsub(/^[ ]+|[ ]+$/, "", zone)
	sub(/\.$/, "", zone)
	check_name(zone)
	zone = zone "."
	if ((c, zone) in seen)
		next
	seen[c, zone] = 1
	# Insertion sort into names[c, 1..count[c]]: the tables are small
	# (about a hundred rows) and portable awk has no sort.
	n = ++count[c]
	while (n > 1 && names[c, n - 1] > zone) {
		names[c, n] = names[c, n - 1]
		ph[c, n] = ph[c, n - 1]
		n--
	}
	names[c, n] = zone
	ph[c, n] = is_placeholder
}

END {
	if (failed)
		exit 1
	if (!have_header) {
		printf "%s: no header line\n", FILENAME | "cat 1>&2"
		exit 1
	}
	for (c = 1; c <= ncloud; c++) {
		if (count[c] == 0) {
			printf "%s: no rows for cloud %s\n", FILENAME, cloud_tsv[c] | "cat 1>&2"
			exit 1
		}
	}
	print "/*"
	print " * catalogue_data.c -- the privatelink catalogue tables (see catalogue.h)."
	print " *"
	print " * Made at build time from conf/privatelink-zones.tsv by"
	print " * resolver/gen-catalogue.awk; change the table, not this file."
	print " */"
	print "#include \"catalogue.h\""
	for (c = 1; c <= ncloud; c++) {
		print ""
		printf "/* %s: %d zones */\n", cloud_tsv[c], count[c]
		printf "const struct catalogue_entry catalogue_%s[] = {\n", cloud_c[c]
		for (i = 1; i <= count[c]; i++)
			printf "\t{ \"%s\", %d },\n", names[c, i], ph[c, i]
		print "\t{ NULL, 0 }"
		print "};"
		printf "const size_t catalogue_%s_count = %d;\n", cloud_c[c], count[c]
	}
}
