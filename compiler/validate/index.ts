/**
 * The validation rule registry: a list a reader can scan. Each rule is a
 * small named function over one kind of IR node that reports through the
 * acceptor; the runner turns a crashing rule into a diagnostic on its node
 * and goes on with the next rule.
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

function crashed(accept: Accept, name: string, at: Span | undefined, e: unknown): void {
  accept(
    diag('internal', {
      summary: `validation rule ${name} crashed`,
      detail: `This is a bug in lvsc, not in your file. Please report it with the file. (${e instanceof Error ? e.message : String(e)})`,
      subject: at,
    }),
  );
}

/**
 * The runners: every rule of a list over one node, in order, inside one
 * try; a rule that throws is reported on the node and the next one runs.
 * (A closure, a try and a name lookup per rule per node cost 0.3 s at
 * 100,000 destinations; the name is only read when a rule crashed.)
 */

export function runOn<N>(rules: readonly ((node: N, ctx: RuleContext) => void)[], node: N, at: Span | undefined, ctx: RuleContext): void {
  for (let i = 0; i < rules.length; ) {
    try {
      for (; i < rules.length; i++) rules[i](node, ctx);
    } catch (e) {
      crashed(ctx.accept, rules[i].name, at, e);
      i++;
    }
  }
}

/** runOn for rules over a node in its context: a server in its service, a check with its owner. */
function runOnPair<N, O>(rules: readonly ((node: N, of: O, ctx: RuleContext) => void)[], node: N, of: O, at: Span | undefined, ctx: RuleContext): void {
  for (let i = 0; i < rules.length; ) {
    try {
      for (; i < rules.length; i++) rules[i](node, of, ctx);
    } catch (e) {
      crashed(ctx.accept, rules[i].name, at, e);
      i++;
    }
  }
}

/** Run every rule over the cluster. */
export function validate(cluster: Cluster, accept: Accept): void {
  const ctx: RuleContext = { cluster, accept };
  runOn(clusterRules, cluster, cluster.hosts[0]?.origin, ctx);
  for (const host of cluster.hosts) runOn(hostRules, host, host.origin, ctx);
  for (const service of cluster.services) {
    runOn(serviceRules, service, service.origin, ctx);
    for (const server of service.servers) runOnPair(serverRules, server, service, server.origin, ctx);
    const sorry = service.sorry;
    if (sorry) runOnPair(reachabilityRules, sorry, service, sorry.origin, ctx);
    // Each check as written: the service's, then each server's own.
    if (service.check) runOnPair(checkRules, service.check, { service, server: undefined }, service.check.origin, ctx);
    for (const server of service.servers) {
      const own = ownCheck(server, service);
      if (own) runOnPair(checkRules, own, { service, server }, own.origin, ctx);
    }
  }
}
