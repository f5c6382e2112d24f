# A thin wrapper over CMake. `make demo` installs, builds and runs the main
# job; `make test` runs the whole test suite (plain and sanitizer builds).
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test test-plain test-asan bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/kokoro parse examples/welcome.srt

test-plain: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)
	ctest --test-dir build --output-on-failure -j $(JOBS)

# AddressSanitizer + UndefinedBehaviorSanitizer build: the same tests, and the
# fuzz corpus as a regression test.
test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKOKORO_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

test: test-plain test-asan

bench: build
	bench/parse_large.sh

clean:
	rm -rf build build-asan build-fuzz
