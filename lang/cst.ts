// Generated from the grammar in parser.ts by Chevrotain's generateCstDts: do not edit.
// Regenerate with `npm run gen:cst` after a grammar change (lang/cst.test.ts fails until then).
// A child the grammar requires can still be absent after error recovery: to-ast.ts reads
// every child list through Partial<...> and treats a missing one as not written.

import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  defaults?: DefaultsCstNode[];
  host?: HostCstNode[];
  director?: DirectorCstNode[];
  timeouts?: TimeoutsCstNode[];
  service?: ServiceCstNode[];
};

export interface DefaultsCstNode extends CstNode {
  name: "defaults";
  children: DefaultsCstChildren;
}

export type DefaultsCstChildren = {
  Defaults: IToken[];
  LBrace: IToken[];
  ssh?: SshCstNode[];
  sudo?: SudoCstNode[];
  RBrace: IToken[];
};

export interface SshCstNode extends CstNode {
  name: "ssh";
  children: SshCstChildren;
}

export type SshCstChildren = {
  Ssh: IToken[];
  target?: IToken[];
  User?: IToken[];
  user?: (IToken)[];
  Key?: IToken[];
  key?: IToken[];
  Port?: IToken[];
  port?: IToken[];
  Via?: IToken[];
  via?: (IToken)[];
  sudo?: IToken[];
};

export interface SudoCstNode extends CstNode {
  name: "sudo";
  children: SudoCstChildren;
}

export type SudoCstChildren = {
  Sudo: IToken[];
};

export interface HostCstNode extends CstNode {
  name: "host";
  children: HostCstChildren;
}

export type HostCstChildren = {
  Host: IToken[];
  name?: (IToken)[];
  LBrace: IToken[];
  ssh?: SshCstNode[];
  interface?: InterfaceCstNode[];
  gateway?: GatewayCstNode[];
  route?: RouteCstNode[];
  RBrace: IToken[];
};

export interface InterfaceCstNode extends CstNode {
  name: "interface";
  children: InterfaceCstChildren;
}

export type InterfaceCstChildren = {
  Interface: IToken[];
  dev: IToken[];
  cidr: IToken[];
  Segment?: IToken[];
  segment?: (IToken)[];
};

export interface GatewayCstNode extends CstNode {
  name: "gateway";
  children: GatewayCstChildren;
}

export type GatewayCstChildren = {
  Gateway: IToken[];
  address: IToken[];
};

export interface RouteCstNode extends CstNode {
  name: "route";
  children: RouteCstChildren;
}

export type RouteCstChildren = {
  Route: IToken[];
  dst: IToken[];
  Via: IToken[];
  via: IToken[];
};

export interface DirectorCstNode extends CstNode {
  name: "director";
  children: DirectorCstChildren;
}

export type DirectorCstChildren = {
  Director: IToken[];
  host?: (IToken)[];
  Sync?: IToken[];
  iface?: IToken[];
  Id?: IToken[];
  id?: IToken[];
  LBrace?: IToken[];
  failover?: FailoverCstNode[];
  advert?: AdvertCstNode[];
  failback?: FailbackCstNode[];
  floating?: FloatingCstNode[];
  directorSync?: DirectorSyncCstNode[];
  RBrace?: IToken[];
};

export interface FailoverCstNode extends CstNode {
  name: "failover";
  children: FailoverCstChildren;
}

export type FailoverCstChildren = {
  Failover: IToken[];
  protocol: IToken[];
  id: IToken[];
  On: IToken[];
  iface: IToken[];
  unicast?: IToken[];
};

export interface AdvertCstNode extends CstNode {
  name: "advert";
  children: AdvertCstChildren;
}

export type AdvertCstChildren = {
  Advert: IToken[];
  interval: IToken[];
};

export interface FailbackCstNode extends CstNode {
  name: "failback";
  children: FailbackCstChildren;
}

export type FailbackCstChildren = {
  Failback: IToken[];
  After?: IToken[];
  delay?: IToken[];
  never?: IToken[];
};

export interface FloatingCstNode extends CstNode {
  name: "floating";
  children: FloatingCstChildren;
}

export type FloatingCstChildren = {
  Floating: IToken[];
  cidr: IToken[];
  On: IToken[];
  iface: IToken[];
};

export interface DirectorSyncCstNode extends CstNode {
  name: "directorSync";
  children: DirectorSyncCstChildren;
}

export type DirectorSyncCstChildren = {
  Sync: IToken[];
  iface: IToken[];
  Id?: IToken[];
  id?: IToken[];
};

export interface TimeoutsCstNode extends CstNode {
  name: "timeouts";
  children: TimeoutsCstChildren;
}

export type TimeoutsCstChildren = {
  Timeouts: IToken[];
  LBrace: IToken[];
  timeout?: TimeoutCstNode[];
  RBrace: IToken[];
};

export interface TimeoutCstNode extends CstNode {
  name: "timeout";
  children: TimeoutCstChildren;
}

export type TimeoutCstChildren = {
  which?: (IToken)[];
  duration: IToken[];
};

export interface ServiceCstNode extends CstNode {
  name: "service";
  children: ServiceCstChildren;
}

export type ServiceCstChildren = {
  Service: IToken[];
  name?: (IToken)[];
  LBrace: IToken[];
  vip?: VipCstNode[];
  fwmark?: FwmarkCstNode[];
  scheduler?: SchedulerCstNode[];
  persistence?: PersistenceCstNode[];
  ops?: OpsCstNode[];
  forward?: ForwardCstNode[];
  check?: CheckCstNode[];
  onFailure?: OnFailureCstNode[];
  sorry?: SorryCstNode[];
  server?: ServerCstNode[];
  RBrace: IToken[];
};

export interface VipCstNode extends CstNode {
  name: "vip";
  children: VipCstChildren;
}

export type VipCstChildren = {
  Vip: IToken[];
  address: IToken[];
  proto: IToken[];
  port: IToken[];
};

export interface FwmarkCstNode extends CstNode {
  name: "fwmark";
  children: FwmarkCstChildren;
}

export type FwmarkCstChildren = {
  Fwmark: IToken[];
  mark: IToken[];
  LBrace?: IToken[];
  match?: MatchCstNode[];
  RBrace?: IToken[];
};

export interface MatchCstNode extends CstNode {
  name: "match";
  children: MatchCstChildren;
}

export type MatchCstChildren = {
  Match: IToken[];
  proto: IToken[];
  address: IToken[];
  Ports: IToken[];
  ports: ListCstNode[];
};

export interface ListCstNode extends CstNode {
  name: "list";
  children: ListCstChildren;
}

export type ListCstChildren = {
  item: (IToken)[];
  Comma?: IToken[];
};

export interface SchedulerCstNode extends CstNode {
  name: "scheduler";
  children: SchedulerCstChildren;
}

export type SchedulerCstChildren = {
  Scheduler: IToken[];
  name: IToken[];
  Flags?: IToken[];
  flags?: ListCstNode[];
};

export interface PersistenceCstNode extends CstNode {
  name: "persistence";
  children: PersistenceCstChildren;
}

export type PersistenceCstChildren = {
  Persistence: IToken[];
  timeout?: IToken[];
  Netmask?: IToken[];
  netmask?: IToken[];
  Engine?: IToken[];
  engine?: IToken[];
};

export interface OpsCstNode extends CstNode {
  name: "ops";
  children: OpsCstChildren;
}

export type OpsCstChildren = {
  Ops: IToken[];
};

export interface ForwardCstNode extends CstNode {
  name: "forward";
  children: ForwardCstChildren;
}

export type ForwardCstChildren = {
  Forward: IToken[];
  spec: ForwardSpecCstNode[];
};

export interface ForwardSpecCstNode extends CstNode {
  name: "forwardSpec";
  children: ForwardSpecCstChildren;
}

export type ForwardSpecCstChildren = {
  method: IToken[];
  word?: IToken[];
  Port?: IToken[];
  port?: IToken[];
};

export interface CheckCstNode extends CstNode {
  name: "check";
  children: CheckCstChildren;
}

export type CheckCstChildren = {
  Check: IToken[];
  spec: CheckSpecCstNode[];
};

export interface CheckSpecCstNode extends CstNode {
  name: "checkSpec";
  children: CheckSpecCstChildren;
}

export type CheckSpecCstChildren = {
  kind?: (IToken)[];
  program?: IToken[];
  Port?: IToken[];
  port?: IToken[];
  Path?: IToken[];
  path?: IToken[];
  Status?: IToken[];
  status?: IToken[];
  Host?: IToken[];
  host?: IToken[];
  Name?: IToken[];
  name?: IToken[];
  Type?: IToken[];
  type?: IToken[];
  Args?: IToken[];
  arg?: IToken[];
  Every?: IToken[];
  every?: IToken[];
  Timeout?: IToken[];
  timeout?: IToken[];
  Retries?: IToken[];
  retries?: IToken[];
};

export interface OnFailureCstNode extends CstNode {
  name: "onFailure";
  children: OnFailureCstChildren;
}

export type OnFailureCstChildren = {
  OnFailure: IToken[];
  mode: IToken[];
};

export interface SorryCstNode extends CstNode {
  name: "sorry";
  children: SorryCstChildren;
}

export type SorryCstChildren = {
  Sorry: IToken[];
  host?: (IToken)[];
  Port?: IToken[];
  port?: IToken[];
  Address?: IToken[];
  address?: IToken[];
};

export interface ServerCstNode extends CstNode {
  name: "server";
  children: ServerCstChildren;
}

export type ServerCstChildren = {
  Server: IToken[];
  host?: (IToken)[];
  Port?: IToken[];
  port?: IToken[];
  Weight?: IToken[];
  weight?: IToken[];
  Upper?: IToken[];
  upper?: IToken[];
  Lower?: IToken[];
  lower?: IToken[];
  drain?: IToken[];
  Address?: IToken[];
  address?: IToken[];
  Forward?: IToken[];
  forward?: ForwardSpecCstNode[];
  Check?: IToken[];
  check?: CheckSpecCstNode[];
};
