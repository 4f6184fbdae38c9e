# skeeter: libmosquitto.so.1 in Rust.
#   make          release build: target/release/libmosquitto.so (soname libmosquitto.so.1)
#   make test     every test (installs what it needs first)
#   make demo     build, start a local broker, run the C examples against it
#   make headers  regenerate include/*.h from src/ffi after changing the Rust definitions

CARGO ?= cargo

.PHONY: all build deps test lint headers demo clean

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

clean:
	$(CARGO) clean
