#!/bin/bash
# The guest's boot script (busybox init runs it once, as sysinit). It mounts the
# kernel file systems, loads the NIC, RNG and bridge drivers, builds the lab
# network that /etc/lab/network.sh describes (generated from lab/topology.ts),
# starts every host's daemons (web pages, DNS) and sshd, then the jump sshd,
# and prints the marker the host side waits for. Any failure prints
# LVSC-LAB-FAILED instead.
#
# Every process started here costs tens of milliseconds under TCG, so the work
# is batched: one `ip -batch` for the root namespace, one busybox per host.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
trap 'echo "LVSC-LAB-FAILED: /etc/lab/rc.sh stopped (exit $?)"' EXIT

# stamp TEXT: progress on the console (.lab/serial.log), with the guest's uptime.
stamp() {
  local up
  read -r up _ </proc/uptime
  echo "lab: ${up}s $*"
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# What udev would add: /dev/fd and /dev/std{in,out,err}.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/netns /run/lock
chmod 1777 /run/lock
echo jump >/proc/sys/kernel/hostname

# Everything else (ip_vs and its schedulers, ipip, nf_tables ...) loads on demand,
# through the kernel's request_module and kmod's modprobe, as on a Debian host.
stamp "loading drivers"
modprobe -a $(cat /etc/lab/modules.boot)

# slirp's network, reachable only for the forwarded SSH port (qemu runs with restrict=on).
ip -batch - <<'EOF'
link set lo up
link set eth0 up
addr add 10.0.2.15/24 dev eth0
EOF

# start HOST FORWARDING [PORT...] <NETWORK: HOST's network and daemons, as if on
# their own machine: in HOST's network namespace, with its host name (a UTS
# namespace) and its own /etc /root /run /tmp /var and /sys (a mount namespace;
# the binds come from /hosts/HOST). It runs the `ip` lines on stdin, sets IPv4
# forwarding to FORWARDING, serves /srv/www/HOST/PORT with busybox httpd on each
# PORT, starts dnsmasq if HOST has an /etc/dnsmasq.conf (both as
# /usr/lib/lab/daemons.sh does, which tests use to stop and restart them), then
# becomes HOST's sshd.
#
# Under TCG every program started costs tens of milliseconds, so this is one
# busybox process: its nsenter, unshare and sh run their applets (`ip`,
# `mount`, `httpd`) in place, before anything on PATH. That is fine for these
# plain commands, and why sessions get bash, where PATH finds iproute2's ip.
# sshd -r serves each connection from a fork instead of re-executing itself
# (with curve25519, half the CPU per SSH hop).
STARTED=()
start() {
  busybox nsenter --net="/run/netns/$1" unshare --mount --uts --propagation slave busybox sh -c '
    set -e
    h=$1 forwarding=$2
    shift 2
    echo "$h" >/proc/sys/kernel/hostname
    umount -l /sys
    mount -t sysfs sysfs /sys
    for d in etc root run tmp var; do mount --bind "/hosts/$h/$d" "/$d"; done
    . /dev/stdin
    echo "$forwarding" >/proc/sys/net/ipv4/ip_forward
    . /usr/lib/lab/daemons.sh
    lab_web_start "$@"
    if [ -e /etc/dnsmasq.conf ]; then lab_dns_start; fi
    exec /usr/sbin/sshd -r -E /var/log/sshd.log' start "$@"
  STARTED+=("$1")
}

stamp "network and hosts"
. /etc/lab/network.sh
/usr/sbin/sshd -r -E /var/log/sshd.log
stamp "waiting for sshd"

# sshd writes its PID file once it listens: wait for every one (30 s at most).
for h in jump "${STARTED[@]}"; do
  pidfile=/hosts/$h/run/sshd.pid
  [ "$h" = jump ] && pidfile=/run/sshd.pid
  n=0
  until [ -s "$pidfile" ]; do
    n=$((n + 1))
    [ "$n" -le 600 ] || { echo "lab: the sshd of $h never listened"; exit 1; }
    sleep 0.05
  done
done

trap - EXIT
read -r up _ </proc/uptime
hosts="${STARTED[*]}"
echo "LVSC-LAB-READY kernel=$(uname -r) uptime=${up}s hosts=${hosts// /,}"
