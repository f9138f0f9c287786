#!/bin/sh
# Rendered by lvsc: the plan for host lb1 (director), in order.
# Review before running; `lvsc apply` runs the same steps over SSH and checks the result.
set -eu

# --- prepare
# + module ip_vs  (load)
modprobe ip_vs
# + module ip_vs_lc  (load)
modprobe ip_vs_lc
# + module ip_vs_rr  (load)
modprobe ip_vs_rr
# + module ip_vs_sh  (load)
modprobe ip_vs_sh
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
# Rendered by lvsc for director lb1: Debian's ipvsadm service restores
# /etc/ipvsadm.rules at boot and starts the connection-sync daemon.
AUTO="true"
DAEMON="none"
IFACE=""
SYNCID="0"
LVSC_EOF
mv -f /etc/default/ipvsadm.lvsc-tmp /etc/default/ipvsadm
# + file /etc/keepalived/keepalived.conf  (render)
mkdir -p /etc/keepalived
cat > /etc/keepalived/keepalived.conf.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: the services whose servers have health checks.
# keepalived checks the servers and programs these services' IPVS entries; lvsc's ipvsadm
# never writes them. lvsc owns this file; edit the cluster description instead.
# (A failover pair's VRRP instances are not rendered here yet.)

global_defs {
  router_id lb1
  # exec checks: run as root, and only programs no other user can change
  enable_script_security
  script_user root
}

# service www
virtual_server 10.4.0.100 80 {
  protocol TCP
  lvs_sched wlc
  lvs_method DR
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  # every server starts down until its first check passes (at start, and when added later)
  alpha
  # on-failure quiesce: a failing server gets weight 0, its connections finish
  inhibit_on_failure
  # sorry: only while no server passes its check (live weight below the quorum of 1)
  quorum 1
  sorry_server 10.4.0.19 80
  sorry_server_lvs_method DR

  # web1
  real_server 10.4.0.11 80 {
    weight 3
    lvs_method DR
    uthreshold 1000
    lthreshold 800
    HTTP_GET {
      url {
        path "/healthz?full=1"
        status_code 200-299
        virtualhost "www.example.org"
      }
      connect_port 8080
      connect_timeout 2
      retry 2
      delay_before_retry 3
      delay_loop 3
    }
  }

  # web2
  real_server 10.4.0.12 80 {
    weight 1
    lvs_method DR
  }

  # web3
  real_server 10.4.0.13 80 {
    weight 1
    lvs_method DR
    TCP_CHECK {
      connect_port 8081
      connect_timeout 1
      retry 1
      delay_before_retry 2
      delay_loop 2
    }
  }
}

# service api
virtual_server 10.4.0.101 443 {
  protocol TCP
  lvs_sched wrr
  lvs_method NAT
  # every server starts down until its first check passes (at start, and when added later)
  alpha

  # app1
  real_server 192.168.40.21 8443 {
    weight 2
    lvs_method NAT
    SSL_GET {
      url {
        path "/ready"
        status_code 200
        virtualhost "api.example.org"
      }
      enable_sni
      connect_port 8443
      connect_timeout 1
      retry 1
      delay_before_retry 2
      delay_loop 2
    }
  }

  # app2
  real_server 192.168.40.22 8443 {
    weight 1
    lvs_method NAT
    SSL_GET {
      url {
        path "/ready"
        status_code 200
        virtualhost "api.example.org"
      }
      enable_sni
      connect_port 8443
      connect_timeout 1
      retry 1
      delay_before_retry 2
      delay_loop 2
    }
  }
}

# service dns
virtual_server 10.4.0.102 53 {
  protocol UDP
  lvs_sched sh
  sh-port
  ops
  lvs_method DR
  # every server starts down until its first check passes (at start, and when added later)
  alpha
  # on-failure quiesce: a failing server gets weight 0, its connections finish
  inhibit_on_failure

  # web1
  real_server 10.4.0.11 53 {
    weight 1
    lvs_method DR
    DNS_CHECK {
      type AAAA
      name "health.example.org"
      connect_port 53
      connect_timeout 2
      retry 0
      delay_before_retry 5
      delay_loop 5
    }
  }

  # web2
  real_server 10.4.0.12 53 {
    weight 1
    lvs_method DR
    DNS_CHECK {
      type AAAA
      name "health.example.org"
      connect_port 53
      connect_timeout 2
      retry 0
      delay_before_retry 5
      delay_loop 5
    }
  }
}

# service mail
virtual_server 10.4.0.103 25 {
  protocol TCP
  lvs_sched rr
  lvs_method TUN type gue port 6080
  # every server starts down until its first check passes (at start, and when added later)
  alpha
  # on-failure quiesce: a failing server gets weight 0, its connections finish
  inhibit_on_failure

  # edge1
  real_server 203.0.113.31 25 {
    weight 1
    lvs_method TUN type gue port 6080
    MISC_CHECK {
      misc_path "/usr/local/lib/lvs-checks/smtp-ready --helo lb1.example.org 203.0.113.31 25"
      misc_timeout 3
      retry 1
      delay_before_retry 10
      delay_loop 10
    }
  }
}

# service shop
virtual_server fwmark 20 {
  ip_family inet
  lvs_sched lc
  lvs_method DR
  persistence_timeout 600
  # every server starts down until its first check passes (at start, and when added later)
  alpha
  # on-failure quiesce: a failing server gets weight 0, its connections finish
  inhibit_on_failure

  # web1
  real_server 10.4.0.11 {
    weight 1
    lvs_method DR
    TCP_CHECK {
      connect_port 443
      connect_timeout 0.5
      retry 1
      delay_before_retry 1
      delay_loop 1
    }
  }

  # web3
  real_server 10.4.0.13 {
    weight 1
    lvs_method DR
    TCP_CHECK {
      connect_port 443
      connect_timeout 0.5
      retry 1
      delay_before_retry 1
      delay_loop 1
    }
  }
}
LVSC_EOF
mv -f /etc/keepalived/keepalived.conf.lvsc-tmp /etc/keepalived/keepalived.conf
# + file /etc/default/keepalived  (render)
mkdir -p /etc/default
cat > /etc/default/keepalived.lvsc-tmp <<'LVSC_EOF'
# Rendered by lvsc for director lb1: how Debian's keepalived service starts keepalived.
# --dont-release-ipvs: stopping keepalived (a restart, a package upgrade) leaves the IPVS
# entries it programmed in place, so live connections keep flowing.
DAEMON_ARGS="--dont-release-ipvs"
LVSC_EOF
mv -f /etc/default/keepalived.lvsc-tmp /etc/default/keepalived
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
ip_vs_lc
ip_vs_rr
ip_vs_sh
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
Address=10.4.0.100/32
Label=eth0:lvs

[Address]
Address=10.4.0.101/32
Label=eth0:lvs

[Address]
Address=10.4.0.102/32
Label=eth0:lvs

[Address]
Address=10.4.0.103/32
Label=eth0:lvs

[Address]
Address=10.4.0.104/32
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
    "eth0 10.4.0.100/32",
    "eth0 10.4.0.101/32",
    "eth0 10.4.0.102/32",
    "eth0 10.4.0.103/32",
    "eth0 10.4.0.104/32"
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
    "/etc/default/keepalived",
    "/etc/ipvsadm.rules",
    "/etc/keepalived/keepalived.conf",
    "/etc/modules-load.d/lvsc.conf",
    "/etc/sysctl.d/90-lvsc.conf",
    "/etc/systemd/network/eth0.network.d/lvsc.conf"
  ]
}
LVSC_EOF
mv -f /var/lib/lvsc/manifest.json.lvsc-tmp /var/lib/lvsc/manifest.json

# --- table
# + fwmark-rules table inet lvsc  (1 mark rule(s))
nft -f - <<'LVSC_EOF'
table inet lvsc
delete table inet lvsc
table inet lvsc {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.4.0.104 tcp dport { 80, 443 } meta mark set 20
	}
}
LVSC_EOF

# --- vip
# + address eth0 10.4.0.100/32  (label eth0:lvs)
ip addr add 10.4.0.100/32 dev eth0 label eth0:lvs
# + address eth0 10.4.0.101/32  (label eth0:lvs)
ip addr add 10.4.0.101/32 dev eth0 label eth0:lvs
# + address eth0 10.4.0.102/32  (label eth0:lvs)
ip addr add 10.4.0.102/32 dev eth0 label eth0:lvs
# + address eth0 10.4.0.103/32  (label eth0:lvs)
ip addr add 10.4.0.103/32 dev eth0 label eth0:lvs
# + address eth0 10.4.0.104/32  (label eth0:lvs)
ip addr add 10.4.0.104/32 dev eth0 label eth0:lvs
