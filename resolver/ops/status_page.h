/*
 * status_page.h -- the status page served at / (resolver/ops/status_page.html,
 * compiled in as one string by ops.am): static HTML with inline CSS and
 * JavaScript that draws everything from status.json (status_json.h).
 * Constant data; nobody frees it.
 */
#ifndef PLINKFWD_STATUS_PAGE_H
#define PLINKFWD_STATUS_PAGE_H

#include <stddef.h>

extern const char status_page_html[];
extern const size_t status_page_html_len; /* without the terminating NUL */

#endif
