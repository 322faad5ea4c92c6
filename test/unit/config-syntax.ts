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
// Blocks and directives, for both

export interface ConfigNode {
  name: string;
  args: string[];
  line: number;
  /** The directives inside a block (<Directory …> … </Directory>, handle … { … }). */
  children?: ConfigNode[];
}

/** Directive name → [min, max] arguments and the blocks it may stand in. */
type Rules = Readonly<Record<string, { args: [number, number]; in: readonly string[] }>>;

/** The blocks open at a point: the outermost is the snippet's context ('vhost', 'site'). */
class Blocks {
  readonly root: ConfigNode[] = [];
  private readonly stack: Array<{ node?: ConfigNode; children: ConfigNode[] }> = [{ children: this.root }];
  private readonly rules: Rules;
  private readonly outer: string;
  constructor(rules: Rules, outer: string) {
    this.rules = rules;
    this.outer = outer;
  }

  /** Checks the directive where it stands and adds it; a block directive opens its block. */
  add(name: string, args: string[], lineNo: number, opens: boolean): void {
    const current = this.stack.at(-1)!;
    const context = current.node?.name ?? this.outer;
    const rule = this.rules[name];
    if (!rule) throw new SyntaxProblem(`line ${lineNo}: unknown directive ${name}`);
    if (!rule.in.includes(context)) throw new SyntaxProblem(`line ${lineNo}: ${name} is not allowed in ${context}`);
    if (args.length < rule.args[0] || args.length > rule.args[1])
      throw new SyntaxProblem(`line ${lineNo}: ${name} takes ${rule.args.join('-')} arguments, got ${args.length}`);
    const node: ConfigNode = { name, args, line: lineNo };
    current.children.push(node);
    if (opens) {
      node.children = [];
      this.stack.push({ node, children: node.children });
    }
  }

  /** Closes the innermost block; `name` must match it when given (Apache's </Name>). */
  close(lineNo: number, written: string, name?: string): void {
    const top = this.stack.at(-1)!;
    if (!top.node || (name !== undefined && top.node.name !== name))
      throw new SyntaxProblem(`line ${lineNo}: ${written} closes nothing open`);
    this.stack.pop();
  }

  done(unclosed: (name: string) => string): ConfigNode[] {
    const open = this.stack.at(-1)!.node;
    if (open) throw new SyntaxProblem(unclosed(open.name));
    return this.root;
  }
}

// ---------------------------------------------------------------------------------------------
// Apache httpd: the content of a <VirtualHost>

const APACHE: Rules = {
  SSLProxyEngine: { args: [1, 1], in: ['vhost'] },
  ProxyPass: { args: [2, 8], in: ['vhost'] },
  ProxyPassReverse: { args: [2, 3], in: ['vhost'] },
  Alias: { args: [2, 2], in: ['vhost'] },
  Directory: { args: [1, 1], in: ['vhost'] },
  Require: { args: [1, 8], in: ['Directory'] },
  ForceType: { args: [1, 1], in: ['Directory'] },
  Header: { args: [3, 5], in: ['vhost', 'Directory'] },
};

/** Throws SyntaxProblem. */
export function parseApache(text: string): ConfigNode[] {
  const blocks = new Blocks(APACHE, 'vhost');
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.endsWith('\\')) throw new SyntaxProblem(`line ${lineNo}: continuation lines are not expected`);
    const close = /^<\/(\w+)>$/.exec(line);
    if (close) return blocks.close(lineNo, line, close[1]);
    const open = /^<(\w+)(\s.*)?>$/.exec(line);
    if (line.startsWith('<') && !open) throw new SyntaxProblem(`line ${lineNo}: malformed section ${line}`);
    const tokens = open ? [open[1]!, ...words(open[2] ?? '', lineNo)] : words(line, lineNo);
    blocks.add(tokens[0]!, tokens.slice(1), lineNo, Boolean(open));
  });
  return blocks.done((name) => `<${name}> is never closed`);
}

// ---------------------------------------------------------------------------------------------
// Caddyfile (Caddy 2): the content of a site block

const CADDY: Rules = {
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
 * A block opens with `{` as the last word of a line and closes with a line that is only `}`;
 * a `{…}` word is a placeholder, and any other brace is an error (as in Caddy's lexer and
 * parser). Throws SyntaxProblem.
 */
export function parseCaddyfile(text: string): ConfigNode[] {
  const blocks = new Blocks(CADDY, 'site');
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const tokens = words(raw, lineNo);
    if (tokens.length === 0) return;
    if (tokens.length === 1 && tokens[0] === '}') return blocks.close(lineNo, '}');
    const opens = tokens.at(-1) === '{';
    const [name, ...args] = opens ? tokens.slice(0, -1) : tokens;
    for (const word of [name!, ...args]) {
      if (!PLACEHOLDERS.test(word)) throw new SyntaxProblem(`line ${lineNo}: stray brace in "${word}"`);
    }
    blocks.add(name!, args, lineNo, opens);
  });
  return blocks.done((name) => `${name} { is never closed`);
}

/** Names and arguments only, for comparing trees. */
export function shape(nodes: readonly ConfigNode[]): unknown[] {
  return nodes.map((n) => (n.children ? [n.name, ...n.args, shape(n.children)] : [n.name, ...n.args]));
}
