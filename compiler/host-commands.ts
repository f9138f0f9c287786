/**
 * The host commands a plan runs besides ipvsadm's (compiler/ipvsadm.ts):
 * iproute2, sysctl, modprobe, nft, rm and systemctl, as typed builders over validated
 * values. Each returns one `Command` (argv, never a shell string); the diff
 * only calls these.
 */
import { cmd, withStdin, type Command } from './command.js';
import { BOOT_UNITS, WANTS_DIR, type BootUnit } from './boot.js';
import { nftScript } from './nft.js';
import type { AddressState, Family, FwmarkRule } from './state.js';

const family6 = (family: Family): string[] => (family === 6 ? ['-6'] : []);

/** `ip addr add A/P dev D [label L]`; IPv6 with `-6` and `nodad` (a VIP must not wait for, or fail, duplicate detection). */
export function addAddress(a: AddressState): Command {
  const ipv6 = a.address.includes(':');
  return cmd('ip', ...family6(ipv6 ? 6 : 4), 'addr', 'add', `${a.address}/${a.prefix}`, 'dev', a.dev, ...(a.label ? ['label', a.label] : []), ...(ipv6 ? ['nodad'] : []));
}

/** `ip addr del A/P dev D`. */
export function deleteAddress(a: AddressState): Command {
  return cmd('ip', 'addr', 'del', `${a.address}/${a.prefix}`, 'dev', a.dev);
}

/**
 * `ip [-6] route replace DST via VIA [dev D] [proto P]`. lvsc's own routes
 * carry its route protocol (`proto`); a route it hands back to the host (its
 * declared gateway) carries none.
 */
export function replaceRoute(family: Family, route: { readonly dst: string; readonly via: string; readonly dev?: string }, proto?: string): Command {
  return cmd('ip', ...family6(family), 'route', 'replace', route.dst, 'via', route.via, ...(route.dev ? ['dev', route.dev] : []), ...(proto ? ['proto', proto] : []));
}

/** `ip [-6] route del DST proto P`: only the route of that protocol, never another one to the same destination. */
export function deleteRoute(family: Family, dst: string, proto: string): Command {
  return cmd('ip', ...family6(family), 'route', 'del', dst, 'proto', proto);
}

/** `ip link set NAME up`. */
export function setLinkUp(name: string): Command {
  return cmd('ip', 'link', 'set', name, 'up');
}

/** `ip fou add port P gue`: GUE decapsulation on UDP port P. */
export function addFouPort(port: number): Command {
  return cmd('ip', 'fou', 'add', 'port', port, 'gue');
}

/** `ip fou del port P`. */
export function deleteFouPort(port: number): Command {
  return cmd('ip', 'fou', 'del', 'port', port);
}

/** `sysctl -q -w KEY=VALUE`. */
export function setSysctl(key: string, value: string): Command {
  return cmd('sysctl', '-q', '-w', `${key}=${value}`);
}

/** `modprobe NAME`. */
export function loadModule(name: string): Command {
  return cmd('modprobe', name);
}

/** `nft -f -` fed the script that leaves lvsc's table holding exactly these rules (none: no table), in one transaction. */
export function replaceNftTable(rules: readonly FwmarkRule[]): Command {
  return withStdin(cmd('nft', '-f', '-'), nftScript(rules));
}

/**
 * Enables a unit at boot, a fixed script ($1 the unit, $2 its unit file, $3
 * the wants directory): `systemctl enable` where systemctl is installed (it
 * works whether or not systemd runs), otherwise the link systemctl would make
 * for `WantedBy=multi-user.target`. Idempotent either way.
 */
const ENABLE_SCRIPT = [
  'if command -v systemctl >/dev/null 2>&1; then exec systemctl enable -- "$1"; fi',
  'mkdir -p -- "$3" && exec ln -sfn -- "$2" "$3/$1"',
].join('\n');

export function enableUnit(unit: BootUnit): Command {
  return cmd('sh', '-c', ENABLE_SCRIPT, 'sh', unit, BOOT_UNITS[unit], WANTS_DIR);
}

/** `rm -f -- PATH`. */
export function removeFile(path: string): Command {
  return cmd('rm', '-f', '--', path);
}

/**
 * Waits until the device holds the address with that prefix (`ip -o addr
 * show dev D` lists `A/P`), or with `gone`, until it no longer does, polling
 * every 0.05 s for at most `seconds`; past that, exits 1 with `message` on
 * stderr. How a failover pair's move between static VIPs and VRRP waits for
 * keepalived to take or let go of an address around lvsc's own copy.
 */
export function waitForAddress(a: { readonly dev: string; readonly address: string; readonly prefix: number }, seconds: number, message: string, gone = false): Command {
  const script = [
    'n=$(( $3 * 20 ))',
    'while :; do',
    `  if ip -o addr show dev "$1" | grep -qF " $2 "; then [ "$5" = gone ] || exit 0; else [ "$5" = gone ] && exit 0; fi`,
    '  n=$((n - 1))',
    `  [ "$n" -gt 0 ] || { printf '%s\\n' "$4" >&2; exit 1; }`,
    '  sleep 0.05',
    'done',
  ].join('\n');
  return cmd('sh', '-c', script, 'sh', a.dev, `${a.address}/${a.prefix}`, String(Math.ceil(seconds)), message, gone ? 'gone' : 'there');
}
