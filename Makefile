# A thin wrapper over CMake. `make demo` installs, builds and runs the main
# job; `make test` runs the whole test suite (plain and sanitizer builds).
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test test-plain test-asan bench bench-server bench-redis clean reference-smoke reference-bench reference-eval

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@web/build.sh

# The main job: read the bundled subtitle file, then speak the bundled text
# (needs the model: see README, "The model").
demo: build
	./$(BUILD)/kokoro render examples/welcome.srt -o $(BUILD)/welcome.mp3 --report $(BUILD)/welcome.report.json

test-plain: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)
	@web/build.sh
	ctest --test-dir build --output-on-failure -j $(JOBS)

# AddressSanitizer + UndefinedBehaviorSanitizer build: the same tests, and the
# fuzz corpus as a regression test. Tests labelled "model" run the real
# model end to end, which the sanitizers slow down some twenty times: they
# run in the plain build only (the kernels they use are tested here too).
test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKOKORO_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS) -LE model

test: test-plain test-asan

bench: build
	./$(BUILD)/kk-g2p-bench
	bench/parse_large.sh
	bench/engine_bench.sh
	bench/render_bench.sh

# The studio server under concurrent clients (wrk when installed).
bench-server: build
	bench/server_bench.sh

# Render workers on Redis against the local backend (docs/workers.md).
bench-redis: build
	bench/redis_bench.sh

# ONNX Runtime reference tools (tools/reference/README.md); need the model.
reference-smoke:
	tools/reference/smoke.sh

# C engine vs ONNX Runtime on tools/reference/sentences.txt (~30 min on 2 cores;
# needs sox, pocketsphinx, pocketsphinx-en-us for the WER part)
reference-eval: build
	/usr/bin/python3 tools/reference/eval_engine.py

reference-bench:
	@tools/reference/setup.sh >/dev/null
	node tools/reference/ort_bench.js --threads 2 --runs 3

clean:
	rm -rf build build-asan build-fuzz
