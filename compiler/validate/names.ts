/** Names and references: duplicates (both occurrences named), unknown hosts (with suggestions), jump-host loops. */
import { diag } from '../../lang/diagnostics.js';
import { suggest } from '../../lang/suggest.js';
import type { Span } from '../../lang/source.js';
import { directorNames, serviceVips, type Host } from '../ir.js';
import { serviceKey, type ServiceId } from '../state.js';
import type { ClusterRule, HostRule, RuleContext, ServerRule, ServiceRule } from './context.js';

function unknownHost(ctx: RuleContext, name: string, span: Span, role: string): void {
  const guess = suggest(name, [...ctx.cluster.hostsByName.keys()]);
  ctx.accept(
    diag('unknown-host', {
      summary: `unknown host ${name}`,
      detail: `${guess ? `Did you mean ${guess}? ` : ''}${role} must name a host declared with \`host ${name} { ... }\`.`,
      subject: span,
    }),
  );
}

/** Two hosts with one name: both are reported. */
export const duplicateHosts: ClusterRule = (cluster, ctx) => {
  const byName = new Map<string, Host[]>();
  for (const h of cluster.hosts) byName.set(h.name, [...(byName.get(h.name) ?? []), h]);
  for (const [name, hosts] of byName) {
    if (hosts.length < 2) continue;
    for (const h of hosts) {
      const other = hosts.find((o) => o !== h)!;
      ctx.accept(
        diag('duplicate-host', {
          summary: `host ${name} is declared ${hosts.length} times`,
          detail: 'Host names identify machines; give each host one block (and a unique name).',
          subject: h.nameSpan,
          notes: [{ message: 'also declared here', span: other.nameSpan }],
        }),
      );
    }
  }
};

/** Two services with one name, or with one identity (protocol, VIP and port, or fwmark): both are reported. */
export const duplicateServices: ClusterRule = (cluster, ctx) => {
  const groups = new Map<string, { span: Span; label: string }[]>();
  const add = (key: string, span: Span, label: string) => groups.set(key, [...(groups.get(key) ?? []), { span, label }]);
  for (const s of cluster.services) {
    add(`name ${s.name}`, s.nameSpan, `service name ${s.name}`);
    const a = s.address;
    if (!a) continue;
    const id: ServiceId = a.kind === 'vip' ? { kind: 'addr', proto: a.proto, address: a.address, port: a.port } : { kind: 'fwmark', mark: a.mark, family: a.family };
    if (a.kind === 'fwmark') {
      add(`id ${serviceKey(id)}`, a.origin, serviceKey(id));
      // A marked address/port is an identity too: one packet cannot belong to two services.
      for (const m of a.matches) for (const p of m.ports) add(`port ${m.proto} ${m.address} ${p}`, m.origin, `${m.proto} ${m.address} port ${p}`);
    } else {
      add(`port ${a.proto} ${a.address} ${a.port}`, a.origin, serviceKey(id));
    }
  }
  for (const entries of groups.values()) {
    if (entries.length < 2) continue;
    for (const e of entries) {
      const other = entries.find((o) => o !== e)!;
      ctx.accept(
        diag('duplicate-service', {
          summary: `${e.label} is declared twice`,
          detail: 'Each virtual service needs its own name and its own protocol/VIP/port (or firewall mark); IPVS keeps one entry per identity. Merge the two services or change one.',
          subject: e.span,
          notes: [{ message: 'also declared here', span: other.span }],
        }),
      );
    }
  }
};

/**
 * The same host twice in one service, compared by the port the destination
 * gets (a server without `port` gets the service's): `server web1` and `server
 * web1 port 80` under a port-80 VIP are one destination, which the kernel refuses twice.
 */
export const duplicateServers: ServiceRule = (service, ctx) => {
  const seen = new Map<string, Span>();
  const a = service.address;
  const servicePort = a?.kind === 'vip' ? a.port : 0;
  for (const s of service.servers) {
    const key = `${s.host}:${s.port ?? servicePort}`;
    const first = seen.get(key);
    if (first) {
      ctx.accept(
        diag('duplicate-server', {
          summary: `server ${s.host} is listed twice in service ${service.name}`,
          detail: 'IPVS keeps one destination per address and port. Remove one line, or give them different `port`s (NAT only).',
          subject: s.hostSpan,
          notes: [{ message: 'first listed here', span: first }],
        }),
      );
    } else seen.set(key, s.hostSpan);
  }
};

/** Every server names a declared host. */
export const serverHostExists: ServerRule = (server, _service, ctx) => {
  if (!ctx.cluster.hostsByName.has(server.host)) unknownHost(ctx, server.host, server.hostSpan, server.role === 'sorry' ? 'A sorry server' : 'A server');
};

/** A director is not a real server of its own table. */
export const serverIsNotDirector: ServerRule = (server, service, ctx) => {
  if (!directorNames(ctx.cluster).includes(server.host)) return;
  ctx.accept(
    diag('server-is-director', {
      summary: `director ${server.host} is listed as a ${server.role === 'sorry' ? 'sorry' : 'real'} server of ${service.name}`,
      detail: 'lvsc does not configure a director as its own real server (the "local node"). Serve the service from another host, or run it outside LVS.',
      subject: server.hostSpan,
    }),
  );
};

/** The director statement names declared hosts, not one twice, and there is one when there are services. */
export const directorsExist: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d) {
    const first = cluster.services[0];
    if (first)
      ctx.accept(
        diag('no-director', {
          summary: 'services are declared but no director',
          detail: 'Add `director HOST` (or `director A B` for an active/backup pair) naming the host that runs the IPVS table.',
          subject: first.nameSpan,
        }),
      );
    return;
  }
  if (!cluster.hostsByName.has(d.active)) unknownHost(ctx, d.active, d.activeSpan, 'A director');
  if (d.backup !== undefined && !cluster.hostsByName.has(d.backup)) unknownHost(ctx, d.backup, d.backupSpan!, 'A director');
  if (d.backup === d.active)
    ctx.accept(
      diag('duplicate-director', {
        summary: `director ${d.active} is named twice`,
        detail: 'A director pair is two different hosts: `director ACTIVE BACKUP`.',
        subject: d.backupSpan,
      }),
    );
};

/** Directors have interfaces (their segments and routes are what the checks reason about). */
export const directorsHaveInterfaces: ClusterRule = (cluster, ctx) => {
  for (const name of directorNames(cluster)) {
    const h = cluster.hostsByName.get(name);
    if (!h || h.interfaces.length) continue;
    ctx.accept(
      diag('director-no-interface', {
        summary: `director ${name} has no interfaces`,
        detail: `A director holds the VIPs and reaches the real servers: declare its interfaces, e.g. \`interface eth0 10.1.0.2/24\`, in host ${name}.`,
        subject: name === cluster.directors!.active ? cluster.directors!.activeSpan : cluster.directors!.backupSpan,
        notes: [{ message: `host ${name} is declared here`, span: h.nameSpan }],
      }),
    );
  }
};

/** The sync interface exists on every director. */
export const syncInterface: ClusterRule = (cluster, ctx) => {
  const d = cluster.directors;
  if (!d?.sync) return;
  for (const name of directorNames(cluster)) {
    const h = cluster.hostsByName.get(name);
    if (!h || !h.interfaces.length || h.interfaces.some((i) => i.dev === d.sync!.iface)) continue;
    const guess = suggest(d.sync.iface, [...new Set(h.interfaces.map((i) => i.dev))]);
    ctx.accept(
      diag('sync-interface', {
        summary: `director ${name} has no interface ${d.sync.iface} for connection sync`,
        detail: `${guess ? `Did you mean ${guess}? ` : ''}The sync daemon multicasts on this interface on both directors; declare it in host ${name} or name an interface it has.`,
        subject: d.sync.origin,
      }),
    );
  }
};

/** A `via` names a declared host, and following `via` never comes back to a host. */
export const viaChain: HostRule = (host, ctx) => {
  const via = host.ssh.via;
  if (via === undefined) return;
  if (!ctx.cluster.hostsByName.has(via)) {
    unknownHost(ctx, via, host.ssh.viaSpan!, 'A jump host (`via`)');
    return;
  }
  const path = [host.name];
  let cur: string | undefined = via;
  while (cur !== undefined) {
    if (path.includes(cur)) {
      if (cur === host.name)
        ctx.accept(
          diag('via-loop', {
            summary: `the jump host chain of ${host.name} loops`,
            detail: `Following \`via\` goes ${[...path, cur].join(' → ')}. A jump host must be reachable without itself; break the loop by giving one host a direct \`ssh\`.`,
            subject: host.ssh.viaSpan,
          }),
        );
      return;
    }
    path.push(cur);
    cur = ctx.cluster.hostsByName.get(cur)?.ssh.via;
  }
};

/** A VIP is not some host's own interface address. */
export const vipNotHostAddress: ServiceRule = (service, ctx) => {
  for (const vip of serviceVips(service)) {
    for (const h of ctx.cluster.hosts) {
      const i = h.interfaces.find((x) => x.address === vip.address);
      if (!i) continue;
      ctx.accept(
        diag('vip-is-host-address', {
          summary: `VIP ${vip.address} is also an interface address of host ${h.name}`,
          detail: 'A VIP is a service address that lvsc adds to the director (and, for DR/TUN, to the real servers without ARP); it cannot be a host\'s own address. Pick an unused address on the segment.',
          subject: vip.origin,
          notes: [{ message: `${h.name}'s interface`, span: i.origin }],
        }),
      );
    }
  }
};

/** One address on two interfaces (of any hosts) is a conflict on the wire. */
export const uniqueInterfaceAddresses: ClusterRule = (cluster, ctx) => {
  const seen = new Map<string, { host: string; span: Span }>();
  for (const h of cluster.hosts) {
    for (const i of h.interfaces) {
      const first = seen.get(i.address);
      if (first) {
        ctx.accept(
          diag('duplicate-interface-address', {
            summary: `address ${i.address} is on ${first.host} and ${h.name}`,
            detail: 'Two interfaces with one address break ARP and routing. Give each interface its own address.',
            subject: i.origin,
            notes: [{ message: 'first used here', span: first.span }],
          }),
        );
      } else seen.set(i.address, { host: h.name, span: i.origin });
    }
  }
};
