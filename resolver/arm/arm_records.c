/*
 * arm_records.c -- ARM record set JSON to zone file text, one function per
 * record type.
 *
 * Target names (CNAME, MX exchange, PTR, SRV target, SOA host and email)
 * are absolute in Azure DNS even when written without the final dot
 * ("contoso.com"), so a dot is added; owner names are relative to the zone.
 */
#include "arm_records.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "log.h"

/* ---------------------------------------------------------------- buffer */

static int arm_buf_reserve(struct arm_buf *b, size_t more)
{
	size_t want;
	char *np;

	if (b->oom)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	want = b->cap ? b->cap : 4096;
	while (want < b->len + more + 1) {
		if (want > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		want *= 2;
	}
	np = realloc(b->p, want);
	if (np == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = want;
	return 0;
}

void arm_buf_add(struct arm_buf *b, const char *s, size_t n)
{
	if (arm_buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void arm_buf_puts(struct arm_buf *b, const char *s)
{
	arm_buf_add(b, s, strlen(s));
}

void arm_buf_printf(struct arm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || arm_buf_reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void arm_buf_free(struct arm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------------- helpers */

int arm_json_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	/* Case-insensitive on purpose: see the header. */
	const cJSON *it = cJSON_GetObjectItem(obj, key);
	int64_t v;

	if (it == NULL)
		return FWD_EPARSE;
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
			return FWD_EPARSE;
		v = (int64_t)d;
	} else if (cJSON_IsString(it) && it->valuestring[0] != '\0') {
		char *end;
		long long ll;
		errno = 0;
		ll = strtoll(it->valuestring, &end, 10);
		if (errno != 0 || *end != '\0')
			return FWD_EPARSE;
		v = (int64_t)ll;
	} else
		return FWD_EPARSE;
	if (v < lo || v > hi)
		return FWD_EPARSE;
	*out = v;
	return 0;
}

static const char *arm_json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItem(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int arm_records_name(struct arm_buf *out, const char *s, int absolute)
{
	size_t n = strlen(s);

	if (n == 0)
		return FWD_EPARSE;
	if (absolute && strcmp(s, ".") == 0) {
		arm_buf_puts(out, ".");
		return 0;
	}
	if (s[0] == '.' || strstr(s, "..") != NULL || (!absolute && s[n - 1] == '.'))
		return FWD_EPARSE;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[5];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '*' || c == '.') {
			arm_buf_add(out, (const char *)p, 1);
			continue;
		}
		snprintf(esc, sizeof(esc), "\\%03u", c);
		arm_buf_add(out, esc, 4);
	}
	if (absolute && s[n - 1] != '.')
		arm_buf_puts(out, ".");
	return 0;
}

/* One <character-string>, quoted, with '"' and '\' escaped and bytes
 * outside printable ASCII as \DDD. */
static void arm_records_qstring(struct arm_buf *out, const char *s, size_t n)
{
	arm_buf_puts(out, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			arm_buf_add(out, esc, 2);
		} else if (c < 0x20 || c > 0x7e) {
			snprintf(esc, sizeof(esc), "\\%03u", c);
			arm_buf_add(out, esc, 4);
		} else
			arm_buf_add(out, (const char *)&s[i], 1);
	}
	arm_buf_puts(out, "\"");
}

/* Line prefix "<owner>\t<ttl>\tIN\t<TYPE>\t". */
static int arm_records_head(struct arm_buf *out, const char *owner, int64_t ttl, const char *type)
{
	if (strcmp(owner, "@") == 0)
		arm_buf_puts(out, "@");
	else if (arm_records_name(out, owner, 0) < 0)
		return FWD_EPARSE;
	arm_buf_printf(out, "\t%lld\tIN\t%s\t", (long long)ttl, type);
	return 0;
}

/* The array payload named key: 0 with *arr NULL when absent or null (an
 * empty record set), FWD_EPARSE (with err) when it is not an array. */
static int arm_records_array(const cJSON *props, const char *key, const char *owner,
			     const cJSON **arr, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItem(props, key);

	*arr = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsArray(it)) {
		fwd_errf(err, errlen, "record set '%s': %s is not an array", owner, key);
		return FWD_EPARSE;
	}
	*arr = it;
	return 0;
}

/* ---------------------------------------------------------------- per type */

static int arm_records_a(const cJSON *props, const char *owner, int64_t ttl, int v6,
			 struct arm_buf *out, char *err, size_t errlen)
{
	const char *akey = v6 ? "aaaaRecords" : "aRecords";
	const char *fkey = v6 ? "ipv6Address" : "ipv4Address";
	const cJSON *arr, *it;
	int rc = arm_records_array(props, akey, owner, &arr, err, errlen);
	unsigned char bin[16];
	char txt[INET6_ADDRSTRLEN];

	if (arr == NULL)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		const char *ip = arm_json_str(it, fkey);
		if (ip == NULL || inet_pton(v6 ? AF_INET6 : AF_INET, ip, bin) != 1) {
			fwd_errf(err, errlen, "record set '%s': bad %s '%s'", owner, fkey,
				     ip ? ip : "(missing)");
			return FWD_EPARSE;
		}
		/* Re-print so the text is canonical whatever ARM sent. */
		inet_ntop(v6 ? AF_INET6 : AF_INET, bin, txt, sizeof(txt));
		if (arm_records_head(out, owner, ttl, v6 ? "AAAA" : "A") < 0)
			goto badname;
		arm_buf_printf(out, "%s\n", txt);
	}
	return 0;
badname:
	fwd_errf(err, errlen, "record set '%s': bad owner name", owner);
	return FWD_EPARSE;
}

static int arm_records_cname(const cJSON *props, const char *owner, int64_t ttl,
			     struct arm_buf *out, char *err, size_t errlen)
{
	const cJSON *rec = cJSON_GetObjectItem(props, "cnameRecord");
	const char *target;

	if (rec == NULL || cJSON_IsNull(rec))
		return 0;
	target = arm_json_str(rec, "cname");
	if (target == NULL || arm_records_head(out, owner, ttl, "CNAME") < 0 ||
	    arm_records_name(out, target, 1) < 0) {
		fwd_errf(err, errlen, "record set '%s': bad cnameRecord", owner);
		return FWD_EPARSE;
	}
	arm_buf_puts(out, "\n");
	return 0;
}

static int arm_records_mx(const cJSON *props, const char *owner, int64_t ttl, struct arm_buf *out,
			  char *err, size_t errlen)
{
	const cJSON *arr, *it;
	int rc = arm_records_array(props, "mxRecords", owner, &arr, err, errlen);

	if (arr == NULL)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		int64_t pref;
		const char *ex = arm_json_str(it, "exchange");
		if (arm_json_int(it, "preference", 0, 65535, &pref) < 0 || ex == NULL ||
		    arm_records_head(out, owner, ttl, "MX") < 0)
			goto bad;
		arm_buf_printf(out, "%lld ", (long long)pref);
		if (arm_records_name(out, ex, 1) < 0)
			goto bad;
		arm_buf_puts(out, "\n");
	}
	return 0;
bad:
	fwd_errf(err, errlen, "record set '%s': bad mxRecords entry", owner);
	return FWD_EPARSE;
}

static int arm_records_ptr(const cJSON *props, const char *owner, int64_t ttl,
			   struct arm_buf *out, char *err, size_t errlen)
{
	const cJSON *arr, *it;
	int rc = arm_records_array(props, "ptrRecords", owner, &arr, err, errlen);

	if (arr == NULL)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		const char *target = arm_json_str(it, "ptrdname");
		if (target == NULL || arm_records_head(out, owner, ttl, "PTR") < 0 ||
		    arm_records_name(out, target, 1) < 0) {
			fwd_errf(err, errlen, "record set '%s': bad ptrRecords entry", owner);
			return FWD_EPARSE;
		}
		arm_buf_puts(out, "\n");
	}
	return 0;
}

static int arm_records_srv(const cJSON *props, const char *owner, int64_t ttl,
			   struct arm_buf *out, char *err, size_t errlen)
{
	const cJSON *arr, *it;
	int rc = arm_records_array(props, "srvRecords", owner, &arr, err, errlen);

	if (arr == NULL)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		int64_t prio, weight, port;
		const char *target = arm_json_str(it, "target");
		if (arm_json_int(it, "priority", 0, 65535, &prio) < 0 ||
		    arm_json_int(it, "weight", 0, 65535, &weight) < 0 ||
		    arm_json_int(it, "port", 0, 65535, &port) < 0 || target == NULL ||
		    arm_records_head(out, owner, ttl, "SRV") < 0)
			goto bad;
		arm_buf_printf(out, "%lld %lld %lld ", (long long)prio, (long long)weight,
			       (long long)port);
		if (arm_records_name(out, target, 1) < 0)
			goto bad;
		arm_buf_puts(out, "\n");
	}
	return 0;
bad:
	fwd_errf(err, errlen, "record set '%s': bad srvRecords entry", owner);
	return FWD_EPARSE;
}

static int arm_records_txt(const cJSON *props, const char *owner, int64_t ttl,
			   struct arm_buf *out, char *err, size_t errlen)
{
	const cJSON *arr, *it;
	int rc = arm_records_array(props, "txtRecords", owner, &arr, err, errlen);

	if (arr == NULL)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *val = cJSON_GetObjectItem(it, "value"), *s;
		int nstr = 0;
		if (!cJSON_IsArray(val) || arm_records_head(out, owner, ttl, "TXT") < 0) {
			fwd_errf(err, errlen, "record set '%s': bad txtRecords entry", owner);
			return FWD_EPARSE;
		}
		cJSON_ArrayForEach(s, val)
		{
			size_t n, off = 0;
			if (!cJSON_IsString(s)) {
				fwd_errf(err, errlen, "record set '%s': TXT value is not a string",
					     owner);
				return FWD_EPARSE;
			}
			n = strlen(s->valuestring);
			/* A <character-string> holds 255 bytes; longer values are
			 * split the way Azure DNS documents for TXT records. */
			do {
				size_t chunk = n - off > 255 ? 255 : n - off;
				if (nstr++ > 0)
					arm_buf_puts(out, " ");
				arm_records_qstring(out, s->valuestring + off, chunk);
				off += chunk;
			} while (off < n);
		}
		if (nstr == 0)
			arm_buf_puts(out, "\"\"");
		arm_buf_puts(out, "\n");
	}
	return 0;
}

static int arm_records_soa(const cJSON *props, const char *owner, int64_t ttl,
			   struct arm_buf *out, char *err, size_t errlen)
{
	const cJSON *rec = cJSON_GetObjectItem(props, "soaRecord");
	const char *host, *email;
	int64_t serial, refresh, retry, expire, minimum;

	if (rec == NULL || cJSON_IsNull(rec))
		return 0;
	host = arm_json_str(rec, "host");
	email = arm_json_str(rec, "email");
	if (strcmp(owner, "@") != 0) {
		fwd_errf(err, errlen, "SOA record set '%s' is not at the apex", owner);
		return FWD_EPARSE;
	}
	if (host == NULL || email == NULL ||
	    arm_json_int(rec, "serialNumber", 0, UINT32_MAX, &serial) < 0 ||
	    arm_json_int(rec, "refreshTime", 0, UINT32_MAX, &refresh) < 0 ||
	    arm_json_int(rec, "retryTime", 0, UINT32_MAX, &retry) < 0 ||
	    arm_json_int(rec, "expireTime", 0, UINT32_MAX, &expire) < 0 ||
	    arm_json_int(rec, "minimumTtl", 0, UINT32_MAX, &minimum) < 0 ||
	    arm_records_head(out, owner, ttl, "SOA") < 0 || arm_records_name(out, host, 1) < 0)
		goto bad;
	arm_buf_puts(out, " ");
	if (arm_records_name(out, email, 1) < 0)
		goto bad;
	arm_buf_printf(out, " %lld %lld %lld %lld %lld\n", (long long)serial, (long long)refresh,
		       (long long)retry, (long long)expire, (long long)minimum);
	return 0;
bad:
	fwd_errf(err, errlen, "record set '%s': bad soaRecord", owner);
	return FWD_EPARSE;
}

/* ---------------------------------------------------------------- public */

static const struct {
	const char *name;
	uint16_t type;
} arm_records_types[] = {
	{"A", ARM_RR_A},     {"AAAA", ARM_RR_AAAA}, {"CNAME", ARM_RR_CNAME}, {"MX", ARM_RR_MX},
	{"PTR", ARM_RR_PTR}, {"SOA", ARM_RR_SOA},   {"SRV", ARM_RR_SRV},     {"TXT", ARM_RR_TXT},
};

static int arm_records_type_word(const char *w, size_t n, uint16_t *type)
{
	for (size_t i = 0; i < FWD_ARRAY_LEN(arm_records_types); i++) {
		if (strlen(arm_records_types[i].name) == n &&
		    strncasecmp(arm_records_types[i].name, w, n) == 0) {
			*type = arm_records_types[i].type;
			return 0;
		}
	}
	return FWD_ENOENT;
}

int arm_records_type(const cJSON *rs, uint16_t *type)
{
	const char *t = arm_json_str(rs, "type");
	const char *id, *p, *q;
	static const char zones[] = "/privateDnsZones/";

	if (t != NULL) {
		const char *slash = strrchr(t, '/');
		/* "Microsoft.Network/privateDnsZones/A": the zone type itself has
		 * only one slash, a record set type has two. */
		if (slash != NULL && slash != strchr(t, '/'))
			return arm_records_type_word(slash + 1, strlen(slash + 1), type);
	}
	/* id: .../privateDnsZones/<zone>/<TYPE>/<name> */
	id = arm_json_str(rs, "id");
	if (id == NULL || (p = strcasestr(id, zones)) == NULL)
		return FWD_EPARSE;
	p += sizeof(zones) - 1;
	if ((p = strchr(p, '/')) == NULL)
		return FWD_EPARSE;
	p++;
	if ((q = strchr(p, '/')) == NULL)
		return FWD_EPARSE;
	return arm_records_type_word(p, (size_t)(q - p), type);
}

int arm_records_rrset(const cJSON *rs, struct arm_buf *out, char *err, size_t errlen)
{
	const cJSON *props;
	const char *owner;
	uint16_t type;
	int64_t ttl;
	int rc;

	if (!cJSON_IsObject(rs)) {
		fwd_errf(err, errlen, "record set is not a JSON object");
		return FWD_EPARSE;
	}
	owner = arm_json_str(rs, "name");
	if (owner == NULL || owner[0] == '\0') {
		fwd_errf(err, errlen, "record set without a name");
		return FWD_EPARSE;
	}
	rc = arm_records_type(rs, &type);
	if (rc == FWD_EPARSE) {
		fwd_errf(err, errlen, "record set '%s': no record type in type or id", owner);
		return rc;
	}
	if (rc < 0)
		return rc;
	props = cJSON_GetObjectItem(rs, "properties");
	if (!cJSON_IsObject(props)) {
		fwd_errf(err, errlen, "record set '%s': no properties object", owner);
		return FWD_EPARSE;
	}
	/* RFC 2181 section 8: a TTL is 0 .. 2^31-1. */
	if (arm_json_int(props, "ttl", 0, INT32_MAX, &ttl) < 0) {
		fwd_errf(err, errlen, "record set '%s': missing or bad ttl", owner);
		return FWD_EPARSE;
	}
	switch (type) {
	case ARM_RR_A:
		rc = arm_records_a(props, owner, ttl, 0, out, err, errlen);
		break;
	case ARM_RR_AAAA:
		rc = arm_records_a(props, owner, ttl, 1, out, err, errlen);
		break;
	case ARM_RR_CNAME:
		rc = arm_records_cname(props, owner, ttl, out, err, errlen);
		break;
	case ARM_RR_MX:
		rc = arm_records_mx(props, owner, ttl, out, err, errlen);
		break;
	case ARM_RR_PTR:
		rc = arm_records_ptr(props, owner, ttl, out, err, errlen);
		break;
	case ARM_RR_SRV:
		rc = arm_records_srv(props, owner, ttl, out, err, errlen);
		break;
	case ARM_RR_TXT:
		rc = arm_records_txt(props, owner, ttl, out, err, errlen);
		break;
	case ARM_RR_SOA:
		rc = arm_records_soa(props, owner, ttl, out, err, errlen);
		break;
	default:
		return FWD_ENOENT;
	}
	if (rc == 0 && out->oom)
		return FWD_ENOMEM;
	return rc;
}

void arm_records_soa_default(struct arm_buf *out)
{
	/* The values Azure puts in every new private zone (SDK recordings). */
	arm_buf_puts(out, ARM_ID_COMMENT "(none: no SOA record set in ARM; Azure's default SOA)\n");
	arm_buf_puts(out, "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-host.microsoft.com. "
			  "1 3600 300 2419200 10\n");
}

/* ---------------------------------------------------------------- zones */

static const char *arm_type_name(uint16_t type)
{
	for (size_t i = 0; i < FWD_ARRAY_LEN(arm_records_types); i++)
		if (arm_records_types[i].type == type)
			return arm_records_types[i].name;
	return "?";
}

/* The "; arm-id" line of record set rs (see ARM_ID_COMMENT). */
/* Append s[0..n) with bytes outside printable ASCII as '?': text that
 * goes into a comment line must not be able to end it. */
static void arm_buf_add_printable(struct arm_buf *out, const char *s, size_t n)
{
	/* ARM ids are a few hundred bytes; a runaway one is cut, not copied */
	if (n > 2048)
		n = 2048;
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
		arm_buf_add(out, &c, 1);
	}
}

/*
 * The "; arm-id" line of record set rs (see ARM_ID_COMMENT), in the short
 * form "; arm-id @/A/www" when the id is the zone's id (source) plus a
 * suffix.  While a round lists many zones at once (round robin over their
 * pages) every zone's text is held; the full ids would multiply that
 * memory several times.  arm_records_zone_text() writes them out in full,
 * one zone at a time.  ARM ids are case-insensitive, so the prefix is
 * matched without regard to case and written as the zone list spelled it.
 */
static void arm_records_id_comment(struct arm_buf *out, const cJSON *rs, const char *source,
				   uint16_t type)
{
	const char *id = arm_json_str(rs, "id");
	const char *name = arm_json_str(rs, "name");
	size_t sl = source ? strlen(source) : 0;

	if (id != NULL && id[0] != '\0') {
		arm_buf_puts(out, ARM_ID_COMMENT);
		if (sl > 0 && strncasecmp(id, source, sl) == 0 && id[sl] == '/') {
			arm_buf_puts(out, "@");
			id += sl;
		}
		arm_buf_add_printable(out, id, strlen(id));
	} else if (sl > 0 && name != NULL) {
		/* no id from ARM: the shape ARM gives record set ids */
		arm_buf_printf(out, ARM_ID_COMMENT "@/%s/", arm_type_name(type));
		arm_buf_add_printable(out, name, strlen(name));
	} else {
		return;
	}
	arm_buf_puts(out, "\n");
}

/* Copy one record set's text (hdr bytes of "; arm-id" comment, then its
 * records) to out, with a short id written in full. */
static void arm_records_emit(struct arm_buf *out, const char *p, size_t len, size_t hdr,
			     const char *source)
{
	static const char mark[] = ARM_ID_COMMENT "@";

	if (source != NULL && hdr >= sizeof(mark) - 1 && memcmp(p, mark, sizeof(mark) - 1) == 0) {
		arm_buf_puts(out, ARM_ID_COMMENT);
		arm_buf_add_printable(out, source, strlen(source));
		arm_buf_add(out, p + sizeof(mark) - 1, len - (sizeof(mark) - 1));
		return;
	}
	arm_buf_add(out, p, len);
}

/* Drop what was appended to b after len (a record set without records
 * keeps no comment either). */
static void arm_buf_cut(struct arm_buf *b, size_t len)
{
	if (b->p != NULL && len <= b->len) {
		b->len = len;
		b->p[len] = '\0';
	}
}

int arm_rrsets_add(struct arm_rrsets *z, const cJSON *rs, char *err, size_t errlen)
{
	uint16_t type;
	int rc = arm_records_type(rs, &type);
	size_t before, hdr;

	if (rc == FWD_ENOENT) {
		z->nskipped++;
		return 0;
	}
	if (rc == 0 && type == ARM_RR_SOA) {
		if (z->soa.len > 0) {
			fwd_errf(err, errlen, "two SOA record sets");
			return FWD_EPARSE;
		}
		arm_records_id_comment(&z->soa, rs, z->source, type);
		hdr = z->soa.len;
		rc = arm_records_rrset(rs, &z->soa, err, errlen);
		if (rc == 0 && z->soa.len == hdr)
			arm_buf_cut(&z->soa, 0);
		if (rc == 0 && z->soa.oom)
			rc = FWD_ENOMEM;
		if (rc == 0)
			z->nsets++;
		return rc;
	}
	/* rc == FWD_EPARSE falls through: arm_records_rrset says why. */
	before = z->text.len;
	if (rc == 0)
		arm_records_id_comment(&z->text, rs, z->source, type);
	hdr = z->text.len - before;
	rc = arm_records_rrset(rs, &z->text, err, errlen);
	if (rc == FWD_ENOENT) {
		arm_buf_cut(&z->text, before);
		z->nskipped++;
		return 0;
	}
	if (rc < 0)
		return rc;
	z->nsets++;
	if (z->text.len == before + hdr) {
		arm_buf_cut(&z->text, before);
		return 0;
	}
	if (z->nents == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 256;
		struct arm_ent *ne = realloc(z->ents, cap * sizeof(*ne));
		if (ne == NULL)
			return FWD_ENOMEM;
		z->ents = ne;
		z->cap = cap;
	}
	z->ents[z->nents].off = before;
	z->ents[z->nents].len = z->text.len - before;
	z->ents[z->nents].hdr = hdr;
	z->ents[z->nents].type = type;
	z->nents++;
	return 0;
}

void arm_rrsets_free(struct arm_rrsets *z)
{
	arm_buf_free(&z->text);
	arm_buf_free(&z->soa);
	free(z->ents);
	z->ents = NULL;
	z->nents = z->cap = 0;
}

/* Owner-name table entry for merging several sources of one zone. */
struct arm_owner {
	const char *name;
	size_t len;
	uint32_t mask_all;    /* types from every source so far */
	uint32_t mask_before; /* types from the sources before last_src */
	size_t last_src;
};

static uint32_t arm_type_bit(uint16_t t)
{
	for (size_t i = 0; i < FWD_ARRAY_LEN(arm_records_types); i++)
		if (arm_records_types[i].type == t)
			return 1u << i;
	return 1u << 31;
}

size_t arm_records_count_sets(const char *text, size_t len)
{
	static const char key[] = "\n" ARM_ID_COMMENT;
	size_t n = 0;
	const char *p = text, *end = text + len;

	if (len >= sizeof(key) - 2 && memcmp(text, key + 1, sizeof(key) - 2) == 0)
		n++;
	while (p < end && (p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1)) != NULL) {
		n++;
		p += sizeof(key) - 1;
	}
	return n;
}

uint64_t arm_records_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int arm_records_merge(const char *zone, const struct arm_rrsets *const *sets, size_t n,
			     struct arm_buf *out)
{
	const uint32_t cname = arm_type_bit(ARM_RR_CNAME);
	size_t total = 0, cap = 16, dropped = 0;
	struct arm_owner *tab;

	for (size_t i = 0; i < n; i++)
		total += sets[i]->nents;
	while (cap < total * 2)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	if (tab == NULL)
		return FWD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct arm_rrsets *src = sets[i];
		for (size_t k = 0; k < src->nents; k++) {
			const struct arm_ent *e = &src->ents[k];
			const char *line = src->text.p + e->off + e->hdr;
			size_t olen = strcspn(line, "\t");
			size_t slot = (size_t)arm_records_hash(line, olen) & (cap - 1);
			uint32_t bit = arm_type_bit(e->type), before;
			struct arm_owner *o;

			while (tab[slot].name != NULL &&
			       !(tab[slot].len == olen && memcmp(tab[slot].name, line, olen) == 0))
				slot = (slot + 1) & (cap - 1);
			o = &tab[slot];
			if (o->name == NULL) {
				o->name = line;
				o->len = olen;
				o->last_src = i;
			}
			if (o->last_src != i) {
				o->mask_before = o->mask_all;
				o->last_src = i;
			}
			before = o->mask_before;
			if ((before & bit) || (bit == cname && before) || (before & cname)) {
				if (dropped++ < 20)
					log_warn("arm: zone %s: record set '%.*s' (type %u) from %s conflicts "
						 "with an earlier subscription's; dropped",
						 zone, (int)olen, line, e->type, src->source ? src->source : "?");
				continue;
			}
			o->mask_all |= bit;
			arm_records_emit(out, src->text.p + e->off, e->len, e->hdr, src->source);
		}
	}
	if (dropped > 20)
		log_warn("arm: zone %s: %zu conflicting record sets dropped in all", zone, dropped);
	free(tab);
	return out->oom ? FWD_ENOMEM : 0;
}

int arm_records_zone_text(const char *zone, const struct arm_rrsets *const *sets, size_t n,
			  struct arm_buf *out)
{
	const struct arm_rrsets *soa = NULL;

	for (size_t i = 0; i < n && soa == NULL; i++)
		if (sets[i]->soa.len > 0)
			soa = sets[i];
	arm_buf_printf(out, "$ORIGIN %s.\n", zone);
	if (soa != NULL) {
		/* the SOA buffer is its comment line, then the SOA */
		arm_records_emit(out, soa->soa.p, soa->soa.len, strcspn(soa->soa.p, "\n") + 1, soa->source);
	} else {
		log_info("arm: zone %s has no SOA record set in ARM; serving a synthesized SOA "
			 "(Azure's defaults)",
			 zone);
		arm_records_soa_default(out);
	}
	if (n == 1) {
		const struct arm_rrsets *z = sets[0];
		for (size_t k = 0; k < z->nents; k++)
			arm_records_emit(out, z->text.p + z->ents[k].off, z->ents[k].len, z->ents[k].hdr,
					 z->source);
	} else if (n > 1 && arm_records_merge(zone, sets, n, out) < 0) {
		return FWD_ENOMEM;
	}
	return out->oom ? FWD_ENOMEM : 0;
}

int arm_records_id_part(const char *id, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *p = id;

	while ((p = strchr(p, '/')) != NULL) {
		p++;
		if (strncasecmp(p, key, kl) == 0 && p[kl] == '/') {
			const char *v = p + kl + 1, *e = strchr(v, '/');
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n == 0 || n >= cap)
				return -1;
			for (size_t i = 0; i < n; i++)
				out[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] - 'A' + 'a' : v[i]);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* A zone name fit to be a DNS name and a file name. */
int arm_records_zone_name_ok(const char *z)
{
	size_t n = strlen(z);

	if (n == 0 || n > 253 || z[0] == '.' || z[n - 1] == '.' || strstr(z, "..") != NULL)
		return 0;
	for (; *z; z++) {
		char c = *z;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* ARM's error envelope {"error": {"code", "message"}}. */
void arm_records_error(const char *body, size_t len, char *code, size_t ccap, char *msg, size_t mcap)
{
	cJSON *j = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

	snprintf(code, ccap, "%s", cJSON_IsString(c) ? c->valuestring : "(no error code)");
	if (cJSON_IsString(m)) {
		size_t n = strcspn(m->valuestring, "\r\n");
		snprintf(msg, mcap, "%.*s", (int)(n > 400 ? 400 : n), m->valuestring);
	} else {
		snprintf(msg, mcap, "(%zu-byte body without an ARM error message)", len);
	}
	cJSON_Delete(j);
}
