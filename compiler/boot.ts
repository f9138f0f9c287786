/**
 * Daemons a host must start at boot, the systemd way: a unit is enabled when
 * the target it is wanted by (multi-user.target, as Debian's keepalived.service
 * says in its [Install] section) has a link to it in
 * /etc/systemd/system/multi-user.target.wants/. That link is what the units
 * fact reads (agent/facts/units.ts) and what `enableUnit` makes: with
 * `systemctl enable` where systemctl is installed, otherwise the same link by
 * hand (a host without systemd, such as the lab's guest, whose boot reads it).
 *
 * lvsc only ever enables: a unit it no longer needs stays as it is (Debian's
 * keepalived package enables keepalived itself, and keepalived does not start
 * without its configuration, which lvsc removes).
 */

/** Where systemd looks for what multi-user.target wants. */
export const WANTS_DIR = '/etc/systemd/system/multi-user.target.wants';

/** The units lvsc enables, each with the unit file its Debian package installs (the link's target). */
export const BOOT_UNITS = {
  'keepalived.service': '/lib/systemd/system/keepalived.service',
} as const;

export type BootUnit = keyof typeof BOOT_UNITS;

export function isBootUnit(name: string): name is BootUnit {
  return Object.hasOwn(BOOT_UNITS, name);
}

/** The link that makes `unit` wanted at boot. */
export function wantsLink(unit: BootUnit): string {
  return `${WANTS_DIR}/${unit}`;
}
