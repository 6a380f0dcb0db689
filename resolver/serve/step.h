/*
 * step.h -- what one forwarded step of resolving a client's question needs.
 *
 * A question that goes upstream is parsed once and routed once, in
 * query_handle(); the result is a struct query_step.  It travels by value
 * inside the upstream slot (upstream.h: the engine copies it and hands the
 * copy back to the completion callback), so the completion knows the client,
 * the snapshot the question started with, the route and the group without
 * parsing or routing again.  A later step (fallback to "default", the
 * private half of a spliced chain) is a new query_step made from the
 * previous one.
 *
 * Ownership: a step owns nothing.  snap is kept alive by the upstream slot
 * that carries the step (upstream_send() takes a reference on it for the
 * slot's lifetime); rt points into snap; cont belongs to the worker's
 * continuation pool (cont.h) and is freed by whoever finishes the step.
 */
#ifndef PLINKFWD_STEP_H
#define PLINKFWD_STEP_H

#include <stdint.h>

#include "client.h"

struct snapshot;
struct route_target;
struct query_cont;

enum query_stage {
	QUERY_STAGE_CLIENT = 0,   /* the client's question, to its route's group */
	QUERY_STAGE_FALLBACK = 1, /* NXDOMAIN from a private group: asked again of "default" */
	QUERY_STAGE_SPLICE = 2    /* the private half of a spliced chain (cont set) */
};

struct query_step {
	struct client cl;              /* how to answer (transport only) */
	struct snapshot *snap;         /* the snapshot the question started with */
	const struct route_target *rt; /* the client's question routed in snap */
	uint32_t group;                /* the upstream group this step asks */
	enum query_stage stage;
	struct query_cont *cont;       /* QUERY_STAGE_SPLICE: the waiting answer */
	/* the step's question in the shared in-flight table (upstream/loop.h),
	 * set by step_send(); removed when the step completes */
	uint64_t loop_key;
	uint8_t loop_tracked;
};

#endif
