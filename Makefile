# pktlens build: BPF objects and skeletons, user space, tests, demo, bench.
# `make test SANITIZE=1`: everything built with ASan and UBSan into build-san, and tests/run.sh
# fails any test during which an instrumented program reported an error or a leak.
# clang: its one runtime for both sanitizers honours log_path for UBSan reports too (gcc 12's
# separate libubsan writes them to stderr only, where a background pktlens' reports get lost).
# UBSan reports and goes on, so one run shows every finding; ASan stops at its first.
ifeq ($(SANITIZE),1)
BUILD      ?= build-san
CC         := clang
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fsanitize-recover=undefined \
	      -Wno-unknown-warning-option
export BUILD SANITIZE SAN_FLAGS CC
endif
BUILD      ?= build
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= cc
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN       := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	      -Wno-format-truncation
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 $(WARN) -D_GNU_SOURCE -MMD -MP
CFLAGS     += $(SAN_FLAGS)
CPPFLAGS   += -Iinclude -Isrc -Ibpf -I$(BUILD)
LDLIBS     += -lxdp -lbpf -lelf -lz -lncursesw -lpcap -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -D__BPF__ -Wall -Werror \
	      -Iinclude -Ibpf -I$(BUILD)

BPF_SRCS   := bpf/pktlens.bpf.c bpf/bench/empty.bpf.c
BPF_HDRS   := $(wildcard bpf/*/*.h bpf/*.h include/shared/*.h)
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

CORE_SRCS  := $(wildcard src/core/*.c)
UI_SRCS    := $(wildcard src/ui/*.c)
APP_SRCS   := $(wildcard src/app/*.c)
CORE_OBJS  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
UI_OBJS    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(UI_SRCS))
APP_OBJS   := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(APP_SRCS))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

# Keep BPF objects and skeletons: they are chained intermediates of the test and bench binaries.
.SECONDARY:

.PHONY: all deps test unit check format format-check demo bench vmtest clean install uninstall
all: $(BUILD)/pktlens

# `make install [PREFIX=/usr/local] [DESTDIR=staging]`: the binary, the themes (found relative to
# the binary as ../share/pktlens/themes), the man page and the JSON schema with its document.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/pktlens
INSTALL    ?= install
THEMES     := $(wildcard themes/*.theme)

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/pktlens/themes \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	$(Q)$(INSTALL) -m 0755 $(BUILD)/pktlens $(DESTDIR)$(BINDIR)/pktlens
	$(Q)$(INSTALL) -m 0644 $(THEMES) $(DESTDIR)$(DATADIR)/pktlens/themes/
	$(Q)$(INSTALL) -m 0644 man/pktlens.8 $(DESTDIR)$(MANDIR)/man8/pktlens.8
	$(Q)$(INSTALL) -m 0644 docs/json-schema.json $(DESTDIR)$(DATADIR)/pktlens/json-schema.json
	$(Q)$(INSTALL) -m 0644 docs/json-schema.md $(DESTDIR)$(DOCDIR)/json-schema.md

uninstall:
	$(Q)rm -f $(DESTDIR)$(BINDIR)/pktlens $(DESTDIR)$(MANDIR)/man8/pktlens.8 \
		$(addprefix $(DESTDIR)$(DATADIR)/pktlens/,$(THEMES) json-schema.json) \
		$(DESTDIR)$(DOCDIR)/json-schema.md
	$(Q)rmdir $(DESTDIR)$(DATADIR)/pktlens/themes $(DESTDIR)$(DATADIR)/pktlens $(DESTDIR)$(DOCDIR) \
		2>/dev/null || true

deps:
	$(Q)scripts/deps.sh

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$(notdir $(basename $<))) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The version (git describe) in a header rewritten only when it changes: the objects that print
# it are rebuilt then (on the compiler's command line nothing rebuilt them, and --version named
# the commit main.c was last compiled at).
$(BUILD)/version.h: FORCE
	$(Q)mkdir -p $(dir $@)
	$(Q)v='#define PKTLENS_VERSION "$(VERSION)"'; \
	[ -f $@ ] && [ "$$(cat $@)" = "$$v" ] || echo "$$v" > $@
$(BUILD)/obj/app/main.o $(BUILD)/obj/core/metrics.o $(BUILD)/obj/core/capture.o: $(BUILD)/version.h
.PHONY: FORCE
FORCE:

$(BUILD)/pktlens: $(CORE_OBJS) $(UI_OBJS) $(APP_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS) $(UI_OBJS) $(BUILD)/obj/app/options.o | $(SKELS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/bpf/%.c $(CORE_OBJS) | $(SKELS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: tests/bench/%.c $(CORE_OBJS) | $(SKELS)
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS)

unit: $(UNIT_BINS) $(BPFT_BINS)

test: deps all unit $(BENCH_BINS)
	$(Q)tests/run.sh

check: format-check
	$(Q)! grep -rlE '#include *[<"](n?cursesw?/)?(n?curses|panel|menu)\.h' src | grep -v '^src/ui/' || \
		{ echo "curses included outside src/ui" >&2; exit 1; }
	$(Q)! grep -rlE '#include *[<"]bpf/' src/ui || { echo "libbpf included in src/ui" >&2; exit 1; }
	$(Q)! grep -rnE 'wait_for [0-9.]+ +(test|\[) [^|]*"\$$\(' tests || \
		{ echo 'wait_for N test "$$(cmd)": expanded once, before wait_for; use wait_eq' >&2; exit 1; }

FMT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FMT_SRCS)
format-check:
	$(Q)clang-format --dry-run --Werror $(FMT_SRCS)

demo: deps all
	$(Q)scripts/demo.sh

bench: deps all $(BENCH_BINS)
	$(Q)scripts/bench.sh

# Debian's stock kernel under qemu: kprobe, kretprobe and uprobe tests where the kernel has them.
vmtest: all
	$(Q)scripts/vmtest.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)

# --- Fuzzing (tests/fuzz): libFuzzer targets built with clang, ASan and UBSan. -----------------
# `make fuzz` runs each target FUZZ_TIME seconds (FUZZ_TARGETS="parse dns" for some);
# `make fuzz-merge` adds what a run found that brings new coverage to the seed corpus in the tree;
# `make test` builds them and tests/e2e/fuzz_smoke.sh runs each for a few seconds.
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_CFLAGS  := -g -O1 -std=gnu11 $(WARN) -Wno-unknown-warning-option -D_GNU_SOURCE -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_DEPS    := $(BPF_HDRS) $(wildcard src/*/*.h tests/fuzz/*.h)

# What each target links besides its own file (the parsers are headers); FUZZ_UNITY lists
# sources that a target includes itself (fuzz_l7model puts the model's tables on mmap).
FUZZ_UNITY   := src/core/l7model.c
$(BUILD)/fuzz/fuzz_l7model: src/core/l7model.c
$(BUILD)/fuzz/fuzz_escape: src/core/escape.c src/ui/format.c
$(BUILD)/fuzz/fuzz_theme: src/ui/theme.c src/ui/format.c src/core/safefile.c src/core/escape.c
$(BUILD)/fuzz/fuzz_draw: src/ui/draw.c src/ui/format.c src/core/escape.c
$(BUILD)/fuzz/fuzz_draw: FUZZ_LIBS := -lncursesw
$(BUILD)/fuzz/fuzz_record: src/core/record.c src/core/snapshot.c src/core/histring.c src/core/safefile.c
$(BUILD)/fuzz/fuzz_record: FUZZ_LIBS := -lz

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) $(filter-out $(FUZZ_UNITY),$(filter %.c,$^)) \
		-o $@ $(FUZZ_LIBS) -lm

.PHONY: fuzz fuzz-build fuzz-merge
fuzz-build: $(FUZZ_BINS)
test: fuzz-build

fuzz: fuzz-build
	$(Q)BUILD=$(BUILD) FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh run $(FUZZ_TARGETS)

# Outside make test: SOAK_SECONDS (default 1800) of traffic, probe toggling and kill -9 cycles.
.PHONY: soak
soak: deps all
	$(Q)BUILD=$(BUILD) scripts/soak.sh

fuzz-merge: fuzz-build
	$(Q)BUILD=$(BUILD) tests/fuzz/run.sh merge $(FUZZ_TARGETS)
