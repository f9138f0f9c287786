#!/bin/sh
# Rendered by lvsc: the plan for host edge1 (real-server), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + module fou  (load)
modprobe fou
# + module ipip  (load)
modprobe ipip
# + sysctl net.ipv4.conf.all.arp_announce  ((unset) → 2)
sysctl -q -w net.ipv4.conf.all.arp_announce=2
# + sysctl net.ipv4.conf.all.arp_ignore  ((unset) → 1)
sysctl -q -w net.ipv4.conf.all.arp_ignore=1
# + sysctl net.ipv4.conf.all.rp_filter  ((unset) → 0)
sysctl -q -w net.ipv4.conf.all.rp_filter=0
# + sysctl net.ipv4.conf.eth0.arp_announce  ((unset) → 2)
sysctl -q -w net.ipv4.conf.eth0.arp_announce=2
# + sysctl net.ipv4.conf.eth0.arp_ignore  ((unset) → 1)
sysctl -q -w net.ipv4.conf.eth0.arp_ignore=1
# + sysctl net.ipv4.conf.lo.arp_announce  ((unset) → 2)
sysctl -q -w net.ipv4.conf.lo.arp_announce=2
# + sysctl net.ipv4.conf.lo.arp_ignore  ((unset) → 1)
sysctl -q -w net.ipv4.conf.lo.arp_ignore=1
# + sysctl net.ipv4.conf.tunl0.rp_filter  ((unset) → 0)
sysctl -q -w net.ipv4.conf.tunl0.rp_filter=0
# + link tunl0  (up)
ip link set tunl0 up
# + link fou:6080  (GUE decapsulation on UDP port 6080)
ip fou add port 6080 gue
# + address tunl0 10.4.0.103/32  (label tunl0:lvs)
ip addr add 10.4.0.103/32 dev tunl0 label tunl0:lvs
# + file /etc/sysctl.d/90-lvsc.conf  (render)
mkdir -p /etc/sysctl.d
cat > /etc/sysctl.d/90-lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host edge1: the kernel settings LVS needs here.
# lvsc owns this file; edit the cluster description instead.
net.ipv4.conf.all.arp_announce = 2
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.eth0.arp_announce = 2
net.ipv4.conf.eth0.arp_ignore = 1
net.ipv4.conf.lo.arp_announce = 2
net.ipv4.conf.lo.arp_ignore = 1
net.ipv4.conf.tunl0.rp_filter = 0
LVSC_EOF
mv -f /etc/sysctl.d/90-lvsc.conf.lvsc-tmp /etc/sysctl.d/90-lvsc.conf
# + file /etc/modules-load.d/lvsc.conf  (render)
mkdir -p /etc/modules-load.d
cat > /etc/modules-load.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host edge1: kernel modules loaded at boot.
fou
ipip
LVSC_EOF
mv -f /etc/modules-load.d/lvsc.conf.lvsc-tmp /etc/modules-load.d/lvsc.conf
# + file /etc/systemd/network/50-lvsc-tunl0.network  (render)
mkdir -p /etc/systemd/network
cat > /etc/systemd/network/50-lvsc-tunl0.network.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host edge1: the VIPs lvsc keeps on tunl0
[Match]
Name=tunl0

[Network]

[Address]
Address=10.4.0.103/32
Label=tunl0:lvs
LVSC_EOF
mv -f /etc/systemd/network/50-lvsc-tunl0.network.lvsc-tmp /etc/systemd/network/50-lvsc-tunl0.network
# + file /etc/systemd/network/50-lvsc-fou6080.netdev  (render)
mkdir -p /etc/systemd/network
cat > /etc/systemd/network/50-lvsc-fou6080.netdev.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host edge1: GUE decapsulation on UDP port 6080
[NetDev]
Name=fou6080
Kind=fou

[FooOverUDP]
Port=6080
Encapsulation=GenericUDPEncapsulation
LVSC_EOF
mv -f /etc/systemd/network/50-lvsc-fou6080.netdev.lvsc-tmp /etc/systemd/network/50-lvsc-fou6080.netdev
# + file /var/lib/lvsc/manifest.json  (render)
mkdir -p /var/lib/lvsc
cat > /var/lib/lvsc/manifest.json.lvsc-tmp <<'LVSC_EOF'
{
  "format": "lvsc-manifest",
  "version": 1,
  "host": "edge1",
  "addresses": [
    "tunl0 10.4.0.103/32"
  ],
  "sysctls": [
    "net.ipv4.conf.all.arp_announce",
    "net.ipv4.conf.all.arp_ignore",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.eth0.arp_announce",
    "net.ipv4.conf.eth0.arp_ignore",
    "net.ipv4.conf.lo.arp_announce",
    "net.ipv4.conf.lo.arp_ignore",
    "net.ipv4.conf.tunl0.rp_filter"
  ],
  "fouPorts": [
    6080
  ],
  "files": [
    "/etc/modules-load.d/lvsc.conf",
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/network/50-lvsc-fou6080.netdev",
    "/etc/systemd/network/50-lvsc-tunl0.network"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json
