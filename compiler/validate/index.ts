/**
 * The validation rule registry: a list a reader can scan. Each rule is a
 * small named function over one kind of IR node that reports through the
 * acceptor; the runner turns a crashing rule into a diagnostic on its node.
 */
import { diag, type Accept } from '../../lang/diagnostics.js';
import type { Span } from '../../lang/source.js';
import { ownCheck, type Cluster } from '../ir.js';
import type { CheckRule, ClusterRule, HostRule, RuleContext, ServerRule, ServiceRule } from './context.js';
import * as names from './names.js';
import * as ports from './ports.js';
import * as sched from './schedulers.js';
import * as topo from './topology.js';
import * as limits from './limits.js';
import * as health from './health.js';
import * as failover from './failover.js';
import * as vips from './vips.js';

export const clusterRules: readonly ClusterRule[] = [
  names.duplicateHosts,
  names.duplicateServices,
  names.directorsExist,
  names.directorsHaveInterfaces,
  names.syncInterface,
  names.uniqueInterfaceAddresses,
  names.distinctSshEndpoints,
  limits.natScale,
  failover.failoverNeedsPair,
  failover.failoverSettingsNeedFailover,
  failover.vrrpIdRange,
  failover.vrrpIdOncePerSegment,
  failover.failoverInterfaceShared,
  failover.floatingOnSharedSegment,
  failover.vrrpAdvertCarried,
  failover.failbackAfterResync,
];

export const hostRules: readonly HostRule[] = [names.viaChain, topo.gatewayNeedsAgree, topo.nextHopOnLink, topo.nextHopNotSelf];

export const serviceRules: readonly ServiceRule[] = [
  ports.serviceComplete,
  ports.allPortsNeedsPersistence,
  names.duplicateServers,
  names.vipNotHostAddress,
  vips.fwmarkDirectNeedsMatch,
  vips.vipUsable,
  sched.knownScheduler,
  sched.flagsFitScheduler,
  sched.persistenceNetmask,
  sched.persistenceEngine,
  sched.opsNeedsUdp,
  sched.fwmarkOneFamily,
  limits.natPayloadHelper,
  limits.ftpNeedsPersistence,
  limits.hashWeights,
  limits.notAllDrained,
  limits.newSchedulers,
  health.failureSettingsNeedCheck,
  health.sorryNotAServer,
  failover.vipsOnSharedSegment,
];

/**
 * Whether the director can reach a server by its method (and may use it):
 * run on every server, and on a service's `sorry` server, which is reached
 * like its servers.
 */
export const reachabilityRules: readonly ServerRule[] = [
  names.serverHostExists,
  names.serverIsNotDirector,
  topo.serverAddressOnHost,
  topo.serverHasAddress,
  topo.drSharesSegment,
  topo.natSharesSegment,
  topo.natGatewayIsDirector,
  topo.directGatewayNotDirector,
  topo.tunRoutable,
  ports.directCannotRemap,
  ports.allPortsNoServerPort,
  topo.ambiguousServerAddress,
  failover.natNeedsFloating,
  failover.backupReachesServers,
];

export const serverRules: readonly ServerRule[] = [...reachabilityRules, sched.thresholdsOrdered, sched.tunnelOptions, health.checkHasPort];

/** Rules over each `check` as written: the service's, and each server's own. */
export const checkRules: readonly CheckRule[] = [
  health.checkTimeoutBelowEvery,
  health.checkStatusRange,
  health.checkExecProgram,
  health.checkDnsType,
  health.checkText,
  health.checkNoneOnServer,
];

function guarded(accept: Accept, name: string, at: Span | undefined, run: () => void): void {
  try {
    run();
  } catch (e) {
    accept(
      diag('internal', {
        summary: `validation rule ${name} crashed`,
        detail: `This is a bug in lvsc, not in your file. Please report it with the file. (${e instanceof Error ? e.message : String(e)})`,
        subject: at,
      }),
    );
  }
}

/** Run every rule over the cluster. */
export function validate(cluster: Cluster, accept: Accept): void {
  const ctx: RuleContext = { cluster, accept };
  for (const rule of clusterRules) guarded(accept, rule.name, cluster.hosts[0]?.origin, () => rule(cluster, ctx));
  for (const host of cluster.hosts) for (const rule of hostRules) guarded(accept, rule.name, host.origin, () => rule(host, ctx));
  for (const service of cluster.services) {
    for (const rule of serviceRules) guarded(accept, rule.name, service.origin, () => rule(service, ctx));
    for (const server of service.servers) for (const rule of serverRules) guarded(accept, rule.name, server.origin, () => rule(server, service, ctx));
    const sorry = service.sorry;
    if (sorry) for (const rule of reachabilityRules) guarded(accept, rule.name, sorry.origin, () => rule(sorry, service, ctx));
    const checks = [
      ...(service.check ? [{ check: service.check, owner: { service, server: undefined } }] : []),
      ...service.servers.flatMap((server) => {
        const own = ownCheck(server, service);
        return own ? [{ check: own, owner: { service, server } }] : [];
      }),
    ];
    for (const { check, owner } of checks) for (const rule of checkRules) guarded(accept, rule.name, check.origin, () => rule(check, owner, ctx));
  }
}
