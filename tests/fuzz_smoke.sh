#!/usr/bin/env bash
# Fuzz smoke: builds every cargo-fuzz target in fuzz/fuzz_targets and runs
# each for FUZZ_SECONDS (default 12) from its corpus in target/fuzz/corpus
# (empty on a fresh machine) plus the seeds in fuzz/seeds/TARGET, so a
# parser of wire bytes that panics, hangs or overflows on some input fails
# CI. About 5 minutes on 2 cores from clean: ~3 to build, ~1.7 to run. A crash leaves its input in
# fuzz/artifacts/TARGET/ and cargo-fuzz prints the command that replays it.
#
# Nightly-only compiler flags (sanitizer, coverage instrumentation) are
# allowed on the stable toolchain with RUSTC_BOOTSTRAP=1, for the fuzz
# builds only. They use their own target directory under the shared one
# (target/fuzz, or $CARGO_TARGET_DIR/fuzz), so the main build is never
# invalidated; the corpus grown by a run stays there too.
#
# No sanitizer by default: hallq has no `unsafe`, so what the smoke looks
# for is panics, arithmetic overflow (debug assertions are on) and hangs;
# AddressSanitizer would add ~1.5 min to a clean build on 2 cores and slow
# every input. FUZZ_SANITIZER=address turns it on.
#
# FUZZ_SECONDS=0 builds the targets without running them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-12}"
sanitizer="${FUZZ_SANITIZER:-none}"
# Absolute: the fuzz commands run from fuzz/.
target_root="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
fuzz_dir="$target_root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz_smoke: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked
fi

# Every target file must be declared in fuzz/Cargo.toml, or it would be
# skipped without anyone noticing.
mapfile -t targets < <(find fuzz/fuzz_targets -maxdepth 1 -name '*.rs' -printf '%f\n' | sed 's/\.rs$//' | sort)
if ((${#targets[@]} == 0)); then
    echo "fuzz_smoke: no targets in fuzz/fuzz_targets" >&2
    exit 1
fi
mapfile -t declared < <(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz list | sort)
if [ "${targets[*]}" != "${declared[*]}" ]; then
    echo "fuzz_smoke: fuzz/fuzz_targets has [${targets[*]}] but fuzz/Cargo.toml declares [${declared[*]}]" >&2
    exit 1
fi

started=$(date +%s)
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build --target-dir "$fuzz_dir" -s "$sanitizer")
echo "fuzz_smoke: built ${#targets[@]} targets in $(($(date +%s) - started)) s"

if [ "$seconds" = 0 ]; then
    exit 0
fi
mkdir -p "$fuzz_dir/logs"
failed=()
for t in "${targets[@]}"; do
    corpus="$fuzz_dir/corpus/$t"
    mkdir -p "$corpus"
    dirs=("$corpus")
    if [ -d "fuzz/seeds/$t" ]; then
        dirs+=("$PWD/fuzz/seeds/$t")
    fi
    log="$fuzz_dir/logs/$t.log"
    # -timeout: one input running longer than this counts as a hang (a crash).
    if (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$fuzz_dir" -s "$sanitizer" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "fuzz_smoke: $t ok, ${execs:-?} inputs in $seconds s"
    else
        echo "fuzz_smoke: $t FAILED; the end of its log ($log):" >&2
        tail -n 150 "$log" >&2
        failed+=("$t")
    fi
done
echo "fuzz_smoke: done in $(($(date +%s) - started)) s"
if ((${#failed[@]})); then
    echo "fuzz_smoke: crashed: ${failed[*]}" >&2
    exit 1
fi
