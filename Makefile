# faultline: one non-recursive Makefile.  Intermediates in .output/, the binary at ./faultline.
#   make            build ./faultline
#   make test       build with ASan+UBSan and run every test (unit, golden, corpora, netns)
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

USER_SRCS := $(sort $(wildcard user/*.c user/*/*.c))
LIB_SRCS  := $(filter-out user/main.c,$(USER_SRCS))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(BPF_SRCS:bpf/%.bpf.c=$(OUT)/%.skel.h)
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h
TEST_SRCS := $(wildcard tests/unit/test_*.c)

OBJS      := $(USER_SRCS:%.c=$(OUT)/rel/%.o)
SAN_OBJS  := $(USER_SRCS:%.c=$(OUT)/san/%.o)
SAN_LIB   := $(LIB_SRCS:%.c=$(OUT)/san/%.o)
TESTS     := $(TEST_SRCS:tests/unit/%.c=$(OUT)/tests/%)

.PHONY: all test unit bench clean install
# Keep the BPF objects between the skeleton steps (no rebuild next time).
.SECONDARY:
all: faultline

faultline: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The sanitizer build the tests run.
faultline-asan: $(SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(OUT)/rel/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/san/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

# BPF: vmlinux.h from the running kernel's BTF, objects with clang, skeletons with bpftool.
$(VMLINUX):
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) include/faultline.h $(VMLINUX)
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__bpf__ -Wall -Werror \
		-Iinclude -Ibpf -Ivmlinux/$(ARCH) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/tests/%: tests/unit/%.c $(SAN_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Itests/unit -o $@ $^ $(LDLIBS) -lcmocka

unit: $(TESTS)

test: faultline faultline-asan $(TESTS)
	tests/run-all.sh

bench: faultline
	bench/run.sh

PREFIX  ?= /usr/local
DESTDIR ?=
install: faultline
	install -D -m 0755 faultline $(DESTDIR)$(PREFIX)/sbin/faultline
	install -D -m 0644 man/faultline.8 $(DESTDIR)$(PREFIX)/share/man/man8/faultline.8

clean:
	rm -rf $(OUT) faultline faultline-asan

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d)
