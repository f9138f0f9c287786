#!/usr/bin/env bash
# Regenerates the real-output cases of the fact parsers, pyinfra-style:
# agent/testdata/facts/<fact>/<case>.json = {source, command, [args], output, [status, stderr], value|error, [warnings]}.
#
#   agent/testdata/capture.sh fixture   seed cases from shared/fixtures/ipvsadm-1.31-kernel-6.1.txt
#                                       (sections copied verbatim) and compiler/testdata/ipvsadm/
#   agent/testdata/capture.sh local     capture real output on this machine, as root, inside a
#                                       throwaway network namespace (deleted on exit)
#   agent/testdata/capture.sh files     only the files fact's case (part of local)
#   agent/testdata/capture.sh manifest  only the manifest fact's cases (part of local)
#   agent/testdata/capture.sh units     only the units fact's cases (part of local)
#   agent/testdata/capture.sh all       both
#
# `command` is always the fact's own command line (printed by the fact itself through tsx), and
# local cases run exactly that line with `sh -c` under a clean environment (PATH of system
# directories, LC_ALL=C), as a transport does on a host.
#
# Expected values (`value`, `warnings`, `error`) are written by hand after reading the output,
# and kept when a case is recaptured: a recapture whose output changed makes that case's test
# fail until someone has checked the new output and updated the expectation. Cases whose
# `source` starts with "synthetic" are written by hand and never touched here.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
FACTS=agent/testdata/facts
FIXTURE=${FIXTURE:-$ROOT/../shared/fixtures/ipvsadm-1.31-kernel-6.1.txt}
FIXTURE_NAME='shared/fixtures/ipvsadm-1.31-kernel-6.1.txt'
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
TMP=$(mktemp -d)
NS=''

cleanup() {
  if [ -n "$NS" ]; then ip netns delete "$NS" 2>/dev/null || true; fi
  rm -rf "$TMP" /tmp/lvsc-capture-files
}
trap cleanup EXIT

# write_case FACT CASE SOURCE COMMAND STATUS STDOUT_FILE STDERR_FILE [ARGS_JSON] [EXPECT_JSON]
# Keeps the expectations of an existing case unless EXPECT_JSON gives them.
write_case() {
  node --input-type=module - "$@" <<'JS'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
const [fact, name, source, command, status, outFile, errFile, argsJson, expectJson] = process.argv.slice(2);
const dir = `agent/testdata/facts/${fact}`;
const path = `${dir}/${name}.json`;
const old = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
const c = { source, command };
if (argsJson) c.args = JSON.parse(argsJson);
c.output = readFileSync(outFile, 'utf8');
const stderr = readFileSync(errFile, 'utf8');
if (Number(status) !== 0) c.status = Number(status);
if (Number(status) !== 0 || stderr !== '') c.stderr = stderr;
const expect = expectJson ? JSON.parse(expectJson) : old;
for (const k of ['value', 'warnings', 'error', 'applied']) if (k in expect) c[k] = expect[k];
if (old.output !== undefined && old.output !== c.output) console.error(`changed: ${path} (check its expectation)`);
if (!('value' in c) && !('error' in c)) console.error(`new: ${path} has no expectation yet: read the output and write it`);
mkdirSync(dir, { recursive: true });
writeFileSync(path, JSON.stringify(c, null, 2) + '\n');
JS
}

# fact_line FACT [ARGS_JSON]: the fact's command line, from the fact itself.
fact_line() {
  FACT="$1" ARGS="${2:-{\}}" npx --no-install tsx --eval "
    import { commandLine } from './compiler/command.ts';
    import * as f from './agent/testdata/registry.ts';
    const fact = f.factFor(process.env.FACT, JSON.parse(process.env.ARGS));
    process.stdout.write(commandLine(fact.command()));
  " 2>/dev/null
}

# section NAME: the lines of one `=== NAME` section of the fixture, verbatim.
section() {
  awk -v want="=== $1" '$0 == want { on = 1; next } /^=== / { on = 0 } on' "$FIXTURE"
}

seed_fixture() {
  [ -r "$FIXTURE" ] || { echo "capture.sh: no fixture at $FIXTURE (set FIXTURE=)" >&2; exit 1; }
  : >"$TMP/empty"
  local fact name sec
  while read -r fact name sec; do
    section "$sec" >"$TMP/out"
    write_case "$fact" "$name" "$FIXTURE_NAME § $sec (verbatim)" "$(fact_line "$fact")" 0 "$TMP/out" "$TMP/empty"
  done <<'EOF'
ipvs ipvsadm-1.31 ipvsadm -Sn
thresholds ipvsadm-1.31 ipvsadm -Ln --thresholds
connections ipvsadm-1.31 ipvsadm -Ln
timeouts ipvsadm-1.31 ipvsadm -Ln --timeout
daemon ipvsadm-1.31-master ipvsadm -Ln --daemon
EOF
  # The empty table's section holds the marker "(end)" and the VM's "BOOT-DONE": ipvsadm printed nothing.
  write_case ipvs ipvsadm-1.31-empty "$FIXTURE_NAME § -Sn on empty table: ipvsadm printed nothing (the section holds only the capture's end markers)" \
    "$(fact_line ipvs)" 0 "$TMP/empty" "$TMP/empty"

  # For compiler/ipvsadm.test.ts: the commands that built the fixture's table, and two more sections.
  mkdir -p compiler/testdata/ipvsadm
  sed -n 's/^#   \$V \(-[AaEe] .*\)$/\1/p' "$FIXTURE" >compiler/testdata/ipvsadm/build-commands.txt
  section 'ipvsadm -Sn' >compiler/testdata/ipvsadm/save-1.31.txt
  section '-e weight change' >compiler/testdata/ipvsadm/edit-weight.txt
  section 'restore from stdin' >compiler/testdata/ipvsadm/restore-input.txt
}

# run_case FACT CASE SOURCE ARGS_JSON [EXPECT_JSON] -- run the fact's command line in the namespace.
# WRAP (an array) may put something before `sh -c`, e.g. an environment without the tool.
run_case() {
  local fact=$1 name=$2 source=$3 args=$4 expect=${5:-}
  local line status=0
  line=$(fact_line "$fact" "$args")
  ip netns exec "$NS" env -i PATH="${CAPTURE_PATH:-$CLEAN_PATH}" LC_ALL=C /bin/sh -c "$line" \
    </dev/null >"$TMP/out" 2>"$TMP/err" || status=$?
  write_case "$fact" "$name" "$source" "$line" "$status" "$TMP/out" "$TMP/err" "$([ "$args" = '{}' ] || echo "$args")" "$expect"
}

capture_local() {
  command -v nft >/dev/null || { echo "capture.sh local: install nftables first (apt-get install -y nftables)" >&2; exit 1; }
  start_namespace
  x() { ip netns exec "$NS" "$@"; }

  # A fresh namespace: lo down, nothing configured.
  run_case addresses fresh-netns "$here: a fresh network namespace (lo down, no address)" '{}'
  run_case routes fresh-netns "$here: a fresh network namespace" '{}'

  # What a director / real server looks like: VIPs on lo with lvsc's label, a veth pair with
  # fixed MACs (so the link-local addresses are the same on every capture), routes of every kind.
  x sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  x ip link set lo up
  x ip addr add 10.1.0.100/32 dev lo label lo:lvs
  x ip addr add 10.1.0.101/32 dev lo
  x ip addr add 2001:db8:2::100/128 dev lo
  x ip link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:02
  x ip link set v0 up
  x ip link set v1 up
  x ip addr add 10.1.0.2/24 dev v0
  x ip addr add 10.9.0.2/30 dev v0 label v0:sync
  x ip addr add 2001:db8:1::2/64 dev v0 nodad
  x ip route add default via 10.1.0.1
  x ip route add 192.0.2.0/24 via 10.1.0.254 proto 76
  x ip route add 198.51.100.7 via 10.1.0.254 proto static
  x ip route add 198.51.100.0/25 nexthop via 10.1.0.253 nexthop via 10.1.0.254
  x ip route add blackhole 203.0.113.0/25
  x ip route add 203.0.113.128/25 via inet6 2001:db8:1::1 dev v0
  x ip -6 route add default via 2001:db8:1::1 dev v0
  x ip -6 route add 2001:db8:99::/48 via 2001:db8:1::fe proto 76
  x ip -6 route add unreachable 2001:db8:dead::/48
  local setup='lo up with 10.1.0.100/32 (label lo:lvs), 10.1.0.101/32 and 2001:db8:2::100/128; veth v0/v1 (MACs 02:00:00:00:00:01/02) with 10.1.0.2/24, 10.9.0.2/30 label v0:sync and 2001:db8:1::2/64; routes: default via 10.1.0.1, 192.0.2.0/24 via 10.1.0.254 proto 76, 198.51.100.7 via 10.1.0.254 proto static, 198.51.100.0/25 multipath via .253 and .254, blackhole 203.0.113.0/25, 203.0.113.128/25 via inet6 2001:db8:1::1, IPv6 default via 2001:db8:1::1, 2001:db8:99::/48 via 2001:db8:1::fe proto 76, unreachable 2001:db8:dead::/48'
  run_case addresses netns "$here: $setup" '{}'
  run_case routes netns "$here: $setup" '{}'
  run_case routes6 netns "$here: $setup" '{}'
  run_case links netns "$here: $setup (this kernel has no ipip, gre, ip6_tunnel: no tunnel device)" '{}'
  run_case fou no-fou-kernel "$here: a kernel built without fou (CONFIG_NET_FOU unset)" '{}'

  x sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2 net.ipv4.ip_forward=1 \
    net.ipv4.conf.v0.send_redirects=0 net.ipv4.conf.all.rp_filter=0 'net.ipv4.tcp_rmem=4096 131072 6291456'
  run_case sysctl netns "$here: set all/lo arp_ignore=1 arp_announce=2, ip_forward=1, v0 send_redirects=0, all rp_filter=0, tcp_rmem 4096 131072 6291456; a kernel without IPVS and without tunl0" \
    '{"keys":["net.ipv4.conf.all.arp_ignore","net.ipv4.conf.all.arp_announce","net.ipv4.conf.lo.arp_ignore","net.ipv4.conf.lo.arp_announce","net.ipv4.conf.v0.send_redirects","net.ipv4.conf.all.rp_filter","net.ipv4.ip_forward","net.ipv4.tcp_rmem","net.ipv4.vs.expire_nodest_conn","net.ipv4.conf.tunl0.rp_filter"]}'

  # A key with `=` would make sysctl write it: the fact refuses it, and sysctl then gets no key at all.
  run_case sysctl refused-key "$here: the only key asked for is 'net.ipv4.ip_forward=1'" '{"keys":["net.ipv4.ip_forward=1"]}'

  run_case modules this-kernel "$here: a kernel without loadable-module support and no /lib/modules" '{}'

  run_case ipvs no-ipvs-kernel "$here: ipvsadm 1.31 installed, kernel without IPVS (no /proc/net/ip_vs)" '{}'
  run_case timeouts no-ipvs-kernel "$here: ipvsadm 1.31 installed, kernel without IPVS (no /proc/net/ip_vs)" '{}'
  run_case connections no-ipvs-kernel "$here: ipvsadm 1.31 installed, kernel without IPVS (no /proc/net/ip_vs)" '{}'
  # PATH=/bin holds sh but neither ipvsadm nor nft (Debian keeps them in /usr/sbin).
  CAPTURE_PATH=/bin run_case ipvs not-installed "$here: run with PATH=/bin, as on a host without ipvsadm" '{}'
  CAPTURE_PATH=/bin run_case nft not-installed "$here: run with PATH=/bin, as on a host without nft" '{}'

  run_case nft no-table "$here: nftables $(nft --version | awk '{print $2}'), no lvsc table yet" '{}'
  local rules='[{"family":4,"proto":"tcp","address":"10.2.0.100","ports":[80,443],"mark":10},{"family":6,"proto":"tcp","address":"2001:db8:2::100","ports":[443],"mark":11},{"family":4,"proto":"udp","address":"10.2.0.101","ports":[53,5060],"mark":2147483648},{"family":4,"proto":"sctp","address":"10.2.0.102","ports":[],"mark":12}]'
  RULES="$rules" npx --no-install tsx --eval "
    import { nftScript } from './compiler/nft.ts';
    process.stdout.write(nftScript(JSON.parse(process.env.RULES)));
  " 2>/dev/null >"$TMP/script.nft"
  x nft -f "$TMP/script.nft"
  run_case nft lvsc-table "$here: after \`nft -f\` of nftScript(value) (the \`applied\` text)" '{}' \
    "$(RULES="$rules" APPLIED="$(cat "$TMP/script.nft")" node -e 'console.log(JSON.stringify({ value: JSON.parse(process.env.RULES), applied: process.env.APPLIED + "\n" }))')"
  # A hand edit inside lvsc's table: a rule for a whole network, a counter, a rule in a chain of the operator's.
  x nft add rule inet lvsc prerouting ip daddr 10.3.0.0/24 tcp dport 80 meta mark set 20
  x nft add rule inet lvsc prerouting ip daddr 10.2.0.100 counter
  x nft add chain inet lvsc mine '{ type filter hook input priority 0; policy accept; }'
  x nft add rule inet lvsc mine ip daddr 10.2.0.103 tcp dport 22 meta mark set 30
  run_case nft hand-edited "$here: the lvsc-table case, then by hand: rules 'ip daddr 10.3.0.0/24 tcp dport 80 meta mark set 20' and 'ip daddr 10.2.0.100 counter', and a chain 'mine' (hook input) with a mark rule" '{}'

  # nftScript replaces the table whatever is in it (the hand edits above included), and with no rules removes it.
  x nft -f "$TMP/script.nft"
  run_case nft reapplied "$here: the hand-edited case, then \`nft -f\` of the same nftScript(value) again (\`applied\`)" '{}' \
    "$(RULES="$rules" APPLIED="$(cat "$TMP/script.nft")" node -e 'console.log(JSON.stringify({ value: JSON.parse(process.env.RULES), applied: process.env.APPLIED + "\n" }))')"
  npx --no-install tsx --eval "import { nftScript } from './compiler/nft.ts'; process.stdout.write(nftScript([]));" 2>/dev/null >"$TMP/empty.nft"
  x nft -f "$TMP/empty.nft"
  run_case nft removed "$here: the reapplied case, then \`nft -f\` of nftScript([]) (\`applied\`): no table left" '{}' \
    "$(APPLIED="$(cat "$TMP/empty.nft")" node -e 'console.log(JSON.stringify({ value: [], applied: process.env.APPLIED + "\n" }))')"

  capture_files
  capture_manifest
  capture_units
}

# The units fact: this machine's own multi-user.target.wants (systemd's, as `systemctl enable`
# left it), a wants directory that does not exist (a host without systemd), and one holding a
# link to a unit file that is not there (what lvsc makes on a host without systemctl).
capture_units() {
  mkdir -p /tmp/lvsc-capture-files/wants
  ln -sfn /lib/systemd/system/no-such.service /tmp/lvsc-capture-files/wants/keepalived.service
  run_case units this-machine "$here: /etc/systemd/system/multi-user.target.wants as systemd left it ($(cd /etc/systemd/system/multi-user.target.wants && ls | tr '\n' ' ')); lvsc-capture-none.service is no unit" \
    '{"units":["keepalived.service","ssh.service","lvsc-capture-none.service"]}'
  run_case units no-wants-dir "$here: a wants directory that does not exist, as on a host without systemd" '{"paths":["/tmp/lvsc-capture-files/no-such-dir"],"units":["keepalived.service"]}'
  run_case units dangling-link "$here: a wants directory holding keepalived.service -> /lib/systemd/system/no-such.service, a link to nothing" '{"paths":["/tmp/lvsc-capture-files/wants"],"units":["keepalived.service","ssh.service"]}'
}

# The files fact: listed paths, then lvsc's networkd name patterns (as the planner asks for them),
# on files written here under /tmp/lvsc-capture-files.
capture_files() {
  mkdir -p /tmp/lvsc-capture-files/dir /tmp/lvsc-capture-files/network/eth0.network.d /tmp/lvsc-capture-files/network/50-lvsc-dir.netdev
  printf -- '-A -t 10.1.0.100:80 -s wlc\n-a -t 10.1.0.100:80 -r 10.1.0.11:80 -g -w 3\n' >/tmp/lvsc-capture-files/ipvsadm.rules
  printf 'no newline at the end' >/tmp/lvsc-capture-files/no-newline
  : >/tmp/lvsc-capture-files/empty
  printf 'trailing blank lines, UTF-8 \342\206\222 and a tab\there\n\n\n' >/tmp/lvsc-capture-files/odd
  printf '# Rendered by lvsc for host cache-fra: GUE decapsulation on UDP port 6080\n[NetDev]\nName=fou6080\nKind=fou\n\n[FooOverUDP]\nPort=6080\nEncapsulation=GenericUDPEncapsulation\n' >/tmp/lvsc-capture-files/network/50-lvsc-fou6080.netdev
  printf '# Rendered by lvsc\n[Match]\nName=lo\n' >/tmp/lvsc-capture-files/network/50-lvsc-lo.network
  printf '# Rendered by lvsc\n[Route]\nGateway=10.1.0.2\n' >/tmp/lvsc-capture-files/network/eth0.network.d/lvsc.conf
  printf '[Match]\nName=eth0\n' >/tmp/lvsc-capture-files/network/10-eth0.network
  run_case files netns "$here: files written by capture.sh under /tmp/lvsc-capture-files (a rules file, one without final newline, an empty one, one with blank lines at the end, UTF-8 and a tab), a directory and a missing path; then lvsc's networkd patterns over its network/ folder: a fou netdev, lo's .network (also a listed path, so read once), an eth0 drop-in, a directory named like a netdev, the operator's 10-eth0.network (no match), and a pattern over a missing folder" \
    '{"paths":["/tmp/lvsc-capture-files/ipvsadm.rules","/tmp/lvsc-capture-files/no-newline","/tmp/lvsc-capture-files/empty","/tmp/lvsc-capture-files/odd","/tmp/lvsc-capture-files/dir","/tmp/lvsc-capture-files/missing","/tmp/lvsc-capture-files/network/50-lvsc-lo.network"],"globs":["/tmp/lvsc-capture-files/network/50-lvsc-*.network","/tmp/lvsc-capture-files/network/50-lvsc-*.netdev","/tmp/lvsc-capture-files/network/*.network.d/lvsc.conf","/tmp/lvsc-capture-files/none/*.netdev"]}'
}

# The manifest fact: lvsc's manifest as the real renderer writes it (shop1 of examples/shop-fwmark.lvs,
# which has an IPv6 VIP), the manifest missing, and a directory where it should be.
capture_manifest() {
  mkdir -p /tmp/lvsc-capture-files/manifest-dir
  # As a module file: the compiler's imports (chevrotain) do not load in tsx --eval's CommonJS.
  cat >"$TMP/manifest.mts" <<JS
import { readFileSync } from 'node:fs';
import { check } from '$ROOT/compiler/index.ts';
import { compileCluster } from '$ROOT/compiler/compile.ts';
import { MANIFEST_PATH } from '$ROOT/compiler/manifest.ts';
const r = check([{ path: 'examples/shop-fwmark.lvs', text: readFileSync('$ROOT/examples/shop-fwmark.lvs', 'utf8') }]);
process.stdout.write(compileCluster(r.cluster!).find((h) => h.name === 'shop1')!.state.files[MANIFEST_PATH]);
JS
  npx --no-install tsx "$TMP/manifest.mts" >/tmp/lvsc-capture-files/manifest.json
  run_case manifest shop1 "$here: the manifest lvsc renders for shop1 of examples/shop-fwmark.lvs, written to /tmp/lvsc-capture-files/manifest.json" '{"paths":["/tmp/lvsc-capture-files/manifest.json"]}'
  run_case manifest absent "$here: no manifest at lvsc's path (a host lvsc never configured, or one configured before it wrote manifests)" '{}'
  run_case manifest directory "$here: a directory where the manifest should be" '{"paths":["/tmp/lvsc-capture-files/manifest-dir"]}'
}

# start_namespace: the throwaway namespace the local cases run in, and how they say where they ran.
start_namespace() {
  [ "$(id -u)" -eq 0 ] || { echo "capture.sh local: must run as root (network namespaces)" >&2; exit 1; }
  NS=lvsccap-$$
  ip netns add "$NS"
  here="this machine ($(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")), capture.sh local"
}

case "${1:-all}" in
  fixture) seed_fixture ;;
  local) capture_local ;;
  files) start_namespace; capture_files ;;
  manifest) start_namespace; capture_manifest ;;
  units) start_namespace; capture_units ;;
  all) seed_fixture; capture_local ;;
  *) echo "usage: $0 [fixture|local|files|manifest|units|all]" >&2; exit 2 ;;
esac
