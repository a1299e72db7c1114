#!/usr/bin/env bash
# Installs from Debian the real peers that the interop suite and the bench run against:
# curl and wrk (clients), nginx and haproxy (servers and reference proxies), taskset (util-linux)
# and ps (procps); for the Layer 4 suite vsftpd (FTP real servers), lftp (FTP client), iperf3
# (bulk TCP), dig (bind9-dnsutils), unbound (the DNS server dig asks), str2str (rtklib: NTRIP
# caster, server and client) and openssl (the FTPS certificate); for GSLB kdig (knot-dnsutils,
# a second DNS client), ping (iputils-ping: the icmp site check), dnsperf (the DNS load generator)
# gdnsd (the reference authoritative server of the bench) and mmdblookup (mmdb-bin: MaxMind's C
# reader, which checks the test GeoIP database writer); for the bench's latency at a fixed rate
# h2load (nghttp2-client: an HTTP/1.1 load generator paced with --rps, and HTTP/2 load), nghttp (the
# same package: HTTP/2 frames in the interop suite); for the TLS policies
# testssl (testssl.sh: scans each policy for weak protocols, ciphers and known vulnerabilities); for
# ACME pebble (Let's Encrypt's ACME test CA, with pebble-challtestsrv: issue, renew and revoke end to
# end); for the bench's HTTP/2 rows h2o (a reference HTTP/2 proxy beside nginx and HAProxy).
# Idempotent: runs
# `apt-get update` and `apt-get install` only for what is missing.
#
# We never use the system nginx, haproxy, vsftpd, unbound or gdnsd services: tests and the bench start
# their own instances as foreground processes with their own config files on loopback ports. A
# policy-rc.d that answers 101 ("action forbidden") keeps Debian's postinst scripts from starting
# any of them (nginx's would otherwise bind port 80, vsftpd's 21, unbound's 53) for the duration of
# the install.
set -euo pipefail

# command name -> Debian package that provides it
declare -A PEERS=(
  [curl]=curl
  [wrk]=wrk
  [nginx]=nginx-light
  [haproxy]=haproxy
  [taskset]=util-linux
  [ps]=procps
  [vsftpd]=vsftpd
  [lftp]=lftp
  [iperf3]=iperf3
  [dig]=bind9-dnsutils
  [unbound]=unbound
  [str2str]=rtklib
  [openssl]=openssl
  [logger]=bsdutils
  [kdig]=knot-dnsutils
  [ping]=iputils-ping
  [dnsperf]=dnsperf
  [gdnsd]=gdnsd
  [mmdblookup]=mmdb-bin
  [ip]=iproute2
  [h2load]=nghttp2-client
  [nghttp]=nghttp2-client
  [testssl]=testssl.sh
  [pebble]=pebble
  [h2o]=h2o
  # The console's browser tests (interop/console.test.ts): playwright-core drives Debian's Chromium.
  [chromium]=chromium
  # `promtool check metrics` on GET /metrics (interop/metrics-promtool.test.ts).
  [promtool]=prometheus
)

have() {
  # nginx and haproxy live in /usr/sbin, which is not always on a non-root PATH
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || [[ -x "/usr/bin/$1" ]]
}

missing=()
for cmd in "${!PEERS[@]}"; do
  have "$cmd" || missing+=("${PEERS[$cmd]}")
done

if ((${#missing[@]} == 0)); then
  echo "install-peers: all peers present (${!PEERS[*]})"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi

echo "install-peers: installing ${missing[*]}"

policy=/usr/sbin/policy-rc.d
installed_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# written by fulcrum scripts/install-peers.sh for the duration of an install\nexit 101\n' |
    $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  installed_policy=1
fi
cleanup() {
  if ((installed_policy)); then $SUDO rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
run_logged() {
  if ! "$@" >>"$log" 2>&1; then
    echo "install-peers: failed: $*" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
}
run_logged $SUDO apt-get update -q

# nginx-light is the smallest build; newer Debian releases dropped it in favour of plain nginx.
for i in "${!missing[@]}"; do
  if [[ ${missing[$i]} == nginx-light ]] && ! apt-cache show nginx-light >/dev/null 2>&1; then
    missing[$i]=nginx
  fi
done

run_logged $SUDO apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}"
rm -f "$log"

# Belt and braces: if a service got started anyway (a policy-rc.d that was already there and allows
# it, or systemd), stop it so that it holds no port and writes no pid file we could trip over.
for svc in nginx haproxy vsftpd unbound prometheus; do
  if [[ -f /run/$svc.pid ]] && kill -0 "$(cat "/run/$svc.pid")" 2>/dev/null; then
    if command -v service >/dev/null 2>&1; then
      $SUDO service "$svc" stop >/dev/null 2>&1 || $SUDO kill "$(cat "/run/$svc.pid")" || true
    else
      $SUDO kill "$(cat "/run/$svc.pid")" || true
    fi
  fi
done

still_missing=()
for cmd in "${!PEERS[@]}"; do
  have "$cmd" || still_missing+=("$cmd")
done
if ((${#still_missing[@]} > 0)); then
  echo "install-peers: still missing after install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-peers: ok ($(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'), $(/usr/sbin/haproxy -v 2>/dev/null | head -1 | awk '{print $1, $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'))"
