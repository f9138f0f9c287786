#!/bin/sh
# Rendered by lvsc: the plan for host lb1 (director), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + module ip_vs  (load)
modprobe ip_vs
# + module ip_vs_ftp  (load)
modprobe ip_vs_ftp
# + module ip_vs_lc  (load)
modprobe ip_vs_lc
# + module ip_vs_sh  (load)
modprobe ip_vs_sh
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
-A -t 198.51.100.10:443 -s wrr
-a -t 198.51.100.10:443 -r 192.168.10.11:8443 -m -w 2
-a -t 198.51.100.10:443 -r 192.168.10.12:8443 -m -w 1
-A -t 198.51.100.11:21 -s lc -p 600
-a -t 198.51.100.11:21 -r 192.168.10.11:21 -m -w 1
-a -t 198.51.100.11:21 -r 192.168.10.12:21 -m -w 1
-A -u 198.51.100.10:53 -s sh -o -b sh-fallback,sh-port
-a -u 198.51.100.10:53 -r 192.168.10.11:53 -m -w 1
-a -u 198.51.100.10:53 -r 192.168.10.12:53 -m -w 1
LVSC_EOF
mv -f /etc/ipvsadm.rules.lvsc-tmp /etc/ipvsadm.rules
# + file /etc/default/ipvsadm  (render)
mkdir -p /etc/default
cat > /etc/default/ipvsadm.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: Debian's ipvsadm service restores
# /etc/ipvsadm.rules at boot and starts the connection-sync daemon.
AUTO="true"
DAEMON="none"
IFACE=""
SYNCID="0"
LVSC_EOF
mv -f /etc/default/ipvsadm.lvsc-tmp /etc/default/ipvsadm
# + file /etc/sysctl.d/90-lvsc.conf  (render)
mkdir -p /etc/sysctl.d
cat > /etc/sysctl.d/90-lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb1: the kernel settings LVS needs here.
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
# Rendered by lvsc for host lb1: kernel modules loaded at boot.
ip_vs
ip_vs_ftp
ip_vs_lc
ip_vs_sh
ip_vs_wrr
LVSC_EOF
mv -f /etc/modules-load.d/lvsc.conf.lvsc-tmp /etc/modules-load.d/lvsc.conf
# + file /etc/systemd/network/eth0.network.d/lvsc.conf  (render)
mkdir -p /etc/systemd/network/eth0.network.d
cat > /etc/systemd/network/eth0.network.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb1: lvsc's additions to eth0 (a drop-in for eth0.network)
[Network]

[Address]
Address=198.51.100.10/32
Label=eth0:lvs

[Address]
Address=198.51.100.11/32
Label=eth0:lvs
LVSC_EOF
mv -f /etc/systemd/network/eth0.network.d/lvsc.conf.lvsc-tmp /etc/systemd/network/eth0.network.d/lvsc.conf
# + file /var/lib/lvsc/manifest.json  (render)
mkdir -p /var/lib/lvsc
cat > /var/lib/lvsc/manifest.json.lvsc-tmp <<'LVSC_EOF'
{
  "format": "lvsc-manifest",
  "version": 1,
  "host": "lb1",
  "addresses": [
    "eth0 198.51.100.10/32",
    "eth0 198.51.100.11/32"
  ],
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
    "/etc/ipvsadm.rules",
    "/etc/modules-load.d/lvsc.conf",
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/network/eth0.network.d/lvsc.conf"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json

# --- table
# * ipvs batch 9 IPVS edits in one restore
ipvsadm -R <<'LVSC_EOF'
-A -t 198.51.100.10:443 -s wrr
-a -t 198.51.100.10:443 -r 192.168.10.11:8443 -m -w 2
-a -t 198.51.100.10:443 -r 192.168.10.12:8443 -m -w 1
-A -u 198.51.100.10:53 -s sh -o -b sh-fallback,sh-port
-a -u 198.51.100.10:53 -r 192.168.10.11:53 -m -w 1
-a -u 198.51.100.10:53 -r 192.168.10.12:53 -m -w 1
-A -t 198.51.100.11:21 -s lc -p 600
-a -t 198.51.100.11:21 -r 192.168.10.11:21 -m -w 1
-a -t 198.51.100.11:21 -r 192.168.10.12:21 -m -w 1
LVSC_EOF

# --- vip
# + address eth0 198.51.100.10/32  (label eth0:lvs)
ip addr add 198.51.100.10/32 dev eth0 label eth0:lvs
# + address eth0 198.51.100.11/32  (label eth0:lvs)
ip addr add 198.51.100.11/32 dev eth0 label eth0:lvs
