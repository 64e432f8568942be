# Top-level wrapper around meson/ninja. The README's two commands are
# `make run` and `make test`; both install what they need first.

BUILD      ?= build
ASAN_BUILD ?= build-asan
DATA       ?= ./data
LISTEN     ?= 127.0.0.1:3000
PREFIX     ?= /usr/local
PY         := /usr/bin/python3
SRC_FILES   = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps test-deps run test unit integration e2e asan format format-check install clean bench fuzz

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@./scripts/install-deps run

test-deps:
	@./scripts/install-deps test

# Modules are discovered at configure time, so a new module's meson.build
# means reconfiguring.
MESON_FILES = $(wildcard src/*/meson.build tests/unit/*/meson.build tests/fuzz/meson.build)

$(BUILD)/build.ninja: $(MESON_FILES)
	@if [ -f $@ ]; then meson setup --reconfigure $(BUILD); \
	else meson setup $(BUILD) --prefix=$(PREFIX) -Dbuildtype=debugoptimized; fi
	@touch $@

$(ASAN_BUILD)/build.ninja: $(MESON_FILES)
	@if [ -f $@ ]; then meson setup --reconfigure $(ASAN_BUILD); \
	else meson setup $(ASAN_BUILD) -Dbuildtype=debug -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dtest_hooks=true; fi
	@touch $@

asan: test-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

run: all
	@mkdir -p $(DATA)
	@echo "dogeboxd: open http://$(LISTEN)/ (Ctrl-C to stop)"
	$(BUILD)/dogeboxd --data-dir $(DATA) --listen $(LISTEN) --demo $(CURDIR)/examples

unit: all asan
	meson test -C $(BUILD) --print-errorlogs --suite unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --suite unit

integration: asan all
	DBX_BUILD=$(CURDIR)/$(ASAN_BUILD) $(PY) -m pytest -q -p no:cacheprovider tests/integration

test: test-deps all asan
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) e2e
	$(MAKE) fuzz
	$(MAKE) format-check

e2e: asan
	DBX_BUILD=$(CURDIR)/$(ASAN_BUILD) ./tests/e2e/run

fuzz:
	@./tests/fuzz/run-all $(CURDIR)

format:
	clang-format -i $(SRC_FILES)

format-check:
	@clang-format --dry-run --Werror $(SRC_FILES) && echo "format-check: ok"

install: all
	meson install -C $(BUILD)

bench: all
	@for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
