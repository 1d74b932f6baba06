#!/usr/bin/env bash
# Real Asterisk for the telephony tests (issue 17), in a Debian unstable chroot.
#
#   .ci/asterisk.sh          build the tree if needed, write the config, start Asterisk, wait for
#                            ARI, print ONE line on stdout: the ARI base URL (http://127.0.0.1:8088)
#   .ci/asterisk.sh stop     stop Asterisk and unmount the chroot's /proc and /dev
#   .ci/asterisk.sh build    only install the host tools and build (or reuse) the tree
#
# Asterisk is not in Debian 12, Debian unstable has Asterisk 22. The tree is built once with
# debootstrap under $DIALER_ASTERISK_ROOT (default /var/cache/dialer-asterisk/sid) and reused on the
# same machine. It also installs the host's tools for the customer and agent sides (sip-tester,
# baresip, sox, espeak-ng). Everything but the URL goes to stderr. If the tree cannot be built or
# Asterisk does not start, it exits non-zero: the tests must fail, not skip.
#
# Environment:
#   DIALER_ASTERISK_ROOT       chroot directory (default /var/cache/dialer-asterisk/sid)
#   DIALER_ASTERISK_HTTP_PORT  ARI/HTTP port on 127.0.0.1 (default 8088)
#   DIALER_ASTERISK_MIRROR     Debian mirror (default http://deb.debian.org/debian)
#
# Inside the chroot: config /etc/asterisk (from .ci/asterisk/, rewritten at every start), log
# /var/log/asterisk/messages.log, bridge recordings /var/spool/asterisk/recording. On the host
# these are under $DIALER_ASTERISK_ROOT.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="${DIALER_ASTERISK_ROOT:-/var/cache/dialer-asterisk/sid}"
ROOT="$(realpath -m "$ROOT")"
HTTP_PORT="${DIALER_ASTERISK_HTTP_PORT:-8088}"
MIRROR="${DIALER_ASTERISK_MIRROR:-http://deb.debian.org/debian}"
READY="$ROOT/.dialer-asterisk-ready"
ARI_URL="http://127.0.0.1:$HTTP_PORT"

log() { echo "asterisk.sh: $*" >&2; }
# Starts, restarts and stops also go to <root>.events.log, to tell afterwards who restarted the
# shared Asterisk under someone's tests.
event() {
  echo "$(date -u +%FT%TZ) pid $$ (parent: $(tr '\0' ' ' </proc/$PPID/cmdline 2>/dev/null | cut -c1-120)): $*" \
    >>"$ROOT.events.log" 2>/dev/null || true
}
die() { echo "asterisk.sh: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"

# Mount points under $1, deepest first.
mounts_under() {
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all() {
  local m
  for m in $(mounts_under "$1"); do
    umount "$m" 2>/dev/null || umount -l "$m" || die "cannot unmount $m"
  done
}

# Remove a directory tree, never through a mount (a bind-mounted /dev must never be emptied).
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_all "$1"
  [ -z "$(mounts_under "$1")" ] || die "still mounted under $1; not removing it"
  rm -rf --one-file-system "$1"
}

host_packages() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v sipp >/dev/null || need+=(sip-tester)
  command -v baresip >/dev/null || need+=(baresip)
  command -v sox >/dev/null || need+=(sox)
  command -v espeak-ng >/dev/null || need+=(espeak-ng)
  command -v curl >/dev/null || need+=(curl)
  if [ "${#need[@]}" -gt 0 ]; then
    log "installing on the host: ${need[*]}"
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2 \
      || die "cannot install ${need[*]} on the host"
  fi
}

mount_chroot() {
  local root="$1"
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc" || die "cannot mount $root/proc"
  mountpoint -q "$root/dev" || mount --bind /dev "$root/dev" || die "cannot bind-mount $root/dev"
}

build_tree() {
  if [ -f "$READY" ]; then
    log "reusing the tree at $ROOT"
    return 0
  fi
  local build="$ROOT.build" started=$SECONDS
  log "building a Debian unstable tree at $ROOT (debootstrap from $MIRROR; a few minutes)"
  remove_tree "$build"
  remove_tree "$ROOT"
  mkdir -p "$(dirname "$ROOT")"
  debootstrap --variant=minbase --include=ca-certificates sid "$build" "$MIRROR" >&2 \
    || { unmount_all "$build"; die "debootstrap of Debian unstable into $build failed (mirror $MIRROR)"; }
  # The mirror's Release file may be older than its Valid-Until when the clock runs ahead.
  echo 'Acquire::Check-Valid-Until "false";' >"$build/etc/apt/apt.conf.d/99dialer-rig"
  # Keep the tree small: no docs, no man pages.
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\n' \
    >"$build/etc/dpkg/dpkg.cfg.d/99dialer-rig"
  mount_chroot "$build"
  if ! { chroot "$build" apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive chroot "$build" apt-get install -y -qq --no-install-recommends \
      asterisk asterisk-core-sounds-en-gsm >&2; }; then
    unmount_all "$build"
    die "cannot install asterisk in the Debian unstable tree $build"
  fi
  chroot "$build" apt-get clean >&2 || true
  unmount_all "$build"
  [ -x "$build/usr/sbin/asterisk" ] || die "no /usr/sbin/asterisk in the tree after the install"
  # Debian's own sample configuration is kept aside; the rig writes its own /etc/asterisk.
  mv "$build/etc/asterisk" "$build/etc/asterisk.debian"
  mv "$build" "$ROOT"
  touch "$READY"
  log "tree built in $((SECONDS - started)) s"
}

# The pid of the Asterisk main process running in this tree (its pid file, else a process whose
# root is the tree), or fail.
asterisk_pid() {
  local pidfile="$ROOT/run/asterisk/asterisk.pid" pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ]; then
    echo "$pid"
    return 0
  fi
  for pid in $(pgrep -x asterisk || true); do
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] &&
      [ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" = "/usr/sbin/asterisk -U asterisk -G asterisk " ]; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

ari_up() {
  curl -fsS -m 2 -u dialer:dialer "$ARI_URL/ari/asterisk/info" >/dev/null 2>&1
}

# ARI healthy beyond /asterisk/info: the Stasis application registry answers and a websocket opens.
# (Seen on Asterisk 22.10: a deadlock where /asterisk/info still answers but /applications and
# every websocket handshake hang; the only cure is a restart.)
ari_healthy() {
  local try
  for try in 1 2 3; do
    if curl -fsS -m 5 -u dialer:dialer "$ARI_URL/ari/applications" >/dev/null 2>&1 && ws_probe; then
      return 0
    fi
    log "ARI health probe $try/3 failed"
    sleep 2
  done
  return 1
}

# Open an ARI websocket, read the status line, close: true on "101 Switching Protocols".
ws_probe() {
  python3 - "$HTTP_PORT" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /ari/events?app=dialer-rig-probe&api_key=dialer:dialer HTTP/1.1\r\n"
          b"Host: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZGlhbGVyLXJpZy1wcm9iZQ==\r\n\r\n")
line = s.recv(64).split(b"\r\n")[0]
s.close()
sys.exit(0 if b" 101 " in line else 1)
PY
}

config_digest() {
  cat "$ROOT"/etc/asterisk/*.conf 2>/dev/null | md5sum
}

write_config() {
  local etc="$ROOT/etc/asterisk" f
  rm -rf "$etc"
  mkdir -p "$etc"
  for f in "$HERE"/asterisk/*.conf; do
    sed -e "s/@HTTP_PORT@/$HTTP_PORT/g" "$f" >"$etc/$(basename "$f")"
  done
  chroot "$ROOT" chown -R root:asterisk /etc/asterisk
  chmod 750 "$etc"
  chmod 640 "$etc"/*
  # Directories Asterisk writes to as its own user (systemd would make /run/asterisk).
  install -d "$ROOT/run/asterisk" "$ROOT/var/spool/asterisk/recording" "$ROOT/var/log/asterisk" \
    "$ROOT/usr/share/asterisk/sounds/dialer"
  chroot "$ROOT" chown -R asterisk:asterisk /run/asterisk /var/spool/asterisk /var/log/asterisk \
    /var/lib/asterisk /var/cache/asterisk
}

start() {
  host_packages
  build_tree
  mount_chroot "$ROOT"
  if asterisk_pid >/dev/null && ari_up && ari_healthy; then
    # Already running (another test module, or another engineer's run): keep it, but apply the
    # current configuration if it changed.
    local before after
    before="$(config_digest)"
    write_config
    after="$(config_digest)"
    if [ "$before" != "$after" ]; then
      log "configuration changed; reloading Asterisk"
      chroot "$ROOT" /usr/sbin/asterisk -rx 'core reload' >&2 || die "asterisk core reload failed"
      sleep 1
    fi
    log "Asterisk already running (pid $(asterisk_pid)); ARI at $ARI_URL"
    echo "$ARI_URL"
    return 0
  fi
  if pid="$(asterisk_pid)"; then
    log "Asterisk (pid $pid) runs but ARI does not answer (or is deadlocked); restarting it"
    event "restart: Asterisk pid $pid unhealthy"
    stop_asterisk
  fi
  if ari_up; then
    die "something else answers ARI at $ARI_URL (not this rig's Asterisk); set DIALER_ASTERISK_HTTP_PORT"
  fi
  write_config
  local started=$SECONDS
  # 9>&-: the daemon must not inherit (and so hold forever) this script's lock.
  chroot "$ROOT" /usr/sbin/asterisk -U asterisk -G asterisk >&2 9>&- || die "asterisk did not start (see $ROOT/var/log/asterisk/messages.log)"
  for _ in $(seq 150); do
    if ari_up; then
      event "started Asterisk pid $(asterisk_pid || echo '?')"
      log "Asterisk up in $((SECONDS - started)) s (pid $(asterisk_pid || echo '?')); ARI at $ARI_URL; log $ROOT/var/log/asterisk/messages.log; recordings $ROOT/var/spool/asterisk/recording"
      echo "$ARI_URL"
      return 0
    fi
    sleep 0.2
  done
  tail -20 "$ROOT/var/log/asterisk/messages.log" >&2 2>/dev/null || true
  die "Asterisk started but ARI did not answer at $ARI_URL within 30 s"
}

stop_asterisk() {
  local pid
  pid="$(asterisk_pid)" || return 0
  chroot "$ROOT" /usr/sbin/asterisk -rx 'core stop now' >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if [ -d "/proc/$pid" ]; then
    log "Asterisk (pid $pid) did not stop; killing it"
    kill -9 "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  [ "$(cat "$ROOT/run/asterisk/asterisk.pid" 2>/dev/null)" != "$pid" ] || rm -f "$ROOT/run/asterisk/asterisk.pid"
}

stop() {
  [ -d "$ROOT" ] || { log "no tree at $ROOT; nothing to stop"; return 0; }
  event "stop requested"
  stop_asterisk
  unmount_all "$ROOT"
  log "stopped"
}

# One invocation at a time per tree (two test runs starting the rig at once must not both restart it).
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.script.lock"
flock -w 900 9 || die "another .ci/asterisk.sh holds $ROOT.script.lock"

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  build) host_packages && build_tree ;;
  *) die "usage: $0 [start|stop|build]" ;;
esac
