# fuzz.mk -- libFuzzer builds of the fuzz targets (GNU make, clang).
#
# Run by `make fuzz` (Makefile.am), which passes what configure found:
#   srcdir         the source tree
#   FUZZ_TARGETS   target names: tests/fuzz/fuzz_NAME.c -> tests/fuzz/fuzz_NAME
#   FUZZ_LIB_SRCS  the library's sources, relative to srcdir
#   FUZZ_GEN_SRCS  generated library sources, relative to the build tree
#   FUZZ_DEFS, FUZZ_CPPFLAGS, FUZZ_LIBS
# The library is compiled once with coverage instrumentation and the
# sanitizers into tests/fuzz/obj/libfuzz.a; each target links against it
# (only the objects it needs), so adding a target costs one compile.

FUZZ_CC ?= clang
FUZZ_CFLAGS ?= -g -O1 -fno-omit-frame-pointer -pthread \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LDFLAGS ?= -pthread -fsanitize=fuzzer,address,undefined

# Targets that talk to ARM get their HTTP requests answered in process:
# every call of arm_http_request() from the library goes to the target's
# __wrap_arm_http_request() (see fuzz_arm_zones.c).
LDFLAGS_arm_zones = -Wl,--wrap=arm_http_request
LDFLAGS_token = -Wl,--wrap=arm_http_request
# fuzz_reply makes an engine per input, fuzz_doh a DoH pool: their big
# blocks are reused rather than mapped and unmapped each time (see
# fuzz_big_blocks.h)
LDFLAGS_reply = -Wl,--wrap=calloc -Wl,--wrap=free
LDFLAGS_doh = -Wl,--wrap=calloc -Wl,--wrap=free

OBJ = tests/fuzz/obj
$(OBJ)/tests/fuzz/fuzz_reply.o $(OBJ)/tests/fuzz/fuzz_doh.o: FUZZ_CFLAGS += -DFUZZ_REUSE_BIG_BLOCKS
LIB_OBJS = $(patsubst %.c,$(OBJ)/%.o,$(FUZZ_LIB_SRCS)) $(patsubst %.c,$(OBJ)/gen/%.o,$(FUZZ_GEN_SRCS))
BINS = $(patsubst %,tests/fuzz/fuzz_%,$(FUZZ_TARGETS))
COMPILE = $(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS) $(FUZZ_CPPFLAGS) -I$(srcdir)/tests/fuzz -MMD -MP

all: $(BINS) tests/fuzz/make_doh_seeds

$(OBJ)/%.o: $(srcdir)/%.c
	@mkdir -p $(@D)
	$(COMPILE) -c $< -o $@

$(OBJ)/gen/%.o: %.c
	@mkdir -p $(@D)
	$(COMPILE) -c $< -o $@

$(OBJ)/libfuzz.a: $(LIB_OBJS)
	rm -f $@
	ar cr $@ $(LIB_OBJS)

tests/fuzz/fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/libfuzz.a
	$(FUZZ_CC) $(FUZZ_LDFLAGS) $(LDFLAGS_$*) $< $(OBJ)/libfuzz.a $(FUZZ_LIBS) -o $@

# The doh corpus's seed generator (tests/fuzz/make_doh_seeds.c): a plain
# program on nghttp2's client, neither instrumented nor sanitized.
tests/fuzz/make_doh_seeds: $(srcdir)/tests/fuzz/make_doh_seeds.c
	$(FUZZ_CC) -g -O1 -Wall -Wextra $< $(FUZZ_LIBS) -o $@

.SECONDARY: $(patsubst %,$(OBJ)/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS))
.PHONY: all

-include $(LIB_OBJS:.o=.d) $(patsubst %,$(OBJ)/tests/fuzz/fuzz_%.d,$(FUZZ_TARGETS))
