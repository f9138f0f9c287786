#!/bin/sh
# Rendered by lvsc: the plan for host lb1 (director), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + module ip_vs  (load)
modprobe ip_vs
# + module ip_vs_mh  (load)
modprobe ip_vs_mh
# + module ip_vs_wlc  (load)
modprobe ip_vs_wlc
# + sysctl net.ipv4.vs.expire_nodest_conn  ((unset) → 1)
sysctl -q -w net.ipv4.vs.expire_nodest_conn=1
# + sysctl net.ipv4.vs.expire_quiescent_template  ((unset) → 1)
sysctl -q -w net.ipv4.vs.expire_quiescent_template=1
# + file /etc/ipvsadm.rules  (render)
mkdir -p /etc
cat > /etc/ipvsadm.rules.lvsc-tmp <<'LVSC_EOF'
-A -t [2001:db8:2::100]:443 -s mh -b mh-fallback
-a -t [2001:db8:2::100]:443 -r [2001:db8:2::21]:443 -g -w 1
-a -t [2001:db8:2::100]:443 -r [2001:db8:2::22]:443 -g -w 1
-A -f 10 -s wlc -p 3600
-a -f 10 -r 10.2.0.21:0 -g -w 1
-a -f 10 -r 10.2.0.22:0 -g -w 1
LVSC_EOF
mv -f /etc/ipvsadm.rules.lvsc-tmp /etc/ipvsadm.rules
# + file /etc/default/ipvsadm  (render)
mkdir -p /etc/default
cat > /etc/default/ipvsadm.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: Debian's ipvsadm service restores
# /etc/ipvsadm.rules at boot and starts the connection-sync daemon.
AUTO="true"
DAEMON="master"
IFACE="eth1"
SYNCID="7"
LVSC_EOF
mv -f /etc/default/ipvsadm.lvsc-tmp /etc/default/ipvsadm
# + file /etc/nftables.d/lvsc.nft  (render)
mkdir -p /etc/nftables.d
cat > /etc/nftables.d/lvsc.nft.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: the firewall marks of its fwmark services,
# nftables table inet lvsc, replaced whole (it adds, deletes and creates the table,
# so it may be loaded at any time, after a `flush ruleset` too). lvsc owns this file.
# At boot the drop-ins lvsc renders for Debian's ipvsadm and nftables services load it
# (/etc/systemd/system/{ipvsadm,nftables}.service.d/lvsc.conf); /etc/nftables.conf may
# also include it.
table inet lvsc
delete table inet lvsc
table inet lvsc {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.2.0.100 tcp dport { 80, 443 } meta mark set 10
	}
}
LVSC_EOF
mv -f /etc/nftables.d/lvsc.nft.lvsc-tmp /etc/nftables.d/lvsc.nft
# + file /etc/systemd/system/nftables.service.d/lvsc.conf  (render)
mkdir -p /etc/systemd/system/nftables.service.d
cat > /etc/systemd/system/nftables.service.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: Debian's nftables service loads
# /etc/nftables.conf, whose `flush ruleset` removes every table, lvsc's too; this
# loads lvsc's table again after it, on start and on reload. `-`: a failure is
# logged but does not fail the service, whose stop flushes the whole ruleset.
[Service]
ExecStartPost=-/usr/sbin/nft -f /etc/nftables.d/lvsc.nft
ExecReload=-/usr/sbin/nft -f /etc/nftables.d/lvsc.nft
LVSC_EOF
mv -f /etc/systemd/system/nftables.service.d/lvsc.conf.lvsc-tmp /etc/systemd/system/nftables.service.d/lvsc.conf
# + file /etc/systemd/system/ipvsadm.service.d/lvsc.conf  (render)
mkdir -p /etc/systemd/system/ipvsadm.service.d
cat > /etc/systemd/system/ipvsadm.service.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: run after Debian's ipvsadm service has
# restored /etc/ipvsadm.rules at boot, what that file cannot hold:
# - the firewall marks of fwmark services (/etc/nftables.d/lvsc.nft)
# `-`: a failure is logged but does not fail the service, whose stop would flush
# the IPVS table.
[Service]
ExecStartPost=-/usr/sbin/nft -f /etc/nftables.d/lvsc.nft
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
ip_vs_mh
ip_vs_wlc
LVSC_EOF
mv -f /etc/modules-load.d/lvsc.conf.lvsc-tmp /etc/modules-load.d/lvsc.conf
# + file /etc/systemd/network/eth0.network.d/lvsc.conf  (render)
mkdir -p /etc/systemd/network/eth0.network.d
cat > /etc/systemd/network/eth0.network.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host lb1: lvsc's additions to eth0 (a drop-in for eth0.network)
[Network]

[Address]
Address=10.2.0.100/32
Label=eth0:lvs

[Address]
Address=2001:db8:2::100/128
DuplicateAddressDetection=none
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
    "eth0 10.2.0.100/32",
    "eth0 2001:db8:2::100/128"
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
    "/etc/nftables.d/lvsc.nft",
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/network/eth0.network.d/lvsc.conf",
    "/etc/systemd/system/ipvsadm.service.d/lvsc.conf",
    "/etc/systemd/system/nftables.service.d/lvsc.conf"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json

# --- table
# * ipvs batch 6 IPVS edits in one restore
ipvsadm -R <<'LVSC_EOF'
-A -f 10 -s wlc -p 3600
-a -f 10 -r 10.2.0.21:0 -g -w 1
-a -f 10 -r 10.2.0.22:0 -g -w 1
-A -t [2001:db8:2::100]:443 -s mh -b mh-fallback
-a -t [2001:db8:2::100]:443 -r [2001:db8:2::21]:443 -g -w 1
-a -t [2001:db8:2::100]:443 -r [2001:db8:2::22]:443 -g -w 1
LVSC_EOF
# + sync-daemon master  (master on eth1 syncid 7)
ipvsadm --start-daemon master --mcast-interface eth1 --syncid 7
# + fwmark-rules table inet lvsc  (1 mark rule(s))
nft -f - <<'LVSC_EOF'
table inet lvsc
delete table inet lvsc
table inet lvsc {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.2.0.100 tcp dport { 80, 443 } meta mark set 10
	}
}
LVSC_EOF

# --- vip
# + address eth0 10.2.0.100/32  (label eth0:lvs)
ip addr add 10.2.0.100/32 dev eth0 label eth0:lvs
# + address eth0 2001:db8:2::100/128  (owned by lvsc)
ip -6 addr add 2001:db8:2::100/128 dev eth0 nodad
