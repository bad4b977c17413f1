#!/usr/bin/env bash
# Runs every test of hallq — unit, integration, property, simulation, crash
# and config tests, and each benchmark once in test mode — on a fresh
# machine. It installs what the tests need first: beyond the Rust toolchain,
# a C compiler for the bundled SQLite, and Chromium with its WebDriver, CJK
# fonts and espeak-ng for the browser tests (their screenshots go to
# target/screenshots/, CI's artifacts). Last, tests/api_fuzz.sh fuzzes the
# HTTP API from its OpenAPI document with schemathesis (a pinned version in a
# venv under target/; python3-venv): no 5xx, every answer as documented.
set -euo pipefail
cd "$(dirname "$0")/.."

need_cmd() {
    command -v "$1" >/dev/null 2>&1
}

# Debian packages the tests need, installed only when missing.
apt_packages=()
need_cmd cc || apt_packages+=(gcc)
need_cmd pkg-config || apt_packages+=(pkg-config)
# The browser tests (tests/pages_*.rs): headless Chromium over WebDriver,
# CJK fonts so screenshots show Chinese, espeak-ng for the announcements.
need_cmd chromium || apt_packages+=(chromium)
need_cmd chromedriver || apt_packages+=(chromium-driver)
{ fc-list 2>/dev/null || true; } | grep 'Noto Sans CJK' >/dev/null || apt_packages+=(fonts-noto-cjk)
need_cmd espeak-ng || apt_packages+=(espeak-ng)
# tests/systemd_unit.rs: `systemd-analyze verify` and `security --offline`
# on systemd/hallq.service (no running systemd needed).
need_cmd systemd-analyze || apt_packages+=(systemd)
# tests/api_fuzz.sh: schemathesis (from PyPI) in a venv under target/, curl.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_packages+=(python3-venv)
need_cmd curl || apt_packages+=(curl)
# tests/systemd_boot.sh: a fresh Debian debootstrapped, booted with systemd
# as PID 1 in systemd-nspawn.
need_cmd debootstrap || apt_packages+=(debootstrap)
need_cmd systemd-nspawn || apt_packages+=(systemd-container)
if ((${#apt_packages[@]})); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
    else
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
    fi
fi

if ! need_cmd cargo; then
    echo "tests/run.sh: cargo is missing; install the stable Rust toolchain (rustup) first" >&2
    exit 1
fi

# Unit, integration, example builds and doc tests.
cargo test --locked
# Every benchmark, run once as a test so it cannot rot.
cargo test --locked --benches
bash tests/fuzz_smoke.sh # every fuzz target of fuzz/ for a short smoke run
bash tests/api_fuzz.sh # schemathesis against /openapi.json of the debug build (~3 min)
# README's "Install under systemd" walked in a booted Debian with systemd as
# PID 1: readiness, hardening, reload, watchdog and crash restarts, reboot
# (~1 min, plus ~1 min of debootstrap on a clean clone; skipped unless root).
bash tests/systemd_boot.sh
