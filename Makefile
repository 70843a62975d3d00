# SPDX-License-Identifier: MIT
# faultline: one non-recursive Makefile.  Intermediates in .output/, the binary at ./faultline.
#   make            build ./faultline
#   make test       build with ASan+UBSan, run every test suite, then each fuzz target ~10 s
#   make fuzz       run each fuzz target longer (FUZZ_SECONDS, default 300)
#   make lint       cppcheck, scan-build and the layering rule (scripts/check-layers.sh)
#   make compile_commands.json   for clangd and other tools (needs bear)
#   make bench      run the benchmarks (not a test; see bench/README.md)

OUT      ?= .output
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS     := libpcap zlib yaml-0.1 libbpf libpcre2-8 libmicrohttpd libcap
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
            -Iinclude -Iuser -I$(OUT) -MMD -MP -D_GNU_SOURCE \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -lz -lyaml -lbpf -lpcre2-8 -lmicrohttpd -lcap) -lelf -lm

SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# libFuzzer targets: clang, instrumented for coverage, ASan and UBSan.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
FUZZ_SECONDS ?= 300

USER_SRCS := $(sort $(wildcard user/*.c user/*/*.c))
LIB_SRCS  := $(filter-out user/main.c,$(USER_SRCS))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(BPF_SRCS:bpf/%.bpf.c=$(OUT)/%.skel.h)
# Committed (libbpf-tools style); scripts/gen-vmlinux.sh regenerates it from a kernel's BTF.
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h
TEST_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
# The benches that measure faultline's code (blast.c is a standalone traffic generator).
BENCH_SRCS := $(filter-out bench/blast.c,$(wildcard bench/*.c))

# libfaultline.a: everything but main.c.  The binary, the unit tests, the fuzzers and the
# benches link it; the -asan variant (and its objects) serve the tests, the -fuzz variant
# (clang, coverage-instrumented) the fuzzers.
LIB       := $(OUT)/libfaultline.a
SAN_LIB   := $(OUT)/libfaultline-asan.a
FUZZ_LIB  := $(OUT)/libfaultline-fuzz.a
LIB_OBJS  := $(LIB_SRCS:%.c=$(OUT)/rel/%.o)
SAN_OBJS  := $(LIB_SRCS:%.c=$(OUT)/san/%.o)
FUZZ_OBJS := $(LIB_SRCS:%.c=$(OUT)/fuzz/%.o)
TESTS     := $(TEST_SRCS:tests/unit/%.c=$(OUT)/tests/%)
FUZZERS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(OUT)/fuzz/%)
BENCHES   := $(BENCH_SRCS:bench/%.c=$(OUT)/bench/%)

.PHONY: all lib test unit fuzzers fuzz lint print-lib-objs bench clean install uninstall
# Keep the BPF objects between the skeleton steps (no rebuild next time).
.SECONDARY:
all: faultline

lib: $(LIB) $(SAN_LIB)

faultline: $(OUT)/rel/user/main.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The sanitizer build the tests run.
faultline-asan: $(OUT)/san/user/main.o $(SAN_LIB)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(SAN_LIB): $(SAN_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(OUT)/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

$(OUT)/fuzz/user/%.o: user/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) $(FUZZ_CFLAGS:-fsanitize=fuzzer%=-fsanitize=fuzzer-no-link%) -c -o $@ $<

# Only the eBPF backend (ebpf.c, kdrops.c, sockowner.c) and its test include the skeletons.
$(OUT)/rel/user/source/ebpf.o $(OUT)/san/user/source/ebpf.o $(OUT)/fuzz/user/source/ebpf.o \
$(OUT)/rel/user/source/kdrops.o $(OUT)/san/user/source/kdrops.o $(OUT)/fuzz/user/source/kdrops.o \
$(OUT)/rel/user/source/sockowner.o $(OUT)/san/user/source/sockowner.o $(OUT)/fuzz/user/source/sockowner.o \
$(OUT)/tests/test_capture_bpf $(OUT)/rel/tests/unit/test_capture_bpf.o: $(SKELS)
$(OUT)/tests/test_frame_bpf $(OUT)/rel/tests/unit/test_frame_bpf.o: $(SKELS)

# BPF: objects with clang against the committed vmlinux.h, skeletons with bpftool.
$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) include/faultline.h $(wildcard $(VMLINUX))
	@test -f $(VMLINUX) || { echo "$(VMLINUX) is missing: generate it with" \
		"scripts/gen-vmlinux.sh on a $(ARCH) kernel with BTF" >&2; exit 1; }
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__bpf__ -Wall -Werror \
		-Iinclude -Ibpf -Ivmlinux/$(ARCH) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/tests/%: tests/unit/%.c $(SAN_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Itests/unit -o $@ $< $(SAN_LIB) $(LDLIBS) -lcmocka

unit: $(TESTS)

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) $(FUZZ_CFLAGS) -Itests/fuzz -o $@ $< $(FUZZ_LIB) $(LDLIBS)

fuzzers: $(FUZZERS)

# Every fuzz target for a short while from its seed corpus, then the suites (tests/run-all.sh,
# whose closing line, the total, is the last line); both always run, either failing fails.
test: faultline faultline-asan $(TESTS) $(FUZZERS)
	@rc=0; tests/fuzz/fuzz.sh 10 || rc=1; tests/run-all.sh || rc=1; exit $$rc

fuzz: $(FUZZERS)
	tests/fuzz/fuzz.sh $(FUZZ_SECONDS)

$(OUT)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench: faultline
	bench/run.sh

# clangd & co.: bear records the compile of every C file (library, main, unit tests, fuzz
# targets, benches; compile only, release flags) in a scratch tree, then the paths are mapped
# back to $(OUT) so the skeleton headers resolve.
CDB_SRCS := $(USER_SRCS) $(TEST_SRCS) $(FUZZ_SRCS) $(BENCH_SRCS)
compile_commands.json: $(CDB_SRCS) $(SKELS)
	rm -rf $(OUT)/cdb
	bear --output $@.tmp -- $(MAKE) --no-print-directory OUT=$(OUT)/cdb \
		$(CDB_SRCS:%.c=$(OUT)/cdb/rel/%.o)
	sed -e 's|$(OUT)/cdb|$(OUT)|g' $@.tmp > $@ && rm -f $@.tmp

lint: $(SKELS)
	scripts/lint.sh

# For scripts/lint.sh: the objects a scan-build run compiles.
print-lib-objs:
	@echo $(LIB_OBJS) $(OUT)/rel/user/main.o

PREFIX  ?= /usr/local
DESTDIR ?=
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The binary, the man page, the systemd unit (pointing at $(PREFIX)/sbin) and the sysusers.d file
# of the faultline group, created at once when installing onto this system (no DESTDIR).
install: faultline
	install -D -m 0755 faultline $(DESTDIR)$(PREFIX)/sbin/faultline
	install -D -m 0644 man/faultline.8 $(DESTDIR)$(PREFIX)/share/man/man8/faultline.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/faultline|$(PREFIX)/sbin/faultline|g' deploy/faultline.service \
		> $(DESTDIR)$(UNITDIR)/faultline.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/faultline.service
	install -D -m 0644 deploy/faultline.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/faultline.conf
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/faultline.conf; fi

# The files install put there.  The faultline group stays (files may still carry its id).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/faultline $(DESTDIR)$(PREFIX)/share/man/man8/faultline.8 \
		$(DESTDIR)$(UNITDIR)/faultline.service $(DESTDIR)$(SYSUSERSDIR)/faultline.conf

clean:
	rm -rf $(OUT) faultline faultline-asan compile_commands.json

-include $(wildcard $(OUT)/*/user/*.d $(OUT)/*/user/*/*.d $(OUT)/tests/*.d $(OUT)/fuzz/*.d \
	$(OUT)/bench/*.d)
