# gen-pe-catalogue.awk -- the (public zone, private zone) pairs of
# conf/privatelink-zones.tsv as the C table declared in
# resolver/arm/arm_pe_map.h: a private endpoint's FQDN is mapped to its
# Private Link zone through them.
#
#   awk -f resolver/arm/gen-pe-catalogue.awk conf/privatelink-zones.tsv > resolver/arm_pe_catalogue.c
#
# The zone names are checked by resolver/config/gen-catalogue.awk, which
# reads the same table in the same build; here a row with a public column
# that is empty or not a name is skipped (that zone then has no public
# spelling to map from).  Portable awk only (mawk and gawk).

BEGIN {
	FS = "\t"
	have_header = 0
	n = 0
	cloud_c["AzureCloud"] = "CLOUD_AZURE"
	cloud_c["AzureUSGovernment"] = "CLOUD_USGOV"
	cloud_c["AzureChinaCloud"] = "CLOUD_CHINA"
}

{ sub(/\r$/, "") }

/^#/ || /^[ \t]*$/ { next }

!have_header {
	for (i = 1; i <= NF; i++) {
		if ($i == "cloud") col_cloud = i
		else if ($i == "private_dns_zone") col_zone = i
		else if ($i == "public_dns_forwarder_zone") col_pub = i
	}
	if (!col_cloud || !col_zone || !col_pub) {
		printf "%s:%d: header lacks cloud, private_dns_zone or public_dns_forwarder_zone\n", FILENAME, FNR | "cat 1>&2"
		exit 1
	}
	have_header = 1
	next
}

{
	if (!($col_cloud in cloud_c))
		next
	zone = tolower($col_zone)
	gsub(/^[ ]+|[ ]+$/, "", zone)
	sub(/\.$/, "", zone)
	np = split(tolower($col_pub), pubs, ",")
	for (k = 1; k <= np; k++) {
		pub = pubs[k]
		gsub(/^[ ]+|[ ]+$/, "", pub)
		sub(/\.$/, "", pub)
		if (pub !~ /^([a-z0-9_-]+|[{][a-z0-9_]+[}])(\.([a-z0-9_-]+|[{][a-z0-9_]+[}]))*$/)
			continue
		key = $col_cloud SUBSEP zone SUBSEP pub
		if (key in seen)
			continue
		seen[key] = 1
		n++
		rows[n] = sprintf("\t{ %s, \"%s\", \"%s\" },", cloud_c[$col_cloud], zone, pub)
	}
}

END {
	if (!have_header)
		exit 1
	print "/*"
	print " * arm_pe_catalogue.c -- (public zone, private zone) pairs of the privatelink"
	print " * catalogue, for mapping private endpoint FQDNs (see arm_pe_map.h)."
	print " *"
	print " * Made at build time from conf/privatelink-zones.tsv by"
	print " * resolver/arm/gen-pe-catalogue.awk; change the table, not this file."
	print " */"
	print "#include \"arm_pe_map.h\""
	print "#include \"cloud.h\""
	print ""
	print "const struct arm_pe_pair arm_pe_pairs[] = {"
	for (i = 1; i <= n; i++)
		print rows[i]
	print "\t{ 0, NULL, NULL }"
	print "};"
	printf "const size_t arm_pe_pairs_count = %d;\n", n
}
