#!/bin/sh
# Rendered by lvsc: the plan for host lb1 (director), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + module ip_vs  (load)
modprobe ip_vs
# + module ip_vs_wlc  (load)
modprobe ip_vs_wlc
# + module ip_vs_wrr  (load)
modprobe ip_vs_wrr
# + sysctl net.ipv4.vs.expire_nodest_conn  ((unset) → 1)
sysctl -q -w net.ipv4.vs.expire_nodest_conn=1
# + sysctl net.ipv4.vs.expire_quiescent_template  ((unset) → 1)
sysctl -q -w net.ipv4.vs.expire_quiescent_template=1
# + file /etc/ipvsadm.rules  (render)
mkdir -p /etc
cat > /etc/ipvsadm.rules.lvsc-tmp <<'LVSC_EOF'
-A -t 10.1.0.100:80 -s wlc
-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 3
-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 1
-a -t 10.1.0.100:80 -r 10.1.0.13:80 -g -w 0
-A -t 10.1.0.100:443 -s wrr -p 1800 -M 255.255.255.0
-a -t 10.1.0.100:443 -r 10.1.0.11:443 -g -w 3
-a -t 10.1.0.100:443 -r 10.1.0.12:443 -g -w 1 -x 2000 -y 1500
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
# + file /etc/systemd/system/ipvsadm.service.d/lvsc.conf  (render)
mkdir -p /etc/systemd/system/ipvsadm.service.d
cat > /etc/systemd/system/ipvsadm.service.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: run after Debian's ipvsadm service has
# restored /etc/ipvsadm.rules at boot, what that file cannot hold:
# - the IPVS timeouts (ipvsadm-save leaves them out)
# `-`: a failure is logged but does not fail the service, whose stop would flush
# the IPVS table.
[Service]
ExecStartPost=-/sbin/ipvsadm --set 900 60 300
LVSC_EOF
mv -f /etc/systemd/system/ipvsadm.service.d/lvsc.conf.lvsc-tmp /etc/systemd/system/ipvsadm.service.d/lvsc.conf
# + file /etc/sysctl.d/90-lvsc.conf  (render)
mkdir -p /etc/sysctl.d
cat > /etc/sysctl.d/90-lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb1: the kernel settings LVS needs here.
# lvsc owns this file; edit the cluster description instead.
net.ipv4.vs.expire_nodest_conn = 1
net.ipv4.vs.expire_quiescent_template = 1
LVSC_EOF
mv -f /etc/sysctl.d/90-lvsc.conf.lvsc-tmp /etc/sysctl.d/90-lvsc.conf
# + file /etc/modules-load.d/lvsc.conf  (render)
mkdir -p /etc/modules-load.d
cat > /etc/modules-load.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb1: kernel modules loaded at boot.
ip_vs
ip_vs_wlc
ip_vs_wrr
LVSC_EOF
mv -f /etc/modules-load.d/lvsc.conf.lvsc-tmp /etc/modules-load.d/lvsc.conf
# + file /etc/systemd/network/eth0.network.d/lvsc.conf  (render)
mkdir -p /etc/systemd/network/eth0.network.d
cat > /etc/systemd/network/eth0.network.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb1: lvsc's additions to eth0 (a drop-in for eth0.network)
[Network]

[Address]
Address=10.1.0.100/32
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
    "eth0 10.1.0.100/32"
  ],
  "sysctls": [
    "net.ipv4.vs.expire_nodest_conn",
    "net.ipv4.vs.expire_quiescent_template"
  ],
  "fouPorts": [],
  "files": [
    "/etc/default/ipvsadm",
    "/etc/ipvsadm.rules",
    "/etc/modules-load.d/lvsc.conf",
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/network/eth0.network.d/lvsc.conf",
    "/etc/systemd/system/ipvsadm.service.d/lvsc.conf"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json

# --- table
# * ipvs batch 7 IPVS edits in one restore
ipvsadm -R <<'LVSC_EOF'
-A -t 10.1.0.100:80 -s wlc
-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 3
-a -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 1
-a -t 10.1.0.100:80 -r 10.1.0.13:80 -g -w 0
-A -t 10.1.0.100:443 -s wrr -p 1800 -M 255.255.255.0
-a -t 10.1.0.100:443 -r 10.1.0.11:443 -g -w 3
-a -t 10.1.0.100:443 -r 10.1.0.12:443 -g -w 1 -x 2000 -y 1500
LVSC_EOF
# ~ timeouts tcp tcpfin udp  (? → 900 60 300)
ipvsadm --set 900 60 300

# --- vip
# + address eth0 10.1.0.100/32  (label eth0:lvs)
ip addr add 10.1.0.100/32 dev eth0 label eth0:lvs
