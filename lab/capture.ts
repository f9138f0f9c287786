/**
 * Real output for parser tests: builds a varied LVS setup in the lab by hand
 * (every forwarding method and tunnel type, schedulers with flags, persistence,
 * thresholds, fwmarks, timeouts, the sync daemon, nftables marks), records what
 * the director and real servers print for the commands lvsc reads facts with,
 * then removes all of it. Each file starts with one header line naming the
 * host, kernel and exact command; the folder's README.md lists the setup.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labExclusive, labUp, type LabOptions } from './lab.js';
import { labPaths } from './paths.js';
import { arpSettings, assertFreshDirector, loadedModules, sh, sysctlValues, sysctlWrite, unloadModulesSince } from './remote.js';

/** What one host gets, how it is undone, and which sysctls the setup changes (put back afterwards). */
interface HostSetup {
  readonly host: string;
  readonly purpose: string;
  readonly setup: readonly string[];
  readonly undo: readonly string[];
  readonly sysctls: ReadonlyMap<string, string | number>;
}

const TUN_SYSCTLS = new Map([['net.ipv4.conf.all.rp_filter', 0], ...arpSettings()]);

/** Real servers first, then the director, as an apply would order them. */
const SETUPS: readonly HostSetup[] = [
  {
    host: 'web1',
    purpose: 'DR real server: VIP on lo with lvsc\'s label, ARP sysctls',
    sysctls: arpSettings(),
    setup: ['ip addr add 10.20.0.100/32 dev lo label lo:lvs'],
    undo: ['ip addr del 10.20.0.100/32 dev lo'],
  },
  {
    host: 'web3',
    purpose: 'NAT real server: default route through the director',
    sysctls: new Map(),
    setup: ['ip route replace default via 10.20.0.2'],
    undo: ['ip route replace default via 10.20.0.1'],
  },
  {
    host: 'remote1',
    purpose: 'TUN (ipip) real server: tunl0 up with the VIP',
    sysctls: TUN_SYSCTLS,
    setup: ['modprobe ipip', 'sysctl -q -w net.ipv4.conf.tunl0.rp_filter=0', 'ip link set tunl0 up', 'ip addr add 10.10.0.110/32 dev tunl0'],
    undo: ['ip addr del 10.10.0.110/32 dev tunl0', 'ip link set tunl0 down'],
  },
  {
    host: 'remote2',
    purpose: 'TUN (gue and gre) real server: a fou port for GUE, gre0 up with a VIP',
    sysctls: TUN_SYSCTLS,
    setup: [
      'modprobe -a ipip fou ip_gre',
      'sysctl -q -w net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.gre0.rp_filter=0',
      'ip fou add port 6080 gue',
      'ip link set tunl0 up',
      'ip addr add 10.10.0.110/32 dev tunl0',
      'ip link set gre0 up',
      'ip addr add 10.10.0.111/32 dev gre0',
    ],
    undo: ['ip addr del 10.10.0.111/32 dev gre0', 'ip link set gre0 down', 'ip addr del 10.10.0.110/32 dev tunl0', 'ip link set tunl0 down', 'ip fou del port 6080'],
  },
  {
    host: 'lb1',
    purpose: 'director: services of every kind, timeouts, sync daemons, VIPs, nftables fwmarks',
    sysctls: new Map([['net.ipv4.ip_forward', 1]]),
    setup: [
      'modprobe ip_vs',
      'sysctl -q -w net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1',
      // DR, weights and thresholds, and a real server that is the director itself ("Local" in -L).
      'ipvsadm -A -t 10.20.0.100:80 -s wrr',
      'ipvsadm -a -t 10.20.0.100:80 -r 10.20.0.11:80 -g -w 3 -x 1000 -y 800',
      'ipvsadm -a -t 10.20.0.100:80 -r 10.20.0.12:80 -g -w 1',
      'ipvsadm -a -t 10.20.0.100:80 -r 10.20.0.2:80 -g -w 1',
      // Source hashing with both flags, persistence with a netmask, a drained server.
      'ipvsadm -A -t 10.20.0.100:443 -s sh -b sh-fallback,sh-port -p 1800 -M 255.255.255.0',
      'ipvsadm -a -t 10.20.0.100:443 -r 10.20.0.11:443 -g -w 1',
      'ipvsadm -a -t 10.20.0.100:443 -r 10.20.0.12:443 -g -w 0',
      // NAT with port remapping; UDP with one-packet scheduling; SIP persistence; FTP; SCTP.
      'ipvsadm -A -t 10.10.0.100:80 -s wlc',
      'ipvsadm -a -t 10.10.0.100:80 -r 10.20.0.13:8080 -m -w 2',
      'ipvsadm -a -t 10.10.0.100:80 -r 10.20.0.14:8080 -m -w 1 -x 500',
      'ipvsadm -A -u 10.10.0.100:53 -s rr -o',
      'ipvsadm -a -u 10.10.0.100:53 -r 10.20.0.13:53 -m -w 1',
      'ipvsadm -A -u 10.10.0.100:5060 -s rr -p 60 --pe sip',
      'ipvsadm -a -u 10.10.0.100:5060 -r 10.20.0.14:5060 -m -w 1',
      'ipvsadm -A -t 10.10.0.100:21 -s lc -p 600',
      'ipvsadm -a -t 10.10.0.100:21 -r 10.20.0.13:21 -m -w 1',
      'ipvsadm -A --sctp-service 10.10.0.100:3868 -s rr',
      'ipvsadm -a --sctp-service 10.10.0.100:3868 -r 10.20.0.13:3868 -m -w 1',
      // Tunnels: ipip, gue (port, default checksum option), gre with checksums; Maglev with both flags.
      'ipvsadm -A -t 10.10.0.110:80 -s mh -b mh-fallback,mh-port',
      'ipvsadm -a -t 10.10.0.110:80 -r 10.30.0.21:80 -i -w 1',
      'ipvsadm -a -t 10.10.0.110:80 -r 10.30.0.22:80 -i -w 1 --tun-type gue --tun-port 6080',
      'ipvsadm -A -t 10.10.0.111:80 -s lblc',
      'ipvsadm -a -t 10.10.0.111:80 -r 10.30.0.22:80 -i -w 1 --tun-type gre --tun-csum',
      // Firewall marks: a small one with persistence, one at 2^31 + 10 (1.31 prints those negative), an IPv6 one.
      'ipvsadm -A -f 10 -s wlc -p 3600',
      'ipvsadm -a -f 10 -r 10.20.0.11:0 -g -w 1',
      'ipvsadm -a -f 10 -r 10.20.0.12:0 -g -w 1',
      'ipvsadm -A -f 2147483658 -s rr',
      'ipvsadm -a -f 2147483658 -r 10.20.0.11:0 -g -w 1',
      'ipvsadm -A -f 20 -6 -s rr',
      'ipvsadm -a -f 20 -6 -r [2001:db8:20::11]:0 -g -w 1',
      // IPv6.
      'ipvsadm -A -t [2001:db8:10::100]:443 -s rr',
      'ipvsadm -a -t [2001:db8:10::100]:443 -r [2001:db8:20::11]:443 -g -w 1',
      // The twos scheduler exists only from Linux 6.8.
      'if modprobe -q ip_vs_twos; then ipvsadm -A -t 10.10.0.100:8443 -s twos; ipvsadm -a -t 10.10.0.100:8443 -r 10.20.0.13:8443 -m -w 1; fi',
      'ipvsadm --set 900 60 300',
      'ipvsadm --start-daemon master --mcast-interface eth1 --syncid 7',
      'ipvsadm --start-daemon backup --mcast-interface eth1 --syncid 7',
      'ip addr add 10.20.0.100/32 dev eth1 label eth1:lvs',
      'ip addr add 10.10.0.100/32 dev eth0 label eth0:lvs',
      'ip addr add 10.10.0.110/32 dev eth0 label eth0:lvs',
      'ip addr add 10.10.0.111/32 dev eth0 label eth0:lvs',
      'ip addr add 2001:db8:10::100/128 dev eth0',
      [
        "nft -f - <<'EOF'",
        'table ip lvsc {',
        '  chain prerouting {',
        '    type filter hook prerouting priority mangle; policy accept;',
        '    ip daddr 10.20.0.100 tcp dport { 80, 443 } meta mark set 0x0000000a',
        '  }',
        '}',
        'table ip6 lvsc {',
        '  chain prerouting {',
        '    type filter hook prerouting priority mangle; policy accept;',
        '    ip6 daddr 2001:db8:10::100 tcp dport 443 meta mark set 0x00000014',
        '  }',
        '}',
        'EOF',
      ].join('\n'),
    ],
    undo: [
      'nft delete table ip lvsc',
      'nft delete table ip6 lvsc',
      'ip addr del 2001:db8:10::100/128 dev eth0',
      'ip addr del 10.10.0.111/32 dev eth0',
      'ip addr del 10.10.0.110/32 dev eth0',
      'ip addr del 10.10.0.100/32 dev eth0',
      'ip addr del 10.20.0.100/32 dev eth1',
      'ipvsadm --stop-daemon backup',
      'ipvsadm --stop-daemon master',
      'ipvsadm --set 900 120 300',
      'ipvsadm -C',
    ],
  },
];

const SYSCTL_PATTERN = String.raw`^net\.ipv4\.(ip_forward|conf\.[^.]+\.(arp_ignore|arp_announce|rp_filter)|vs\..+)$`;

/** The captures: file name, host, command. */
const CAPTURES: readonly (readonly [string, string, string])[] = [
  ['lb1.ip-j-addr.txt', 'lb1', 'ip -j addr'],
  ['web1.ip-j-addr.txt', 'web1', 'ip -j addr'],
  ['lb1.ip-j-route.txt', 'lb1', 'ip -j route'],
  ['web3.ip-j-route.txt', 'web3', 'ip -j route'],
  ['remote1.ip-j-d-link.txt', 'remote1', 'ip -j -d link'],
  ['remote2.ip-j-d-link.txt', 'remote2', 'ip -j -d link'],
  ['lb1.ipvsadm-Sn.txt', 'lb1', 'ipvsadm -Sn'],
  ['lb1.ipvsadm-Ln.txt', 'lb1', 'ipvsadm -Ln'],
  ['lb1.ipvsadm-Ln-thresholds.txt', 'lb1', 'ipvsadm -Ln --thresholds'],
  ['lb1.ipvsadm-Ln-timeout.txt', 'lb1', 'ipvsadm -Ln --timeout'],
  ['lb1.ipvsadm-Ln-daemon.txt', 'lb1', 'ipvsadm -Ln --daemon'],
  ['lb1.sysctl.txt', 'lb1', `sysctl -a -r '${SYSCTL_PATTERN}'`],
  ['web1.sysctl.txt', 'web1', `sysctl -a -r '${SYSCTL_PATTERN}'`],
  ['remote2.sysctl.txt', 'remote2', `sysctl -a -r '${SYSCTL_PATTERN}'`],
  ['lb1.proc-modules.txt', 'lb1', 'cat /proc/modules'],
  ['lb1.nft-j-list-ruleset.txt', 'lb1', 'nft -j list ruleset'],
];

/**
 * Requests the client keeps sending while the counters are captured (DR
 * through 10.20.0.100, NAT through 10.10.0.100), so that they
 * and the estimator's rates are not all zero. Started after the captures
 * above (whose connection counts stay those of an idle table).
 */
const TRAFFIC = `i=0; while [ $i -lt 2000 ]; do curl -s -o /dev/null --max-time 1 http://10.20.0.100/; curl -s -o /dev/null --max-time 1 http://10.10.0.100/; i=$((i+1)); done`;
const TRAFFIC_PID = '/tmp/lvsc-capture-traffic.pid';

/** Captured while TRAFFIC runs, once the estimator shows a rate (it refreshes about every 2 s). */
const TRAFFIC_CAPTURES: readonly (readonly [string, string, string])[] = [
  ['lb1.ipvsadm-Ln-traffic.txt', 'lb1', 'ipvsadm -Ln'],
  ['lb1.ipvsadm-Ln-stats-exact.txt', 'lb1', 'ipvsadm -Ln --stats --exact'],
  ['lb1.ipvsadm-Ln-rate-exact.txt', 'lb1', 'ipvsadm -Ln --rate --exact'],
  ['lb1.ipvsadm-Ln-stats-rate-exact.txt', 'lb1', 'ipvsadm -Ln --stats --rate --exact'],
  ['lb1.ipvsadm-Ln-stats.txt', 'lb1', 'ipvsadm -Ln --stats'],
];

export interface CaptureOptions extends LabOptions {
  /** Where to write (default agent/testdata/lab-captures/<kernel release>). */
  readonly dir?: string;
}

function readme(kernel: string, versions: string): string {
  const out = [
    `# Lab captures: Linux ${kernel}`,
    '',
    'Real output recorded in the lvsc lab (`npm run lab -- capture`, see lab/capture.ts), for',
    'parser tests. Each file\'s first line names the host, kernel and exact command; the rest is',
    'the command\'s standard output, unchanged. Re-running the capture rewrites these files.',
    '',
    '## Versions',
    '',
    '```',
    versions.trim(),
    '```',
    '',
    '## What was set up before the captures',
    '',
  ];
  for (const s of SETUPS) {
    out.push(`### ${s.host}: ${s.purpose}`, '', '```');
    if (s.sysctls.size) out.push(sysctlWrite(s.sysctls));
    out.push(...s.setup, '```', '');
  }
  out.push('### client: traffic while the last captures were taken', '', '```', TRAFFIC, '```', '');
  out.push('## Files', '', '| file | host | command |', '|---|---|---|');
  for (const [file, host, command] of [...CAPTURES, ...TRAFFIC_CAPTURES]) out.push(`| ${file} | ${host} | \`${command.replace(/\|/g, '\\|')}\` |`);
  return out.join('\n') + '\n';
}

/**
 * Records the captures into `dir` and returns the files written. Needs a lab
 * without IPVS services (a fresh one); leaves it as it found it.
 */
export async function labCapture(opts: CaptureOptions = {}): Promise<string[]> {
  const release = await labExclusive(opts);
  try {
    return await capture(opts);
  } finally {
    release();
  }
}

async function capture(opts: CaptureOptions): Promise<string[]> {
  const lab = await labUp(opts);
  const dir = opts.dir ?? join(labPaths(opts.repo).repo, 'agent', 'testdata', 'lab-captures', lab.kernel);
  const modulesBefore = await loadedModules(opts);
  await assertFreshDirector(opts);

  const sysctlsBefore = new Map<string, Map<string, string>>();
  for (const s of SETUPS) if (s.sysctls.size) sysctlsBefore.set(s.host, await sysctlValues(s.host, [...s.sysctls.keys()], opts));
  const done: HostSetup[] = [];
  const written: string[] = [];
  try {
    for (const s of SETUPS) {
      done.push(s);
      await sh(s.host, [...(s.sysctls.size ? [sysctlWrite(s.sysctls)] : []), ...s.setup].join('\n'), opts);
    }
    const kernel = (await sh('lb1', 'uname -r', opts)).trim();
    mkdirSync(dir, { recursive: true });
    const record = async (captures: typeof CAPTURES) => {
      for (const [file, host, command] of captures) {
        const out = await sh(host, command, opts);
        const path = join(dir, file);
        writeFileSync(path, `# lvsc lab capture | host: ${host} | kernel: ${kernel} | command: ${command}\n${out}`);
        written.push(path);
      }
    };
    await record(CAPTURES);
    await sh('client', `setsid sh -c '${TRAFFIC}' </dev/null >/dev/null 2>&1 &\necho $! > ${TRAFFIC_PID}`, opts);
    try {
      // Until the estimator shows connections per second on some real server (the third column of -Ln --rate).
      await sh('lb1', `n=0; until ipvsadm -Ln --rate --exact | awk '$1 == "->" && $3 > 0 { found = 1 } END { exit !found }'; do n=$((n+1)); [ $n -lt 120 ]; sleep 1; done`, opts);
      await record(TRAFFIC_CAPTURES);
    } finally {
      await sh('client', `kill -- -"$(cat ${TRAFFIC_PID})" 2>/dev/null || true; rm -f ${TRAFFIC_PID}`, opts);
    }
    const versions = await sh('lb1', '. /etc/os-release; echo "$PRETTY_NAME"; ipvsadm --version; ip -V; nft --version; sysctl --version; sshd -V 2>&1 | head -1', opts);
    const path = join(dir, 'README.md');
    writeFileSync(path, readme(kernel, versions));
    written.push(path);
  } finally {
    // Undo in reverse (the director first), ignoring what a failed setup never added.
    for (const s of done.reverse()) {
      const restore = s.sysctls.size ? [sysctlWrite(sysctlsBefore.get(s.host)!)] : [];
      await sh(s.host, [...s.undo.map((c) => `${c} || true`), ...restore].join('\n'), opts);
    }
    await unloadModulesSince(modulesBefore, opts);
  }
  return written;
}
