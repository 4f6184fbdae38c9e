# skeeter: libmosquitto.so.1 in Rust.
#   make          release build: target/release/libmosquitto.so (soname libmosquitto.so.1)
#   make test     every test (installs what it needs first)
#   make demo     build, start a local broker, run the C examples against it
#   make fuzz     run each fuzz target for FUZZ_SECONDS (default 60)
#   make test-valgrind  every C program and example under valgrind
#   make test-asan      the C programs built with AddressSanitizer
#   make test-tsan      the thread stress program under ThreadSanitizer (nightly)
#   make soak     publish/receive with faults for SOAK_SECONDS (default 600), watching RSS
#   make bench    compare speed and memory with Debian's libmosquitto
#   make headers  regenerate include/*.h from src/ffi after changing the Rust definitions
#   make deb      Debian packages in target/deb (skeeter-libmosquitto1, -dev, -dbgsym)
#   make cross TARGET=aarch64-unknown-linux-gnu   the library for an ARM target
#   make test-cross TARGET=...   C tests and a round trip on it under qemu-user

CARGO ?= cargo

.PHONY: all build deps test lint headers demo fuzz clean

all: build

build:
	$(CARGO) build --release

deps:
	scripts/install-deps.sh test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

test: deps lint
	$(CARGO) test

headers:
	SKEETER_WRITE_HEADERS=1 $(CARGO) build

# C benchmark: our library vs Debian's libmosquitto (BENCH_QUICK=1 for a smoke run)
.PHONY: bench
bench:
	scripts/bench.sh

demo:
	scripts/install-deps.sh demo
	scripts/demo.sh

# Resource safety (scripts/valgrind.sh, scripts/tsan.sh, scripts/soak.sh).
.PHONY: test-valgrind test-asan test-tsan soak
test-valgrind: deps
	scripts/valgrind.sh

test-asan: deps
	SKEETER_C_SANITIZER=address SKEETER_FAULT_MESSAGES=1000 $(CARGO) test \
	    --test c_programs --test client_broker --test threads_stress --test faults

test-tsan: deps
	scripts/tsan.sh

soak: deps
	scripts/soak.sh

# make fuzz: each cargo-fuzz target for FUZZ_SECONDS (default 60); fails on a crash.
fuzz:
	scripts/fuzz.sh

clean:
	$(CARGO) clean

# make cross / make test-cross: TARGET=aarch64-unknown-linux-gnu (the default) or
# armv7-unknown-linux-gnueabihf; Debian's cross gcc, rust-lld, qemu-user
# (scripts/cross.sh, scripts/test-cross.sh). Not part of make test.
TARGET ?= aarch64-unknown-linux-gnu
.PHONY: cross test-cross
cross:
	scripts/install-deps.sh cross
	scripts/cross.sh $(TARGET)

test-cross:
	scripts/install-deps.sh cross
	scripts/test-cross.sh $(TARGET)

# make deb: the release build, stripped, in Debian packages (scripts/deb.sh).
.PHONY: deb
deb: build
	scripts/install-deps.sh deb
	scripts/deb.sh target/release/libmosquitto.so target/deb

# make install / make uninstall: PREFIX (default /usr/local) and DESTDIR as usual.
# Installs an existing build (run `make` first; PROFILE=debug installs the debug build,
# LIBRARY=path installs that file):
#   $(LIBDIR)/libmosquitto.so.1.<crate version>  the library, stripped (STRIP=0: as built)
#   $(DEBUGDIR)/.build-id/xx/yyyy.debug           its debug information (not with STRIP=0)
#   $(LIBDIR)/libmosquitto.so.1                   symlink, the soname the loader looks for
#   $(LIBDIR)/libmosquitto.so                     symlink, for -lmosquitto
#   $(INCLUDEDIR)/mosquitto.h, mqtt_protocol.h, skeeter.h (skeeter's own extensions)
#   $(LIBDIR)/pkgconfig/libmosquitto.pc           Version: libmosquitto's API version
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PROFILE ?= release
TARGET_DIR ?= target
LIBRARY ?= $(TARGET_DIR)/$(PROFILE)/libmosquitto.so
INSTALL ?= install
# STRIP=0 installs the library as built, debug information and all. A cross-built
# LIBRARY needs the target's binutils: CROSS_PREFIX=aarch64-linux-gnu- (say).
STRIP ?= 1
DEBUGDIR ?= $(LIBDIR)/debug
CRATE_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
API_VERSION := $(shell sed -n 's/^pub const LIBMOSQUITTO_\(MAJOR\|MINOR\|REVISION\): c_int = \([0-9]*\);/\2/p' src/ffi/constants.rs | paste -sd. -)
LIB_REALNAME := libmosquitto.so.1.$(CRATE_VERSION)
# In the .pc file, paths under PREFIX are written relative to ${prefix}.
PC_LIBDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

.PHONY: install uninstall

install:
	@test -f $(LIBRARY) || { echo "make install: no $(LIBRARY); run make first (or PROFILE=debug after cargo build)" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
ifeq ($(STRIP),0)
	$(INSTALL) -m 0755 $(LIBRARY) $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME)
else
	scripts/split-debug.sh $(LIBRARY) $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME) $(DESTDIR)$(DEBUGDIR)
	chmod 0755 $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME)
endif
	ln -sf $(LIB_REALNAME) $(DESTDIR)$(LIBDIR)/libmosquitto.so.1
	ln -sf libmosquitto.so.1 $(DESTDIR)$(LIBDIR)/libmosquitto.so
	$(INSTALL) -m 0644 include/mosquitto.h include/mqtt_protocol.h include/skeeter.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(API_VERSION)|' libmosquitto.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libmosquitto.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libmosquitto.pc

uninstall:
	@# The debug file is named by the installed library's build-id.
	id=$$(readelf -n $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME) 2>/dev/null | sed -n 's/^ *Build ID: *//p'); \
	    [ -z "$$id" ] || rm -f $(DESTDIR)$(DEBUGDIR)/.build-id/$$(echo $$id | cut -c1-2)/$$(echo $$id | cut -c3-).debug
	rm -f $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME) $(DESTDIR)$(LIBDIR)/libmosquitto.so.1 \
	      $(DESTDIR)$(LIBDIR)/libmosquitto.so $(DESTDIR)$(INCLUDEDIR)/mosquitto.h \
	      $(DESTDIR)$(INCLUDEDIR)/mqtt_protocol.h $(DESTDIR)$(INCLUDEDIR)/skeeter.h \
	      $(DESTDIR)$(PKGCONFIGDIR)/libmosquitto.pc
