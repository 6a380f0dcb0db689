# gen-page.awk -- resolver/ops/status_page.html as a C string (status_page.h):
# every line escaped (backslash, double quote) and ended with \n.
BEGIN {
	print "/* generated from resolver/ops/status_page.html by resolver/ops/gen-page.awk */"
	print "#include \"status_page.h\""
	print "const char status_page_html[] ="
}
{
	gsub(/\\/, "\\\\")
	gsub(/"/, "\\\"")
	print "\t\"" $0 "\\n\""
}
END {
	print "\t;"
	print "const size_t status_page_html_len = sizeof(status_page_html) - 1;"
}
