# /usr/lib/lab/daemons.sh: how a lab host's daemons start and stop. Sourced by
# /etc/lab/rc.sh at boot (in busybox sh, in each host's namespaces) and by test
# sessions (bash, lab/daemons.ts), so that a test stops and restarts a daemon
# exactly as the boot started it. Run in a host's namespaces, each function
# works on that host's own /run (the PID files), /etc and /var/log.
#
# Every daemon runs in the foreground of a background job (or writes its own
# PID file), so its PID is known: the guest has one PID namespace for all
# hosts, and a daemon is only ever stopped by its PID, never by its name.

# lab_ms: the guest's clock in milliseconds since the epoch (bash's
# EPOCHREALTIME, no process started; busybox sh falls back on date).
lab_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t=${EPOCHREALTIME/./}
    echo $((t / 1000))
  else
    date +%s%3N
  fi
}

# lab_tcp_listens PORT: whether a TCP socket of this network namespace listens
# on PORT (IPv4 or IPv6), from /proc/net/tcp{,6} with shell builtins only.
lab_tcp_listens() {
  local hex f sl addr rest
  hex=$(printf '%04X' "$1")
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r sl addr rest; do
      case "$addr ${rest#* }" in *":$hex 0A "*) return 0 ;; esac
    done <"$f"
  done
  return 1
}

# lab_wait_tcp PORT: waits (10 s at most) until something listens on PORT.
lab_wait_tcp() {
  local n=0
  until lab_tcp_listens "$1"; do
    n=$((n + 1))
    [ "$n" -le 200 ] || { echo "nothing listens on TCP port $1 after 10 s" >&2; return 1; }
    sleep 0.05
  done
}

# lab_web_start PORT...: busybox httpd on each PORT, serving /srv/www/HOST/PORT
# (the host's page and its health page), its PID in /run/httpd-PORT.pid, its
# log in /var/log/httpd-PORT.log; returns once every PORT listens.
lab_web_start() {
  local h p
  read -r h </proc/sys/kernel/hostname
  for p in "$@"; do
    httpd -f -p "$p" -h "/srv/www/$h/$p" </dev/null >>"/var/log/httpd-$p.log" 2>&1 &
    echo $! >"/run/httpd-$p.pid"
  done
  for p in "$@"; do lab_wait_tcp "$p"; done
}

# lab_web_stop PORT...: stops the httpd on each PORT (see lab_stop).
lab_web_stop() {
  local p
  for p in "$@"; do lab_stop "/run/httpd-$p.pid" httpd; done
}

# lab_dns_start: dnsmasq with the host's /etc/dnsmasq.conf (generated from
# lab/topology.ts). dnsmasq binds its sockets before it daemonises, and the
# parent returns once the daemon has written /run/dnsmasq.pid: it answers when
# this returns.
lab_dns_start() {
  dnsmasq --conf-file=/etc/dnsmasq.conf
}

lab_dns_stop() {
  lab_stop /run/dnsmasq.pid dnsmasq
}

# lab_keepalived_args [FILE]: the words of DAEMON_ARGS in FILE (default
# /etc/default/keepalived), one a line, as Debian's keepalived.service gets
# them: systemd's EnvironmentFile= reads KEY=VALUE lines (one pair of quotes
# around VALUE removed, never run as shell) and ExecStart= splits $DAEMON_ARGS
# at whitespace. Nothing when the file or the variable is absent.
lab_keepalived_args() {
  local file=${1:-/etc/default/keepalived} line value= word
  [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in DAEMON_ARGS=*) value=${line#DAEMON_ARGS=} ;; esac
  done <"$file"
  case "$value" in \"*\") value=${value#\"} value=${value%\"} ;; \'*\') value=${value#\'} value=${value%\'} ;; esac
  set -f
  for word in $value; do printf '%s\n' "$word"; done
  set +f
}

# lab_keepalived_start [-- OPTION...]: keepalived as Debian's keepalived.service
# starts it: `keepalived --dont-fork $DAEMON_ARGS` (lab_keepalived_args), or
# with the OPTIONs after -- instead of DAEMON_ARGS; its config is keepalived's default,
# /etc/keepalived/keepalived.conf, unless an OPTION says otherwise. It runs in
# its own session (it outlives the SSH session that started it), logging to the
# console (-l -D, no syslog: the guest has none) into /var/log/keepalived.log,
# with Debian's PID files in this host's /run (/run/keepalived.pid,
# /run/checkers.pid, /run/vrrp.pid). Prints its PID once /run/keepalived.pid
# names it (30 s at most), or fails with the log's tail.
lab_keepalived_start() {
  local pid pidfile n=0 IFS
  if [ "${1:-}" = -- ]; then
    shift
  else
    # One word a line: split at newlines only, no globbing.
    IFS='
'
    set -f
    set -- $(lab_keepalived_args)
    set +f
    unset IFS
  fi
  rm -f /run/keepalived.pid
  setsid keepalived --dont-fork --log-console --log-detail --no-syslog "$@" </dev/null >>/var/log/keepalived.log 2>&1 &
  pid=$!
  until [ -s /run/keepalived.pid ] && read -r pidfile </run/keepalived.pid && [ "$pidfile" = "$pid" ]; do
    n=$((n + 1))
    if ! kill -0 "$pid" 2>/dev/null || [ "$n" -gt 300 ]; then
      echo "keepalived (PID $pid) did not start; /var/log/keepalived.log ends:" >&2
      tail -n 20 /var/log/keepalived.log >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$pid"
}

# lab_keepalived_reload PID: what keepalived.service's reload does (SIGHUP to
# the keepalived that /run/keepalived.pid names; it must be PID): keepalived
# rereads its config and changes the IPVS table to match.
lab_keepalived_reload() {
  local named
  read -r named </run/keepalived.pid
  [ "$named" = "$1" ] && lab_is "$1" keepalived || { echo "/run/keepalived.pid names ${named:-nothing}, not a running keepalived $1" >&2; return 1; }
  kill -HUP "$1"
}

# lab_keepalived_stop PID: stops the keepalived that /run/keepalived.pid names
# (it must be PID) and waits for it and its checker and VRRP children to exit.
lab_keepalived_stop() {
  local named child children=
  read -r named </run/keepalived.pid
  [ "$named" = "$1" ] || { echo "/run/keepalived.pid names $named, not $1" >&2; return 1; }
  for child in /run/checkers.pid /run/vrrp.pid /run/bfd.pid; do
    if [ -s "$child" ]; then children="$children $(cat "$child")"; fi
  done
  lab_stop /run/keepalived.pid keepalived
  for child in $children; do lab_wait_gone "$child" keepalived; done
}

# lab_stop PIDFILE NAME: sends SIGTERM to the process PIDFILE names, which must
# be NAME (its argv[0]: the guest's PIDs are shared by every host), waits (10 s
# at most) until it has exited, and removes PIDFILE.
lab_stop() {
  local pid
  read -r pid <"$1"
  lab_is "$pid" "$2" || { echo "$1 names PID $pid, which is not a running $2" >&2; return 1; }
  kill -TERM "$pid"
  lab_wait_gone "$pid" "$2"
  rm -f "$1"
}

# lab_is PID NAME: whether PID is a live process whose argv[0] is NAME (or ends in /NAME).
lab_is() {
  local argv0 state
  [ -r "/proc/$1/cmdline" ] || return 1
  read -r _ _ state _ <"/proc/$1/stat" || return 1
  [ "$state" != Z ] || return 1
  IFS= read -r -d '' argv0 <"/proc/$1/cmdline" || [ -n "$argv0" ] || return 1
  [ "${argv0##*/}" = "$2" ]
}

# lab_wait_gone PID NAME: waits (10 s at most) until PID is no longer NAME.
lab_wait_gone() {
  local n=0
  while lab_is "$1" "$2"; do
    n=$((n + 1))
    [ "$n" -le 200 ] || { echo "$2 (PID $1) did not exit within 10 s" >&2; return 1; }
    sleep 0.05
  done
}
