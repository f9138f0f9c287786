#!/bin/sh
# Rendered by lvsc: the plan for host lb2 (backup-director), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- before anything changes
sh -c 'command -v keepalived >/dev/null || { printf '\''%s\n'\'' "$1" >&2; exit 1; }' sh 'keepalived is not installed on lb2: install the Debian package keepalived'

# --- prepare
# + module ip_vs  (load)
modprobe ip_vs
# + module ip_vs_rr  (load)
modprobe ip_vs_rr
# + module ip_vs_wlc  (load)
modprobe ip_vs_wlc
# + module ip_vs_wrr  (load)
modprobe ip_vs_wrr
# + sysctl net.ipv4.conf.all.send_redirects  ((unset) → 0)
sysctl -q -w net.ipv4.conf.all.send_redirects=0
# + sysctl net.ipv4.conf.eth1.send_redirects  ((unset) → 0)
sysctl -q -w net.ipv4.conf.eth1.send_redirects=0
# + sysctl net.ipv4.ip_forward  ((unset) → 1)
sysctl -q -w net.ipv4.ip_forward=1
# + sysctl net.ipv4.vs.expire_nodest_conn  ((unset) → 1)
sysctl -q -w net.ipv4.vs.expire_nodest_conn=1
# + sysctl net.ipv4.vs.expire_quiescent_template  ((unset) → 1)
sysctl -q -w net.ipv4.vs.expire_quiescent_template=1
# + file /etc/ipvsadm.rules  (render)
mkdir -p /etc
cat > /etc/ipvsadm.rules.lvsc-tmp <<'LVSC_EOF'
LVSC_EOF
mv -f /etc/ipvsadm.rules.lvsc-tmp /etc/ipvsadm.rules
# + file /etc/default/ipvsadm  (render)
mkdir -p /etc/default
cat > /etc/default/ipvsadm.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb2: Debian's ipvsadm service restores
# /etc/ipvsadm.rules at boot and starts the connection-sync daemon.
AUTO="true"
DAEMON="none"
IFACE=""
SYNCID="0"
LVSC_EOF
mv -f /etc/default/ipvsadm.lvsc-tmp /etc/default/ipvsadm
# + file /etc/default/keepalived  (render)
mkdir -p /etc/default
cat > /etc/default/keepalived.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb2: how Debian's keepalived service starts keepalived.
# --dont-release-ipvs: stopping keepalived (a restart, a package upgrade) leaves the IPVS
# entries it programmed in place, so live connections keep flowing.
DAEMON_ARGS="--dont-release-ipvs"
LVSC_EOF
mv -f /etc/default/keepalived.lvsc-tmp /etc/default/keepalived
# + file /etc/systemd/system/keepalived.service.d/lvsc.conf  (render)
mkdir -p /etc/systemd/system/keepalived.service.d
cat > /etc/systemd/system/keepalived.service.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb2: keepalived starts at boot after Debian's
# ipvsadm service, whose start flushes the IPVS table (ipvsadm -C) before it restores
# /etc/ipvsadm.rules; started before it, keepalived would lose the services it programmed.
[Unit]
After=ipvsadm.service
LVSC_EOF
mv -f /etc/systemd/system/keepalived.service.d/lvsc.conf.lvsc-tmp /etc/systemd/system/keepalived.service.d/lvsc.conf
# + file /usr/local/lib/lvsc/keepalived-notify  (render)
mkdir -p /usr/local/lib/lvsc
cat > /usr/local/lib/lvsc/keepalived-notify.lvsc-tmp <<'LVSC_EOF'
#!/bin/sh
# Rendered by lvsc: keepalived runs this when a checked real server goes up or down
# (notify_up / notify_down in /etc/keepalived/keepalived.conf), as
#   keepalived-notify up|down KIND A B ADDRESS PORT
# KIND A B is the service: tcp|udp|sctp VIP PORT, or fwmark MARK 4|6. It records
# `STATE KIND A B ADDRESS PORT SINCE` (SINCE in seconds since the epoch) in one file
# per server under the state directory, replaced atomically; lvsc's keepalived fact
# reads them. Every argument is checked: nothing else is ever written.
set -eu
dir=/run/lvsc/health
lvsc_bad() { echo "keepalived-notify: $1" >&2; exit 64; }
[ $# -eq 6 ] || lvsc_bad "6 arguments expected, got $#"
case $1 in up|down) ;; *) lvsc_bad "state is not up or down" ;; esac
case $2 in
  tcp|udp|sctp) case $3 in ''|*[!0-9A-Fa-f.:]*) lvsc_bad "not an address" ;; esac ;;
  fwmark) case $3 in ''|*[!0-9]*) lvsc_bad "not a mark" ;; esac
    case $4 in 4|6) ;; *) lvsc_bad "family is not 4 or 6" ;; esac ;;
  *) lvsc_bad "kind is not tcp, udp, sctp or fwmark" ;;
esac
case $4 in ''|*[!0-9]*) lvsc_bad "not a port" ;; esac
case $5 in ''|*[!0-9A-Fa-f.:]*) lvsc_bad "not an address" ;; esac
case $6 in ''|*[!0-9]*) lvsc_bad "not a port" ;; esac
umask 022
# The directory is root's: made here (as root) when missing, never followed through a link.
[ -d "$dir" ] || mkdir -p -m 0755 "$dir"
[ -d "$dir" ] && [ ! -L "$dir" ] || lvsc_bad "$dir is not a directory"
name="$2_$3_$4_$5_$6"
tmp="$dir/.$name.$$"
printf '%s %s %s %s %s %s %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$(date +%s)" > "$tmp"
mv -f "$tmp" "$dir/$name"
LVSC_EOF
mv -f /usr/local/lib/lvsc/keepalived-notify.lvsc-tmp /usr/local/lib/lvsc/keepalived-notify
# + file /etc/sysctl.d/90-lvsc.conf  (render)
mkdir -p /etc/sysctl.d
cat > /etc/sysctl.d/90-lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb2: the kernel settings LVS needs here.
# lvsc owns this file; edit the cluster description instead.
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.eth1.send_redirects = 0
net.ipv4.ip_forward = 1
net.ipv4.vs.expire_nodest_conn = 1
net.ipv4.vs.expire_quiescent_template = 1
LVSC_EOF
mv -f /etc/sysctl.d/90-lvsc.conf.lvsc-tmp /etc/sysctl.d/90-lvsc.conf
# + file /etc/modules-load.d/lvsc.conf  (render)
mkdir -p /etc/modules-load.d
cat > /etc/modules-load.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb2: kernel modules loaded at boot.
ip_vs
ip_vs_rr
ip_vs_wlc
ip_vs_wrr
LVSC_EOF
mv -f /etc/modules-load.d/lvsc.conf.lvsc-tmp /etc/modules-load.d/lvsc.conf
# + file /var/lib/lvsc/manifest.json  (render)
mkdir -p /var/lib/lvsc
cat > /var/lib/lvsc/manifest.json.lvsc-tmp <<'LVSC_EOF'
{
  "format": "lvsc-manifest",
  "version": 1,
  "host": "lb2",
  "addresses": [],
  "sysctls": [
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.eth1.send_redirects",
    "net.ipv4.ip_forward",
    "net.ipv4.vs.expire_nodest_conn",
    "net.ipv4.vs.expire_quiescent_template"
  ],
  "fouPorts": [],
  "files": [
    "/etc/default/ipvsadm",
    "/etc/default/keepalived",
    "/etc/ipvsadm.rules",
    "/etc/keepalived/keepalived.conf",
    "/etc/modules-load.d/lvsc.conf",
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/system/keepalived.service.d/lvsc.conf",
    "/usr/local/lib/lvsc/keepalived-notify"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json
# + unit keepalived.service  (enabled at boot)
sh -c 'if command -v systemctl >/dev/null 2>&1; then exec systemctl enable -- "$1"; fi
mkdir -p -- "$3" && exec ln -sfn -- "$2" "$3/$1"' sh keepalived.service /lib/systemd/system/keepalived.service /etc/systemd/system/multi-user.target.wants

# --- table
# + file /etc/keepalived/keepalived.conf  (render; checked by keepalived -t, then keepalived reloaded or started)
mkdir -p /etc/keepalived
sh -c 'cat > "$1"' sh /etc/keepalived/keepalived.conf.lvsc-new <<'LVSC_EOF'
# Rendered by lvsc for director lb2: the services whose servers have health checks,
# and the failover pair's VRRP instances, which hold the VIPs and floating addresses.
# keepalived checks the servers and programs these services' IPVS entries; lvsc's ipvsadm
# never writes them. lvsc owns this file; edit the cluster description instead.

global_defs {
  router_id lb2
  # lvsc's notify script: run as root, and only programs no other user can change
  enable_script_security
  script_user root
  # connection sync: master while lvsc_eth0 is MASTER, backup otherwise
  lvs_sync_daemon eth1 lvsc_eth0 id 7
}

# one state for every instance: a link failing on one moves all the addresses
vrrp_sync_group lvsc {
  group {
    lvsc_eth0
    lvsc_eth1
  }
}

vrrp_instance lvsc_eth0 {
  # both directors start as backup; the higher priority becomes master
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  preempt_delay 60
  virtual_ipaddress {
    10.3.0.100/24 dev eth0 no_track
    10.3.0.101/24 dev eth0 no_track
    10.3.0.102/24 dev eth0 no_track
  }
}

vrrp_instance lvsc_eth1 {
  # both directors start as backup; the higher priority becomes master
  state BACKUP
  interface eth1
  virtual_router_id 51
  priority 100
  advert_int 1
  preempt_delay 60
  virtual_ipaddress {
    192.168.30.1/32 dev eth1 no_track
  }
}

# service www
virtual_server 10.3.0.100 80 {
  protocol TCP
  lvs_sched wlc
  lvs_method DR
  # every server starts down until its first check passes (at start, and when added later)
  alpha
  # on-failure quiesce: a failing server gets weight 0, its connections finish
  inhibit_on_failure
  # sorry: only while no server passes its check (live weight below the quorum of 1)
  quorum 1
  sorry_server 10.3.0.19 80
  sorry_server_lvs_method DR

  # web1
  real_server 10.3.0.11 80 {
    weight 3
    lvs_method DR
    HTTP_GET {
      url {
        path "/healthz"
        status_code 200
      }
      connect_port 80
      connect_timeout 1
      retry 2
      delay_before_retry 2
      delay_loop 2
    }
    # records the server's state for lvsc (health is not drift)
    notify_up "/bin/sh /usr/local/lib/lvsc/keepalived-notify up tcp 10.3.0.100 80 10.3.0.11 80"
    notify_down "/bin/sh /usr/local/lib/lvsc/keepalived-notify down tcp 10.3.0.100 80 10.3.0.11 80"
  }

  # web2
  real_server 10.3.0.12 80 {
    weight 1
    lvs_method DR
    HTTP_GET {
      url {
        path "/healthz"
        status_code 200
      }
      connect_port 80
      connect_timeout 1
      retry 2
      delay_before_retry 2
      delay_loop 2
    }
    # records the server's state for lvsc (health is not drift)
    notify_up "/bin/sh /usr/local/lib/lvsc/keepalived-notify up tcp 10.3.0.100 80 10.3.0.12 80"
    notify_down "/bin/sh /usr/local/lib/lvsc/keepalived-notify down tcp 10.3.0.100 80 10.3.0.12 80"
  }
}

# service api
virtual_server 10.3.0.101 443 {
  protocol TCP
  lvs_sched wrr
  lvs_method NAT
  # every server starts down until its first check passes (at start, and when added later)
  alpha

  # app1
  real_server 192.168.30.21 8443 {
    weight 2
    lvs_method NAT
    TCP_CHECK {
      connect_port 8443
      connect_timeout 0.5
      retry 1
      delay_before_retry 1
      delay_loop 1
    }
    # records the server's state for lvsc (health is not drift)
    notify_up "/bin/sh /usr/local/lib/lvsc/keepalived-notify up tcp 10.3.0.101 443 192.168.30.21 8443"
    notify_down "/bin/sh /usr/local/lib/lvsc/keepalived-notify down tcp 10.3.0.101 443 192.168.30.21 8443"
  }

  # app2
  real_server 192.168.30.22 8443 {
    weight 1
    lvs_method NAT
    SSL_GET {
      url {
        path "/ready"
        status_code 200
      }
      connect_port 8443
      connect_timeout 1
      retry 1
      delay_before_retry 2
      delay_loop 2
    }
    # records the server's state for lvsc (health is not drift)
    notify_up "/bin/sh /usr/local/lib/lvsc/keepalived-notify up tcp 10.3.0.101 443 192.168.30.22 8443"
    notify_down "/bin/sh /usr/local/lib/lvsc/keepalived-notify down tcp 10.3.0.101 443 192.168.30.22 8443"
  }
}

# service dns
virtual_server 10.3.0.102 53 {
  protocol UDP
  lvs_sched rr
  ops
  lvs_method DR
  # every server starts down until its first check passes (at start, and when added later)
  alpha
  # on-failure quiesce: a failing server gets weight 0, its connections finish
  inhibit_on_failure

  # web1
  real_server 10.3.0.11 53 {
    weight 1
    lvs_method DR
    DNS_CHECK {
      type A
      name "health.example.org"
      connect_port 53
      connect_timeout 2
      retry 1
      delay_before_retry 5
      delay_loop 5
    }
    # records the server's state for lvsc (health is not drift)
    notify_up "/bin/sh /usr/local/lib/lvsc/keepalived-notify up udp 10.3.0.102 53 10.3.0.11 53"
    notify_down "/bin/sh /usr/local/lib/lvsc/keepalived-notify down udp 10.3.0.102 53 10.3.0.11 53"
  }

  # web2
  real_server 10.3.0.12 53 {
    weight 1
    lvs_method DR
    DNS_CHECK {
      type A
      name "health.example.org"
      connect_port 53
      connect_timeout 2
      retry 1
      delay_before_retry 5
      delay_loop 5
    }
    # records the server's state for lvsc (health is not drift)
    notify_up "/bin/sh /usr/local/lib/lvsc/keepalived-notify up udp 10.3.0.102 53 10.3.0.12 53"
    notify_down "/bin/sh /usr/local/lib/lvsc/keepalived-notify down udp 10.3.0.102 53 10.3.0.12 53"
  }
}
LVSC_EOF
sh -c 'keepalived -t -f "$1" || { s=$?; rm -f -- "$1"; exit "$s"; }' sh /etc/keepalived/keepalived.conf.lvsc-new
mv -f -- /etc/keepalived/keepalived.conf.lvsc-new /etc/keepalived/keepalived.conf
sh -c 'pid=
[ -r "$1" ] && read -r pid < "$1"
case $pid in '\'''\''|*[!0-9]*) pid= ;; esac
comm=
[ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && read -r comm < "/proc/$pid/comm"
if [ -n "$pid" ] && [ "$comm" = keepalived ]; then
  printf '\''lvsc-keepalived reload %s\n'\'' "$pid"
  exec kill -HUP "$pid"
fi
rm -f -- "$2"/*
init=
[ -r /proc/1/comm ] && read -r init < /proc/1/comm
if [ "$init" = systemd ]; then
  printf '\''lvsc-keepalived start systemd\n'\''
  exec systemctl start keepalived
fi
args=
if [ -r /etc/default/keepalived ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in DAEMON_ARGS=*) args=${line#DAEMON_ARGS=} ;; esac
  done < /etc/default/keepalived
fi
case $args in \"*\") args=${args#\"} args=${args%\"} ;; \'\''*\'\'') args=${args#\'\''} args=${args%\'\''} ;; esac
case " $args " in
  *" --dont-release-ipvs "*|*" -X "*) ;;
  *) args="--dont-release-ipvs $args" ;;
esac
printf '\''lvsc-keepalived start daemon\n'\''
set -f
# $args unquoted: split at whitespace as systemd splits $DAEMON_ARGS (no globbing).
exec keepalived --pid "$1" $args' sh /run/keepalived.pid /run/lvsc/health
