#!/usr/bin/env bash
# hallq under a real systemd: boots a fresh Debian (the host's release,
# debootstrap --variant=minbase) with systemd as PID 1 in systemd-nspawn,
# walks README's "Install under systemd" steps in it (taken from the README
# itself, so the two cannot drift), then proves the unit works:
#   - start returns only once hallq sent READY=1 (Type=notify) and HTTP answers;
#   - /var/lib/hallq: owned by hallq, mode 0700, the journal inside;
#   - the process runs as hallq, no capabilities, no new privileges, seccomp,
#     a read-only file system but for its state directory;
#   - its lines are in `journalctl -u hallq`;
#   - `systemctl reload` after an edit: applied, then unchanged;
#   - SIGSTOP: the watchdog kills it (SIGABRT) and it is restarted; kill -9:
#     restarted; `hallq verify` passes and nothing recorded is lost;
#   - `systemctl stop`: inactive, a clean exit; enabled: back after a reboot.
# Needs root, debootstrap and systemd-nspawn (systemd-container); tests/run.sh
# installs them. Without root it says so and skips. The Debian mirror is the
# one apt uses here (HALLQ_DEBIAN_MIRROR overrides it); the debootstrapped
# tree is cached as target/systemd-boot/rootfs-SUITE.tar and each run unpacks
# a fresh copy. The binary is HALLQ_TEST_BIN or target/debug/hallq (built by
# `cargo test`); it must run on the host's glibc, hence the host's release.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ "$(id -u)" != 0 ]; then
    echo "tests/systemd_boot.sh: SKIPPED: needs root (debootstrap, systemd-nspawn)" >&2
    exit 0
fi
for cmd in debootstrap systemd-nspawn nsenter; do
    command -v "$cmd" >/dev/null 2>&1 || {
        echo "tests/systemd_boot.sh: $cmd is missing (tests/run.sh installs it)" >&2
        exit 1
    }
done
bin=${HALLQ_TEST_BIN:-$repo/target/debug/hallq}
[ -x "$bin" ] || {
    echo "tests/systemd_boot.sh: no hallq binary at $bin (cargo build, or set HALLQ_TEST_BIN)" >&2
    exit 1
}

t0=$SECONDS
say() { echo "systemd_boot: [$((SECONDS - t0))s] $*"; }

# --- The machine ------------------------------------------------------------
# shellcheck source=/dev/null
. /etc/os-release
suite=${VERSION_CODENAME:?/etc/os-release names no release codename}
mirror=${HALLQ_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}')
fi
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}')
fi
mirror=${mirror:-http://deb.debian.org/debian}
# systemd-sysv: systemd as /sbin/init; sudo: the README's steps use it.
packages=systemd,systemd-sysv,dbus,curl,ca-certificates,sudo

work=$repo/target/systemd-boot
mkdir -p "$work"
cache=$work/rootfs-$suite.tar
stamp="$suite $mirror $packages"
if [ ! -f "$cache" ] || [ "$(cat "$cache.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "debootstrap $suite from $mirror (once; cached as $cache)"
    rm -rf "$work/debootstrap"
    debootstrap --variant=minbase --include="$packages" "$suite" "$work/debootstrap" "$mirror" \
        >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        exit 1
    }
    tar -C "$work/debootstrap" -cf "$cache.tmp" .
    mv "$cache.tmp" "$cache"
    echo "$stamp" >"$cache.stamp"
    rm -rf "$work/debootstrap"
    say "debootstrap done"
fi

name=hallq-boot-$$
root=$work/$name
rm -rf "$root"
mkdir "$root"
tar -C "$root" -xf "$cache"
# What an installer leaves: a host name that resolves (sudo asks).
echo "$name" >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost\n' "$name" >"$root/etc/hosts"
# The checkout the README's commands run in (only what they read).
mkdir -p "$root/root/hallq/systemd" "$root/root/hallq/firmware-config/examples" \
    "$root/root/hallq/target/debug"
cp systemd/hallq.service "$root/root/hallq/systemd/"
cp firmware-config/examples/*.toml "$root/root/hallq/firmware-config/examples/"
cp "$bin" "$root/root/hallq/target/debug/hallq"

# A host without systemd as PID 1 (a CI container or VM) has no system bus
# for nspawn to ask for a scope: the container stays in this process's
# cgroup (--keep-unit). Under systemd, nspawn gets a delegated scope.
nspawn_opts=(--register=no)
[ -d /run/systemd/system ] || nspawn_opts+=(--keep-unit)
nspawn_pid=
leader=
boot() {
    # --private-network: the container's 8080 is its own.
    systemd-nspawn -D "$root" --machine="$name" -b "${nspawn_opts[@]}" \
        --private-network --console=passive >>"$work/$name.console.log" 2>&1 </dev/null &
    nspawn_pid=$!
    # The container's PID 1 is nspawn's child, a copy of nspawn until it
    # executes /sbin/init: it must become systemd itself.
    leader=
    local child comm=
    for _ in $(seq 1 300); do
        child=$(awk '{print $1}' "/proc/$nspawn_pid/task/$nspawn_pid/children" 2>/dev/null || true)
        comm=$(cat "/proc/$child/comm" 2>/dev/null || true)
        [ -n "$child" ] && [ "$comm" = systemd ] && break
        kill -0 "$nspawn_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$comm" = systemd ] || {
        cat "$work/$name.console.log" >&2
        fail "systemd-nspawn did not boot systemd as PID 1 (PID 1: '$comm')"
    }
    leader=$child
    # systemctl needs PID 1's socket, there a moment after PID 1 starts
    # (before it, systemctl says nothing or "offline").
    local state=
    for _ in $(seq 1 240); do
        state=$(in_c timeout 120 systemctl is-system-running --wait 2>/dev/null || true)
        case $state in "" | offline) sleep 0.5 ;; *) break ;; esac
    done
    [ "$state" = running ] || {
        in_c systemctl --failed --no-pager >&2 || true
        fail "the booted system is '$state', not running"
    }
}
# A command in the container, as root at a login's PATH.
in_c() {
    nsenter -t "$leader" -a env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
poweroff() {
    [ -n "$nspawn_pid" ] || return 0
    # nspawn turns SIGTERM into a clean poweroff of the container.
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
        kill -0 "$nspawn_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
        # Killing the container's PID 1 ends every process in it.
        [ -z "$leader" ] || kill -KILL "$leader" 2>/dev/null || true
        kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=
    leader=
}
failed=0
fail() {
    echo "systemd_boot: FAIL: $*" >&2
    failed=1
    if [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null; then
        echo "--- systemctl status hallq; journalctl (last 60 lines) ---" >&2
        in_c systemctl status hallq --no-pager >&2 || true
        in_c journalctl --no-pager -n 60 >&2 || true
    fi
    exit 1
}
cleanup() {
    local rc=$?
    [ "$rc" = 0 ] || failed=1
    poweroff
    rm -rf "/run/systemd/nspawn/propagate/$name"
    if [ "$failed" = 0 ]; then
        rm -rf "$root" "$work/$name.console.log" "$work/$name.readme.log"
    else
        echo "systemd_boot: the machine is kept in $root for a look" >&2
    fi
}
trap cleanup EXIT

boot
say "booted: systemd is PID 1 and the system is running"

# --- README, "Install under systemd", as written -----------------------------
# Its first ```sh block, with two changes: step 1 installs this build's
# binary (README's own `install -m 0755 … /usr/local/bin/` form; no cargo in
# the machine), and the interactive lines (sudoedit, journalctl -f) are left out.
steps=$(awk '/^## Install under systemd/ {on = 1; next}
    on && /^```sh/ {block = 1; next}
    block && /^```/ {exit}
    block' README.md)
for want in 'useradd --system' 'install -m 0644 systemd/hallq.service' 'systemctl enable --now hallq' \
    'hallq check /etc/hallq/hall.toml'; do
    grep -qF -- "$want" <<<"$steps" || fail "README's install steps no longer contain '$want'"
done
steps=$(sed -e 's|^cargo install --locked --path \. --root /usr/local$|install -m 0755 target/debug/hallq /usr/local/bin/|' \
    -e '/^sudoedit /d' -e '/journalctl .*-f$/d' <<<"$steps")
grep -q '^cargo install' <<<"$steps" && fail "README's step 1 changed; update tests/systemd_boot.sh"
printf '%s\n' "cd /root/hallq" "set -ex" "$steps" >"$root/root/readme-steps.sh"
in_c timeout 180 bash /root/readme-steps.sh >"$work/$name.readme.log" 2>&1 || {
    cat "$work/$name.readme.log" >&2
    fail "README's install steps failed in the booted machine (log above)"
}
# `systemctl enable --now` returned: with Type=notify that is after READY=1,
# so HTTP answers at once (no retry).
in_c curl -fsS --max-time 10 localhost:8080/healthz >/dev/null || fail "no HTTP answer right after start"
say "README's install steps passed"

# --- The running service ----------------------------------------------------
show() { in_c systemctl show -p "$1" --value hallq; }
expect() { # expect WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
    echo "ok - $1 = $3"
}
expect "Type (readiness is READY=1)" "$(show Type)" notify
expect "NotifyAccess" "$(show NotifyAccess)" main
expect "is-active" "$(in_c systemctl is-active hallq || true)" active
expect "is-enabled" "$(in_c systemctl is-enabled hallq || true)" enabled
expect "SubState" "$(show SubState)" running
expect "NRestarts" "$(show NRestarts)" 0
# STATUS= comes with READY=1 only.
status_text=$(show StatusText)
expect "StatusText (sent with READY=1)" "$status_text" "listening on http://0.0.0.0:8080"
expect "WatchdogUSec" "$(show WatchdogUSec)" 30s
# The watchdog is armed: systemd has had a WATCHDOG=1 or READY=1 timestamp.
[ "$(show WatchdogTimestampMonotonic)" != 0 ] || fail "the watchdog is not armed"

pid=$(show MainPID)
[ "$pid" -gt 1 ] || fail "no main PID"
proc_status=$(in_c cat "/proc/$pid/status")
field() { awk -v k="$1:" '$1 == k {print $2}' <<<"$proc_status"; }
uid=$(in_c id -u hallq)
expect "the process's user" "$(field Uid)" "$uid"
expect "CapEff" "$(field CapEff)" 0000000000000000
expect "CapPrm" "$(field CapPrm)" 0000000000000000
expect "CapBnd" "$(field CapBnd)" 0000000000000000
expect "NoNewPrivs" "$(field NoNewPrivs)" 1
expect "Seccomp (a filter)" "$(field Seccomp)" 2
# ProtectSystem=strict in its mount namespace: / read-only, the state directory writable.
mounts=$(in_c cat "/proc/$pid/mountinfo")
mount_opts() { awk -v m="$1" '$5 == m {o = $6} END {print o}' <<<"$mounts"; }
[[ ",$(mount_opts /)," == *,ro,* ]] || fail "/ is not read-only for the service: $(mount_opts /)"
[[ ",$(mount_opts /var/lib/hallq)," == *,rw,* ]] || fail "/var/lib/hallq is not writable for the service"
echo "ok - / read-only, /var/lib/hallq writable for the service"

expect "/var/lib/hallq owner, mode" "$(in_c stat -c '%U:%G %a' /var/lib/hallq)" "hallq:hallq 700"
expect "the journal's owner" "$(in_c stat -c '%U' /var/lib/hallq/journal.sqlite)" hallq
in_c journalctl -u hallq --no-pager -o cat | grep -q 'hall replayed.*journal=/var/lib/hallq/journal.sqlite' ||
    fail "journalctl -u hallq lacks the daemon's 'hall replayed' line"
echo "ok - journalctl -u hallq has the daemon's lines"

health() { in_c curl -fsS --max-time 10 localhost:8080/healthz; }
seq_of() { sed -n 's/.*"journal_seq":\([0-9]*\).*/\1/p' <<<"$1"; }

# --- Reload -----------------------------------------------------------------
# Wait (at most 30 s) for a log line of hallq's with PATTERN after cursor CURSOR.
wait_log() {
    for _ in $(seq 1 60); do
        in_c journalctl -u hallq --no-pager -o cat --after-cursor="$1" | grep -q -- "$2" && return 0
        sleep 0.5
    done
    fail "no '$2' in journalctl -u hallq within 30 s"
}
cursor() { in_c journalctl -u hallq -n 1 --show-cursor -q -o cat | sed -n 's/^-- cursor: //p'; }
in_c sed -i 's/^name = "不动产查档"$/name = "不动产查档服务"/' /etc/hallq/hall.toml
in_c sudo -u hallq hallq check /etc/hallq/hall.toml >/dev/null || fail "hallq check refused the edit"
c=$(cursor)
in_c systemctl reload hallq || fail "systemctl reload hallq failed"
wait_log "$c" 'configuration reload finished.*result="applied"'
in_c journalctl -u hallq --no-pager -o cat --after-cursor="$c" | grep -q '不动产查档 → 不动产查档服务\|"不动产查档" → "不动产查档服务"' ||
    fail "the reload did not log the renamed service"
echo "ok - systemctl reload after an edit: applied"
c=$(cursor)
in_c systemctl reload hallq || fail "the second reload failed"
wait_log "$c" 'result="unchanged"'
echo "ok - systemctl reload again: unchanged"
seq_before=$(seq_of "$(health)")
[ -n "$seq_before" ] || fail "no journal_seq in /healthz"

# --- Watchdog and crash restarts ---------------------------------------------
# Wait (at most LIMIT s) until hallq runs again under a new PID after NRESTARTS restarts.
wait_restarted() { # OLD_PID NRESTARTS LIMIT
    for _ in $(seq 1 $(($3 * 2))); do
        if [ "$(show NRestarts)" = "$2" ] && [ "$(show ActiveState)" = active ] &&
            [ "$(show MainPID)" != "$1" ] && [ "$(show MainPID)" != 0 ]; then
            return 0
        fi
        sleep 0.5
    done
    fail "hallq was not restarted within $3 s (NRestarts $(show NRestarts), $(show ActiveState)/$(show SubState))"
}
c=$(cursor)
pid=$(show MainPID)
# The shell's kill: procps (/bin/kill) is not in a minimal system.
# shellcheck disable=SC2016
in_c sh -c 'kill -STOP "$1"' sh "$pid"
say "SIGSTOP to hallq ($pid); the watchdog (30 s) must end it"
wait_restarted "$pid" 1 90
in_c journalctl -u hallq --no-pager -o cat --after-cursor="$c" | grep -q 'Watchdog timeout' ||
    fail "the restart was not the watchdog's"
in_c journalctl -u hallq --no-pager -o cat --after-cursor="$c" | grep -q 'status=6/ABRT' ||
    fail "the watchdog did not end hallq with SIGABRT"
h=$(health) || fail "no HTTP answer after the watchdog restart"
expect "journal_seq after the watchdog restart" "$(seq_of "$h")" "$seq_before"
echo "ok - watchdog: SIGABRT, restarted, HTTP answers, nothing lost"

pid=$(show MainPID)
# shellcheck disable=SC2016
in_c sh -c 'kill -KILL "$1"' sh "$pid"
wait_restarted "$pid" 2 60
h=$(health) || fail "no HTTP answer after kill -9"
expect "journal_seq after kill -9" "$(seq_of "$h")" "$seq_before"
echo "ok - kill -9: restarted"
in_c sudo -u hallq hallq verify --data /var/lib/hallq >/dev/null || fail "hallq verify failed on /var/lib/hallq"
echo "ok - hallq verify --data /var/lib/hallq"

# --- Stop, reboot -----------------------------------------------------------
in_c systemctl stop hallq || fail "systemctl stop hallq failed"
expect "ActiveState after stop" "$(show ActiveState)" inactive
expect "Result after stop" "$(show Result)" success
expect "exit status after stop" "$(show ExecMainStatus)" 0
expect "NRestarts after stop" "$(show NRestarts)" 2
in_c journalctl -u hallq --no-pager -o cat | grep -q 'owner stopped after its last commit' ||
    fail "no clean owner stop in the log"
say "rebooting the machine"
poweroff
boot
expect "is-active after a reboot (enabled)" "$(in_c systemctl is-active hallq || true)" active
h=$(health) || fail "no HTTP answer after the reboot"
expect "journal_seq after the reboot" "$(seq_of "$h")" "$seq_before"
in_c journalctl -u hallq --no-pager -o cat -b | grep -q 'hall replayed' || fail "no start in this boot's log"
in_c systemctl stop hallq
in_c sudo -u hallq hallq verify --data /var/lib/hallq >/dev/null || fail "hallq verify failed after the reboot"
echo "ok - enabled: back after a reboot, data intact"
say "all checks passed"
