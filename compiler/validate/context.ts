/** What every validation rule receives: the cluster (read-only) and the acceptor it reports through. */
import type { Accept } from '../../lang/diagnostics.js';
import type { Cluster, HealthCheck, Host, RealServer, Service } from '../ir.js';

export interface RuleContext {
  readonly cluster: Cluster;
  readonly accept: Accept;
}

export type ClusterRule = (cluster: Cluster, ctx: RuleContext) => void;
export type HostRule = (host: Host, ctx: RuleContext) => void;
export type ServiceRule = (service: Service, ctx: RuleContext) => void;
export type ServerRule = (server: RealServer, service: Service, ctx: RuleContext) => void;

/** Where a `check` was written: in a service (every server without its own inherits it) or on one server line. */
export interface CheckOwner {
  readonly service: Service;
  readonly server: RealServer | undefined;
}

export type CheckRule = (check: HealthCheck, owner: CheckOwner, ctx: RuleContext) => void;
