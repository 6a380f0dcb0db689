/*
 * schema.h -- every key of every clause of the configuration, in one table.
 *
 * One row per key (struct cfg_key): the clause it belongs to, its name, its
 * type, where its value lives (an offset into the clause's struct: struct
 * cfg for server:, struct cfg_upstream, struct cfg_forward, struct
 * cfg_zone, struct arm_cfg, struct cfg_tsig_key), its default as it would be written in the
 * file, its range and its documentation.
 *
 *  - The parsers look every key up here and check values against the row:
 *    config.c for server:, upstream:, forward:, zone: and key:, arm_config.c for
 *    arm:.  A key no row names is unknown; a key of another clause is
 *    reported as belonging there.
 *  - Defaults are applied from the rows, in one place
 *    (cfg_schema_defaults()), by handing each default text to the clause's
 *    own setter: a default is parsed and checked exactly like a value from
 *    the file.  Nothing that reads a struct cfg applies a default of its
 *    own.
 *  - docs/configuration.md's key tables are generated from the rows
 *    (cfg_schema_doc_update(): plinkfwd --schema-markdown, make config-doc),
 *    and tests/unit/test_schema.c fails when they differ.
 *
 * The table is constant data; nothing here allocates but the document
 * rewriting.
 */
#ifndef PLINKFWD_SCHEMA_H
#define PLINKFWD_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

#include "common.h"

enum cfg_clause { CFG_CL_SERVER = 0, CFG_CL_UPSTREAM, CFG_CL_FORWARD, CFG_CL_ZONE, CFG_CL_ARM, CFG_CL_KEY, CFG_NCLAUSES };

enum cfg_type {
	CT_INT,        /* decimal, min..max -> int */
	CT_BOOL,       /* yes | no (any case) -> int 1 / 0 */
	CT_FALLBACK,   /* public | none (any case) -> int 1 / 0 */
	CT_WORD,       /* one of words[] (any case) -> int min + its index */
	CT_SIZE,       /* N[k|m|g][b], at most 1024g -> uint64_t */
	CT_MODE,       /* octal permission bits, at most max -> int */
	CT_CLOUD,      /* AzureCloud | AzureUSGovernment | AzureChinaCloud | none -> enum cfg_cloud */
	CT_ARM_CLOUD,  /* the same without none -> int (-1 when not set) */
	CT_LOGLEVEL,   /* error | warning (warn) | info | debug -> char *, lower case */
	CT_STR,        /* text as written -> char * */
	CT_NSID,       /* text of 1..max bytes -> char *, its length at off_n (size_t) */
	CT_LISTEN,     /* ADDR[@PORT], port min (53 when 0) -> struct cfg_addr list */
	CT_CIDR,       /* ADDR[/PREFIX] -> struct cfg_cidr list */
	CT_HTTP,       /* ADDR[@PORT], port 9153, checked -> char * as written */
	CT_SERVER,     /* ADDR[@PORT] [max-qps=N] [max-outstanding=N] -> upstream servers */
	CT_GROUP,      /* an upstream group name -> char *, lower case */
	CT_ZONEFILE,   /* a path, relative to the config file's directory -> char * */
	CT_URL,        /* https:// base URL (http:// too when max is 1) -> char * */
	CT_TOKEN,      /* letters, digits and chars[], at most max -> char * */
	CT_TOKENS,     /* the same, repeatable, lower-cased, each once -> char ** list */
	CT_ENVNAME,    /* an environment variable's name -> char * (never echoed) */
	CT_SECRET,     /* refused: secrets never go in the file */
	CT_PATTERNS,   /* zone name globs, repeatable -> char ** list */
	CT_ZFALLBACKS, /* "PATTERN public|none", repeatable -> struct arm_cfg_fallback list */
	CT_TSIGALG,    /* one of words[] (any case) -> char *, ldns's name: "hmac-sha256." */
	CT_XFRACL,     /* "PREFIX [key NAME]", repeatable -> struct cfg_xfr_acl list */
	CT_NOTIFY,     /* "ADDR[@PORT] [key NAME]", repeatable -> struct cfg_notify list */
	CT_KEYFILE,    /* a path (relative to the config file's directory) holding a base64
			* secret, read at once -> char * as written; the secret goes to
			* struct cfg_tsig_key's secret_b64 */
	CT_PRIMARY     /* "ADDR[@PORT] [key NAME]", repeatable -> struct cfg_primary list */
};

/* flags */
#define CK_MULTI 1u     /* repeatable; every other key may be given once */
#define CK_REQUIRED 2u  /* the clause is incomplete without it */
#define CK_RESTART 4u   /* a reload does not apply it (sockets, pools, the process) */

struct cfg_key {
	enum cfg_clause clause;
	const char *name;
	enum cfg_type type;
	unsigned flags;
	size_t off;              /* the value in the clause's struct */
	size_t off_n;            /* lists: their count (size_t); CT_NSID: the length */
	const char *def;         /* the default as written in the file; NULL: not set (an
				  * int is then -1, a text NULL, a list empty) */
	long min, max;           /* CT_INT: the range; CT_WORD: the first word's value; CT_MODE,
				  * CT_NSID, CT_TOKEN(S): max = the largest / longest; CT_URL:
				  * max 1 = http:// allowed */
	const char *const *words; /* CT_WORD: the words, NULL-terminated */
	const char *chars;       /* CT_TOKEN(S): characters allowed besides letters and digits */
	const char *what;        /* CT_TOKEN(S): what the value is, for error messages */
	const char *arg;         /* the value as the documentation writes it: "N", "ADDR[@PORT]" */
	const char *def_doc;     /* the documentation's default when def does not say it all */
	const char *doc;         /* what the key does (Markdown, one paragraph) */
};

/* Every row, clause by clause in file order. */
extern const struct cfg_key cfg_schema[];
extern const size_t cfg_schema_len;

/* Name of a clause as written in the file ("server", "upstream", ...). */
const char *cfg_clause_name(enum cfg_clause c);

/* The row of key in clause c, or NULL. */
const struct cfg_key *cfg_schema_find(enum cfg_clause c, const char *key);
/* The first clause (in table order) that has a key of that name: FWD_OK
 * with *c set, or FWD_ENOENT. */
enum fwd_err cfg_schema_home(const char *key, enum cfg_clause *c);
/* Position of row k among the rows of its clause (0 ..): an index for
 * per-clause "seen" bookkeeping. */
size_t cfg_schema_index(const struct cfg_key *k);
/* Rows of clause c; at most CFG_MAX_CLAUSE_KEYS. */
size_t cfg_schema_count(enum cfg_clause c);
#define CFG_MAX_CLAUSE_KEYS 64

/*
 * Apply the defaults of clause c: for every key with a default
 * (k->def != NULL) that is not repeatable (CK_MULTI; a list's default is
 * its clause's business when the list stays empty), call set(ctx, k,
 * k->def) -- the clause's own setter, so that a default is checked like a
 * value from the file; for every int-valued key without one, store -1 at
 * base + k->off ("not set").  Stops at the first failure and returns it.
 */
typedef enum fwd_err (*cfg_schema_set_fn)(void *ctx, const struct cfg_key *k, const char *value);
enum fwd_err cfg_schema_defaults(enum cfg_clause c, void *base, cfg_schema_set_fn set, void *ctx);

/* Free what the keys of clause c own in base (texts, lists and their
 * elements) and clear those fields; numbers are left as they are. */
void cfg_schema_free(enum cfg_clause c, void *base);

/* The key table of clause c in Markdown (| Key | Default | Range | Meaning |),
 * as docs/configuration.md holds it between its markers. */
void cfg_schema_markdown(FILE *out, enum cfg_clause c);

/*
 * Rewrite every generated section of a Markdown text: the lines between
 * "<!-- schema: CLAUSE -->" and "<!-- /schema -->" are replaced with
 * cfg_schema_markdown(CLAUSE); everything else is kept.  FWD_OK with a new
 * string in *out (the caller frees it), FWD_EPARSE with a message in err
 * for an unknown clause or an unclosed section, FWD_ENOMEM.
 */
enum fwd_err cfg_schema_doc_update(const char *text, char **out, char *err, size_t errlen);

#endif
