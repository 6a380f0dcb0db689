/*
 * counter.h -- counters with one writer thread and any number of readers.
 *
 * The writer (a worker) stores the incremented value with a relaxed atomic
 * store; readers (the main thread) load with a relaxed atomic load.  One
 * writer per counter needs no read-modify-write instruction and no lock:
 * on x86-64 and arm64 this is a plain load, add and store, and no value is
 * ever torn.  Gauges a worker owns (slots pending, TCP connections open)
 * go the same way, with STATS_DEC.
 */
#ifndef PLINKFWD_COUNTER_H
#define PLINKFWD_COUNTER_H

#define STATS_INC(var) __atomic_store_n(&(var), (var) + 1, __ATOMIC_RELAXED)
#define STATS_ADD(var, n) __atomic_store_n(&(var), (var) + (n), __ATOMIC_RELAXED)
#define STATS_SET(var, v) __atomic_store_n(&(var), (v), __ATOMIC_RELAXED)
#define STATS_DEC(var) __atomic_store_n(&(var), (var) - 1, __ATOMIC_RELAXED)
#define STATS_GET(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

#endif
