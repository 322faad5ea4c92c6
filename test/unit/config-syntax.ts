// Small structural parsers for the Apache and Caddy snippets (neither server is installed in
// the lab): words and quotes as each server tokenizes them, balanced blocks, and the directives
// allowed in each block. Enough to catch an unclosed block, a stray brace, an unknown or
// misplaced directive, or a wrong number of arguments; not a replacement for `apachectl -t`.

export class SyntaxProblem extends Error {
  override name = 'SyntaxProblem';
}

/** Words of a line: whitespace separates, "…" groups (with \" escapes), # starts a comment between words. */
function words(line: string, lineNo: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === '"') {
      let word = '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        word += line[i++];
      }
      if (i >= line.length) throw new SyntaxProblem(`line ${lineNo}: unclosed quote`);
      i++;
      out.push(word);
      continue;
    }
    let word = '';
    while (i < line.length && !/\s/.test(line[i]!)) word += line[i++];
    out.push(word);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Apache httpd

export interface ApacheNode {
  name: string;
  args: string[];
  line: number;
  /** For <Section> blocks. */
  children?: ApacheNode[];
}

/** Directive name → [min, max] arguments and where it may stand ('vhost' or a section name). */
const APACHE: Readonly<Record<string, { args: [number, number]; in: readonly string[] }>> = {
  SSLProxyEngine: { args: [1, 1], in: ['vhost'] },
  ProxyPass: { args: [2, 8], in: ['vhost'] },
  ProxyPassReverse: { args: [2, 3], in: ['vhost'] },
  Alias: { args: [2, 2], in: ['vhost'] },
  Directory: { args: [1, 1], in: ['vhost'] },
  Require: { args: [1, 8], in: ['Directory'] },
  ForceType: { args: [1, 1], in: ['Directory'] },
  Header: { args: [3, 5], in: ['vhost', 'Directory'] },
};

/** The snippet as the content of a <VirtualHost>; throws SyntaxProblem. */
export function parseApache(text: string): ApacheNode[] {
  const root: ApacheNode[] = [];
  const stack: Array<{ node?: ApacheNode; children: ApacheNode[]; context: string }> = [{ children: root, context: 'vhost' }];
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.endsWith('\\')) throw new SyntaxProblem(`line ${lineNo}: continuation lines are not expected`);
    const close = /^<\/(\w+)>$/.exec(line);
    if (close) {
      const top = stack.pop();
      if (!top?.node || top.node.name !== close[1]) throw new SyntaxProblem(`line ${lineNo}: </${close[1]}> closes nothing open`);
      return;
    }
    const open = /^<(\w+)(\s.*)?>$/.exec(line);
    const name = open ? open[1]! : (words(line, lineNo)[0] ?? '');
    const args = open ? words(open[2] ?? '', lineNo) : words(line, lineNo).slice(1);
    if (line.startsWith('<') && !open) throw new SyntaxProblem(`line ${lineNo}: malformed section ${line}`);
    const rule = APACHE[name];
    const current = stack.at(-1)!;
    if (!rule) throw new SyntaxProblem(`line ${lineNo}: unknown directive ${name}`);
    if (!rule.in.includes(current.context)) throw new SyntaxProblem(`line ${lineNo}: ${name} is not allowed in ${current.context}`);
    if (args.length < rule.args[0] || args.length > rule.args[1]) throw new SyntaxProblem(`line ${lineNo}: ${name} takes ${rule.args.join('-')} arguments, got ${args.length}`);
    const node: ApacheNode = { name, args, line: lineNo };
    current.children.push(node);
    if (open) {
      node.children = [];
      stack.push({ node, children: node.children, context: name });
    }
  });
  if (stack.length > 1) throw new SyntaxProblem(`<${stack.at(-1)!.node!.name}> is never closed`);
  return root;
}

// ---------------------------------------------------------------------------------------------
// Caddyfile (Caddy 2)

export interface CaddyNode {
  name: string;
  args: string[];
  line: number;
  block?: CaddyNode[];
}

/** Directive → [min, max] arguments and the blocks it may stand in ('site' is the site block). */
const CADDY: Readonly<Record<string, { args: [number, number]; in: readonly string[] }>> = {
  handle: { args: [0, 1], in: ['site'] },
  reverse_proxy: { args: [0, 2], in: ['site', 'handle'] },
  header_up: { args: [1, 2], in: ['reverse_proxy'] },
  root: { args: [1, 2], in: ['site', 'handle'] },
  header: { args: [1, 3], in: ['site', 'handle'] },
  file_server: { args: [0, 1], in: ['site', 'handle'] },
};

/** Braces inside a word only as placeholders: {upstream_hostport}, {http.request.host}. */
const PLACEHOLDERS = /^[^{}]*(?:\{[\w.>-]+\}[^{}]*)*$/;

/**
 * The snippet as the content of a site block. A block opens with `{` as the last word of a
 * line and closes with a line that is only `}`; a `{…}` word is a placeholder, and any other
 * brace is an error (as in Caddy's lexer and parser).
 */
export function parseCaddyfile(text: string): CaddyNode[] {
  const root: CaddyNode[] = [];
  const stack: Array<{ node?: CaddyNode; children: CaddyNode[] }> = [{ children: root }];
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const tokens = words(raw, lineNo);
    if (tokens.length === 0) return;
    if (tokens.length === 1 && tokens[0] === '}') {
      if (stack.length === 1) throw new SyntaxProblem(`line ${lineNo}: } closes nothing open`);
      stack.pop();
      return;
    }
    const opens = tokens.at(-1) === '{';
    const [name, ...args] = opens ? tokens.slice(0, -1) : tokens;
    for (const word of [name!, ...args]) {
      if (!PLACEHOLDERS.test(word)) throw new SyntaxProblem(`line ${lineNo}: stray brace in "${word}"`);
    }
    const parent = stack.at(-1)!;
    const context = parent.node?.name ?? 'site';
    const rule = CADDY[name!];
    if (!rule) throw new SyntaxProblem(`line ${lineNo}: unknown directive ${name}`);
    if (!rule.in.includes(context)) throw new SyntaxProblem(`line ${lineNo}: ${name} is not allowed in ${context}`);
    if (args.length < rule.args[0] || args.length > rule.args[1]) throw new SyntaxProblem(`line ${lineNo}: ${name} takes ${rule.args.join('-')} arguments, got ${args.length}`);
    const node: CaddyNode = { name: name!, args, line: lineNo };
    parent.children.push(node);
    if (opens) {
      node.block = [];
      stack.push({ node, children: node.block });
    }
  });
  if (stack.length > 1) throw new SyntaxProblem(`${stack.at(-1)!.node!.name} { is never closed`);
  return root;
}

/** Names and arguments only, for comparing trees. */
export function shape(nodes: ReadonlyArray<ApacheNode | CaddyNode>): unknown[] {
  return nodes.map((n) => {
    const kids = 'children' in n ? n.children : 'block' in n ? n.block : undefined;
    return kids ? [n.name, ...n.args, shape(kids)] : [n.name, ...n.args];
  });
}
