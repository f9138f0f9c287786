#!/bin/sh
# Rendered by lvsc: the plan for host web3 (real-server), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + sysctl net.ipv4.conf.all.arp_announce  ((unset) → 2)
sysctl -q -w net.ipv4.conf.all.arp_announce=2
# + sysctl net.ipv4.conf.all.arp_ignore  ((unset) → 1)
sysctl -q -w net.ipv4.conf.all.arp_ignore=1
# + sysctl net.ipv4.conf.eth0.arp_announce  ((unset) → 2)
sysctl -q -w net.ipv4.conf.eth0.arp_announce=2
# + sysctl net.ipv4.conf.eth0.arp_ignore  ((unset) → 1)
sysctl -q -w net.ipv4.conf.eth0.arp_ignore=1
# + sysctl net.ipv4.conf.lo.arp_announce  ((unset) → 2)
sysctl -q -w net.ipv4.conf.lo.arp_announce=2
# + sysctl net.ipv4.conf.lo.arp_ignore  ((unset) → 1)
sysctl -q -w net.ipv4.conf.lo.arp_ignore=1
# + address lo 10.4.0.100/32  (label lo:lvs)
ip addr add 10.4.0.100/32 dev lo label lo:lvs
# + address lo 10.4.0.104/32  (label lo:lvs)
ip addr add 10.4.0.104/32 dev lo label lo:lvs
# + address lo 10.4.0.105/32  (label lo:lvs)
ip addr add 10.4.0.105/32 dev lo label lo:lvs
# + file /etc/sysctl.d/90-lvsc.conf  (render)
mkdir -p /etc/sysctl.d
cat > /etc/sysctl.d/90-lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host web3: the kernel settings LVS needs here.
# lvsc owns this file; edit the cluster description instead.
net.ipv4.conf.all.arp_announce = 2
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.eth0.arp_announce = 2
net.ipv4.conf.eth0.arp_ignore = 1
net.ipv4.conf.lo.arp_announce = 2
net.ipv4.conf.lo.arp_ignore = 1
LVSC_EOF
mv -f /etc/sysctl.d/90-lvsc.conf.lvsc-tmp /etc/sysctl.d/90-lvsc.conf
# + file /etc/systemd/network/50-lvsc-lo.network  (render)
mkdir -p /etc/systemd/network
cat > /etc/systemd/network/50-lvsc-lo.network.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host web3: the VIPs lvsc keeps on lo
[Match]
Name=lo

[Network]
KeepConfiguration=static

[Address]
Address=10.4.0.100/32
Label=lo:lvs

[Address]
Address=10.4.0.104/32
Label=lo:lvs

[Address]
Address=10.4.0.105/32
Label=lo:lvs
LVSC_EOF
mv -f /etc/systemd/network/50-lvsc-lo.network.lvsc-tmp /etc/systemd/network/50-lvsc-lo.network
# + file /var/lib/lvsc/manifest.json  (render)
mkdir -p /var/lib/lvsc
cat > /var/lib/lvsc/manifest.json.lvsc-tmp <<'LVSC_EOF'
{
  "format": "lvsc-manifest",
  "version": 1,
  "host": "web3",
  "addresses": [
    "lo 10.4.0.100/32",
    "lo 10.4.0.104/32",
    "lo 10.4.0.105/32"
  ],
  "sysctls": [
    "net.ipv4.conf.all.arp_announce",
    "net.ipv4.conf.all.arp_ignore",
    "net.ipv4.conf.eth0.arp_announce",
    "net.ipv4.conf.eth0.arp_ignore",
    "net.ipv4.conf.lo.arp_announce",
    "net.ipv4.conf.lo.arp_ignore"
  ],
  "fouPorts": [],
  "files": [
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/network/50-lvsc-lo.network"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json
