// What the stages write starts as a file of templates/ (vars.yml, the inventory's hosts, the
// well-known snippets), so that a person can read it before a stage writes it. A `{{ name }}` in a
// template is replaced by its value; a name the caller gives no value for is a defect of the
// stage, never an empty string in a configuration file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../checks/core/package-files.ts';

export const TEMPLATE_DIR = join(PACKAGE_ROOT, 'templates');

/** A template as it stands, e.g. 'vars.yml' or 'well-known/nginx-proxy.conf'. */
export function templateText(name: string): string {
  return readFileSync(join(TEMPLATE_DIR, name), 'utf8');
}

/** A template with each `{{ name }}` replaced by values[name]. */
export function renderTemplate(name: string, values: Readonly<Record<string, string>>): string {
  return templateText(name).replace(/\{\{ ([A-Za-z]+) \}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`templates/${name}: no value for {{ ${key} }}`);
    return value;
  });
}
