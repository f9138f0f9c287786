#!/bin/sh
# Rendered by lvsc: the plan for host app1 (real-server), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + route default  (via 192.168.40.1)
ip route replace default via 192.168.40.1 dev eth0 proto 76
# + file /etc/systemd/network/eth0.network.d/lvsc.conf  (render)
mkdir -p /etc/systemd/network/eth0.network.d
cat > /etc/systemd/network/eth0.network.d/lvsc.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for host app1: lvsc's additions to eth0 (a drop-in for eth0.network)
[Network]

[Route]
Gateway=192.168.40.1
Protocol=76
LVSC_EOF
mv -f /etc/systemd/network/eth0.network.d/lvsc.conf.lvsc-tmp /etc/systemd/network/eth0.network.d/lvsc.conf
# + file /var/lib/lvsc/manifest.json  (render)
mkdir -p /var/lib/lvsc
cat > /var/lib/lvsc/manifest.json.lvsc-tmp <<'LVSC_EOF'
{
  "format": "lvsc-manifest",
  "version": 1,
  "host": "app1",
  "addresses": [],
  "sysctls": [],
  "fouPorts": [],
  "files": [
    "/etc/systemd/network/eth0.network.d/lvsc.conf"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json
