// The plan a stage acts on, from --vars FILE or from the checkout's inventory (--domain when it
// has several servers), and, when the stage works on the server, the inventory host it runs on.
import { join } from 'node:path';
import { InputError } from '../../checks/core/errors.ts';
import { INVENTORY_FILE, readVarsFile } from '../../checks/plan/load.ts';
import { planFromVars } from '../../checks/plan/plan.ts';
import type { InventoryHost, Plan } from '../../checks/plan/types.ts';
import { loadHostPlans, pickHost } from './checkout.ts';
import { requireCheckout } from './cli.ts';

export interface StagePlan {
  plan: Plan;
  vars: Record<string, unknown>;
  /** The inventory host, when the checkout was read. */
  host?: InventoryHost;
  checkout?: string;
}

export interface StagePlanOptions {
  vars?: string | undefined;
  playbook: string;
  domain?: string | undefined;
  /** The stage works on the server: the checkout and its inventory host are required. */
  needHost: boolean;
}

export async function stagePlan(o: StagePlanOptions): Promise<StagePlan> {
  if (o.vars !== undefined) {
    const vars = await readVarsFile(o.vars);
    const plan = planFromVars(vars);
    if (!o.needHost) return { plan, vars };
    if (o.domain !== undefined && o.domain !== plan.serverName) {
      throw new InputError(`--domain ${o.domain} does not match matrix_domain ${plan.serverName} of ${o.vars}`);
    }
    const checkout = requireCheckout(o.playbook);
    const hosts = await loadHostPlans(checkout);
    const found = hosts.find((h) => h.plan.serverName === plan.serverName);
    if (!found) {
      throw new InputError(
        `${o.vars}: matrix_domain ${plan.serverName} is not a server of ${join(o.playbook, INVENTORY_FILE)} (${hosts.map((h) => h.plan.serverName).join(', ')})`,
      );
    }
    return { plan: planFromVars(vars, { host: found.host }), vars, host: found.host, checkout };
  }
  const checkout = requireCheckout(o.playbook);
  const { plan, vars, host } = pickHost(await loadHostPlans(checkout), o.domain);
  return { plan, vars, host, checkout };
}
