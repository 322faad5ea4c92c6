# The referee's evaluator: ansible-core's own Templar (the lab's pinned release) judges each
# committed check of checks/plan/mdad-rules.json for each configuration, as a task's `when` list
# and loop would: the loop templated and flattened one level (with_items), the loop variable set,
# the conditions evaluated in order. Everything is read through Ansible's DataLoader and marked
# trusted, as the strings of a playbook and an inventory are. Input on stdin (JSON: the defaults, the checks
# and one host_vars file per configuration, all YAML paths); output on stdout (JSON).
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template


def trusted(value):
    # Ansible trusts the strings of playbooks and inventories it reads itself; so do we.
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    return value


FACTS = {'architecture': 'x86_64', 'distribution': 'Debian', 'distribution_major_version': '12', 'os_family': 'Debian'}
loader = DataLoader()
spec = json.load(sys.stdin)
defaults = trusted(loader.load_from_file(spec['defaults']) or {})
checks = trusted(loader.load_from_file(spec['checks']))
out = {}
for name, path in spec['configs'].items():
    # What a play adds itself: the facts of a Debian amd64 server, and `vars`.
    variables = {'ansible_facts': FACTS}
    variables.update(defaults)
    variables.update(trusted(loader.load_from_file(path) or {}))
    variables['vars'] = variables
    fired, errors = [], []
    for i, check in enumerate(checks):
        try:
            outer = check['when'][:check['outer']]
            if 'items' in check:
                # The role's and blocks' conditions hold before Ansible templates the loop.
                templar = Templar(loader=loader, variables=variables)
                if not all(templar.evaluate_conditional(w) for w in outer):
                    continue
                items = templar.template(check['items'])
                flat = []
                for it in items:
                    flat.extend(it if isinstance(it, list) else [it])
                for j, item in enumerate(flat):
                    scoped = dict(variables)
                    scoped[check.get('loopVar', 'item')] = item
                    scoped['vars'] = scoped
                    t = Templar(loader=loader, variables=scoped)
                    if all(t.evaluate_conditional(w) for w in check['when']):
                        fired.append('%d#%d' % (i, j))
            else:
                t = Templar(loader=loader, variables=variables)
                if all(t.evaluate_conditional(w) for w in check['when']):
                    fired.append('%d#-1' % i)
        except Exception as e:
            errors.append([i, type(e).__name__ + ': ' + str(e).split('\n')[0][:200]])
    out[name] = {'fired': fired, 'errors': errors}
json.dump(out, sys.stdout)
