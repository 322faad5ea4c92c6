// A small evaluator for the Jinja that MDAD's validation tasks are written in: Ansible `when`
// conditions and `{{ … }}` templates in role defaults (https://jinja.palletsprojects.com/en/stable/templates/#expressions,
// https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_conditionals.html).
// It covers the expressions those tasks use: literals, names, attributes and indexes, `not`/`and`/
// `or`, comparisons, `in`, `is` tests, `x if c else y`, `+`/`~`, the filters and lookups below.
// Anything else evaluates to UNKNOWN, and UNKNOWN spreads (three-valued `and`/`or`), so a
// condition this module cannot read is never judged either way.

export const UNKNOWN: unique symbol = Symbol('unknown');
/** A name no layer defines (Ansible would fail on it unless `default` or `is defined` handles it). */
export const UNDEFINED: unique symbol = Symbol('undefined');

export interface JinjaScope {
  /** A variable's value: a plain value, UNDEFINED, or UNKNOWN. */
  lookup(name: string): unknown;
  /** Names the user defined (for `lookup('ansible.builtin.varnames', …)`). */
  varNames(): readonly string[];
}

type Node =
  | { t: 'lit'; v: unknown }
  | { t: 'name'; name: string }
  | { t: 'list'; items: Node[] }
  | { t: 'dict'; entries: Array<[Node, Node]> }
  | { t: 'attr'; obj: Node; name: string }
  | { t: 'index'; obj: Node; key: Node }
  | { t: 'call'; fn: Node; args: Node[]; kwargs: Record<string, Node> }
  | { t: 'filter'; value: Node; name: string; args: Node[]; kwargs: Record<string, Node> }
  | { t: 'test'; value: Node; name: string; args: Node[]; negated: boolean }
  | { t: 'unary'; op: string; value: Node }
  | { t: 'binary'; op: string; left: Node; right: Node }
  | { t: 'cond'; test: Node; then: Node; else: Node | undefined };

// ---------------------------------------------------------------------------------------------
// Tokens and parsing

type Token = { kind: 'str' | 'num' | 'name' | 'op'; text: string; value?: unknown };

const TOKEN =
  /\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|\/\/|\*\*|[-+*/%~<>()[\]{}.,|:=]))/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(source);
    if (!m) throw new SyntaxError(`unexpected "${source.slice(at, at + 10)}"`);
    at = TOKEN.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'str', text: m[1], value: unquote(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'num', text: m[2], value: Number(m[2]) });
    else if (m[3] !== undefined) tokens.push({ kind: 'name', text: m[3] });
    else tokens.push({ kind: 'op', text: m[4]! });
  }
  return tokens;
}

function unquote(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(.)/g, (_all, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
}

const COMPARISONS = new Set(['==', '!=', '<', '>', '<=', '>=']);

class Parser {
  private at = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parseAll(): Node {
    const node = this.conditional();
    if (this.at < this.tokens.length) throw new SyntaxError(`unexpected "${this.tokens[this.at]!.text}"`);
    return node;
  }
  private peek(text: string): boolean {
    const tok = this.tokens[this.at];
    return tok !== undefined && (tok.kind === 'op' || tok.kind === 'name') && tok.text === text;
  }
  private accept(text: string): boolean {
    if (!this.peek(text)) return false;
    this.at++;
    return true;
  }
  private expect(text: string): void {
    if (!this.accept(text)) throw new SyntaxError(`expected "${text}"`);
  }
  private name(): string {
    const tok = this.tokens[this.at++];
    if (tok?.kind !== 'name') throw new SyntaxError('expected a name');
    return tok.text;
  }
  private conditional(): Node {
    const value = this.or();
    if (!this.accept('if')) return value;
    const test = this.or();
    return { t: 'cond', test, then: value, else: this.accept('else') ? this.conditional() : undefined };
  }
  private or(): Node {
    let left = this.and();
    while (this.accept('or')) left = { t: 'binary', op: 'or', left, right: this.and() };
    return left;
  }
  private and(): Node {
    let left = this.not();
    while (this.accept('and')) left = { t: 'binary', op: 'and', left, right: this.not() };
    return left;
  }
  private not(): Node {
    if (this.accept('not')) return { t: 'unary', op: 'not', value: this.not() };
    return this.compare();
  }
  private compare(): Node {
    let left = this.concat();
    for (;;) {
      const tok = this.tokens[this.at];
      if (tok?.kind === 'op' && COMPARISONS.has(tok.text)) {
        this.at++;
        left = { t: 'binary', op: tok.text, left, right: this.concat() };
      } else if (this.accept('in')) {
        left = { t: 'binary', op: 'in', left, right: this.concat() };
      } else if (this.peek('not') && this.tokens[this.at + 1]?.text === 'in') {
        this.at += 2;
        left = { t: 'unary', op: 'not', value: { t: 'binary', op: 'in', left, right: this.concat() } };
      } else if (this.accept('is')) {
        const negated = this.accept('not');
        const name = this.name();
        let args: Node[] = [];
        if (this.accept('(')) args = this.args().args;
        else if (this.startsValue()) args = [this.concat()];
        left = { t: 'test', value: left, name, args, negated };
      } else {
        return left;
      }
    }
  }
  private startsValue(): boolean {
    const tok = this.tokens[this.at];
    if (!tok) return false;
    if (tok.kind === 'str' || tok.kind === 'num') return true;
    return tok.kind === 'name' && !['and', 'or', 'if', 'else', 'is', 'in', 'not'].includes(tok.text);
  }
  private concat(): Node {
    let left = this.add();
    while (this.accept('~')) left = { t: 'binary', op: '~', left, right: this.add() };
    return left;
  }
  private add(): Node {
    let left = this.mul();
    for (;;) {
      if (this.accept('+')) left = { t: 'binary', op: '+', left, right: this.mul() };
      else if (this.accept('-')) left = { t: 'binary', op: '-', left, right: this.mul() };
      else return left;
    }
  }
  private mul(): Node {
    let left = this.unary();
    for (;;) {
      const tok = this.tokens[this.at];
      if (tok?.kind === 'op' && ['*', '/', '//', '%'].includes(tok.text)) {
        this.at++;
        left = { t: 'binary', op: tok.text, left, right: this.unary() };
      } else {
        return left;
      }
    }
  }
  private unary(): Node {
    if (this.accept('-')) return { t: 'unary', op: '-', value: this.unary() };
    if (this.accept('+')) return this.unary();
    return this.filtered();
  }
  private filtered(): Node {
    let value = this.postfix();
    while (this.accept('|')) {
      const name = this.name();
      const { args, kwargs } = this.accept('(') ? this.args() : { args: [], kwargs: {} };
      value = { t: 'filter', value, name, args, kwargs };
    }
    return value;
  }
  private postfix(): Node {
    let node = this.primary();
    for (;;) {
      if (this.accept('.')) {
        node = { t: 'attr', obj: node, name: this.name() };
      } else if (this.accept('[')) {
        const key = this.conditional();
        this.expect(']');
        node = { t: 'index', obj: node, key };
      } else if (this.accept('(')) {
        node = { t: 'call', fn: node, ...this.args() };
      } else {
        return node;
      }
    }
  }
  /** Arguments after "(" up to and including ")". */
  private args(): { args: Node[]; kwargs: Record<string, Node> } {
    const args: Node[] = [];
    const kwargs: Record<string, Node> = {};
    while (!this.accept(')')) {
      const tok = this.tokens[this.at];
      if (tok?.kind === 'name' && this.tokens[this.at + 1]?.text === '=') {
        this.at += 2;
        kwargs[tok.text] = this.conditional();
      } else {
        args.push(this.conditional());
      }
      if (!this.accept(',')) {
        this.expect(')');
        break;
      }
    }
    return { args, kwargs };
  }
  private primary(): Node {
    const tok = this.tokens[this.at++];
    if (!tok) throw new SyntaxError('unexpected end');
    if (tok.kind === 'str' || tok.kind === 'num') return { t: 'lit', v: tok.value };
    if (tok.kind === 'name') {
      const literal = LITERAL_NAMES.get(tok.text);
      return literal === undefined ? { t: 'name', name: tok.text } : { t: 'lit', v: literal.v };
    }
    if (tok.text === '(') {
      const inner = this.conditional();
      if (this.accept(',')) throw new SyntaxError('tuples are not supported');
      this.expect(')');
      return inner;
    }
    if (tok.text === '[') {
      const items: Node[] = [];
      while (!this.accept(']')) {
        items.push(this.conditional());
        if (!this.accept(',')) {
          this.expect(']');
          break;
        }
      }
      return { t: 'list', items };
    }
    if (tok.text === '{') {
      const entries: Array<[Node, Node]> = [];
      while (!this.accept('}')) {
        const key = this.conditional();
        this.expect(':');
        entries.push([key, this.conditional()]);
        if (!this.accept(',')) {
          this.expect('}');
          break;
        }
      }
      return { t: 'dict', entries };
    }
    throw new SyntaxError(`unexpected "${tok.text}"`);
  }
}

const LITERAL_NAMES = new Map<string, { v: unknown }>([
  ['true', { v: true }],
  ['True', { v: true }],
  ['false', { v: false }],
  ['False', { v: false }],
  ['none', { v: null }],
  ['None', { v: null }],
]);

const parsed = new Map<string, Node | undefined>();

/** The expression's tree, or undefined when it is outside the supported grammar. */
function parseExpression(source: string): Node | undefined {
  if (!parsed.has(source)) {
    let node: Node | undefined;
    try {
      node = new Parser(tokenize(source)).parseAll();
    } catch {
      node = undefined;
    }
    parsed.set(source, node);
  }
  return parsed.get(source);
}

/** The variable names an expression or template reads (for the table generator). */
export function namesIn(text: string): string[] {
  const names = new Set<string>();
  const visit = (node: Node): void => {
    if (node.t === 'name') names.add(node.name);
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) for (const v of value.flat()) if (isNode(v)) visit(v);
      if (isNode(value)) visit(value);
      if (value && typeof value === 'object' && !Array.isArray(value) && !isNode(value)) {
        for (const v of Object.values(value)) if (isNode(v)) visit(v);
      }
    }
  };
  const sources = /\{\{|\{%/.test(text) ? [...text.matchAll(/\{[{%]-?(.*?)-?[}%]\}/gs)].map((m) => m[1]!) : [text];
  for (const source of sources) {
    const node = parseExpression(source.trim());
    if (node) visit(node);
    // Statements and expressions outside the grammar: every bare identifier counts.
    else for (const m of source.matchAll(/(?<![.\w'"])([a-z_][a-z0-9_]*)(?![\w'"(])/g)) names.add(m[1]!);
  }
  return [...names];
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}

// ---------------------------------------------------------------------------------------------
// Evaluation

const isUnknown = (v: unknown): boolean => v === UNKNOWN || v === UNDEFINED;
/** Ansible's `vars`: every variable by name (`vars[item]`). */
const ALL_VARS: unique symbol = Symbol('vars');

/** Python truthiness; UNKNOWN for unknown values. */
export function truthy(v: unknown): boolean | typeof UNKNOWN {
  if (isUnknown(v)) return UNKNOWN;
  if (v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** Python's str() for the values Ansible templates produce; UNKNOWN for containers. */
function pyStr(v: unknown): string | typeof UNKNOWN {
  if (isUnknown(v)) return UNKNOWN;
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return UNKNOWN;
}

function equal(a: unknown, b: unknown): boolean {
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : undefined);
  const [na, nb] = [num(a), num(b)];
  if (na !== undefined && nb !== undefined) return na === nb;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

/** Ansible's `bool` filter. */
function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1;
  if (typeof v === 'string') return ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase());
  return false;
}

function lengthOf(v: unknown): number | typeof UNKNOWN {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  return UNKNOWN;
}

function compareVersions(a: string, b: string): number {
  const parts = (s: string) => s.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? 0, pb[i] ?? 0];
    if (x === y) continue;
    return typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

const VERSION_OPS: Partial<Record<string, (c: number) => boolean>> = {
  '<': (c) => c < 0,
  lt: (c) => c < 0,
  '<=': (c) => c <= 0,
  le: (c) => c <= 0,
  '>': (c) => c > 0,
  gt: (c) => c > 0,
  '>=': (c) => c >= 0,
  ge: (c) => c >= 0,
  '==': (c) => c === 0,
  eq: (c) => c === 0,
  '!=': (c) => c !== 0,
  ne: (c) => c !== 0,
};

function regex(pattern: unknown, anchored = false): RegExp | undefined {
  if (typeof pattern !== 'string') return undefined;
  try {
    return new RegExp(anchored ? `^(?:${pattern})` : pattern);
  } catch {
    return undefined;
  }
}

class Evaluator {
  private readonly scope: JinjaScope;
  constructor(scope: JinjaScope) {
    this.scope = scope;
  }

  eval(node: Node): unknown {
    switch (node.t) {
      case 'lit':
        return node.v;
      case 'name': {
        const value = this.scope.lookup(node.name);
        return value === UNDEFINED && node.name === 'vars' ? ALL_VARS : value;
      }
      case 'list':
        return node.items.map((item) => this.eval(item));
      case 'dict': {
        const out: Record<string, unknown> = {};
        for (const [k, v] of node.entries) {
          const key = this.eval(k);
          if (typeof key !== 'string') return UNKNOWN;
          out[key] = this.eval(v);
        }
        return out;
      }
      case 'attr':
        return this.member(this.eval(node.obj), node.name);
      case 'index': {
        const obj = this.eval(node.obj);
        const key = this.eval(node.key);
        if (isUnknown(obj) || isUnknown(key)) return UNKNOWN;
        if ((typeof obj === 'string' || Array.isArray(obj)) && typeof key === 'number') {
          const at = key < 0 ? obj.length + key : key;
          return at >= 0 && at < obj.length ? obj[at] : UNKNOWN;
        }
        return typeof key === 'string' ? this.member(obj, key) : UNKNOWN;
      }
      case 'call':
        return this.call(node);
      case 'filter':
        return this.filter(node);
      case 'test':
        return this.test(node);
      case 'unary': {
        const v = this.eval(node.value);
        if (node.op === 'not') {
          const b = truthy(v);
          return b === UNKNOWN ? UNKNOWN : !b;
        }
        return typeof v === 'number' ? -v : UNKNOWN;
      }
      case 'binary':
        return this.binary(node.op, node.left, node.right);
      case 'cond': {
        const test = truthy(this.eval(node.test));
        if (test === UNKNOWN) return UNKNOWN;
        if (test) return this.eval(node.then);
        return node.else ? this.eval(node.else) : '';
      }
    }
  }

  private member(obj: unknown, name: string): unknown {
    if (obj === ALL_VARS) return this.scope.lookup(name);
    if (isUnknown(obj)) return UNKNOWN;
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      return Object.hasOwn(obj, name) ? (obj as Record<string, unknown>)[name] : UNDEFINED;
    }
    return UNKNOWN;
  }

  private binary(op: string, leftNode: Node, rightNode: Node): unknown {
    const left = this.eval(leftNode);
    if (op === 'and' || op === 'or') {
      const l = truthy(left);
      if (l !== UNKNOWN && l === (op === 'or')) return left;
      const right = this.eval(rightNode);
      if (l === UNKNOWN) {
        // Unknown on the left: only a false right side decides `and`, only a true one `or`.
        const decides = truthy(right) === (op === 'or');
        return decides ? right : UNKNOWN;
      }
      return right;
    }
    const right = this.eval(rightNode);
    if (isUnknown(left) || isUnknown(right)) return UNKNOWN;
    switch (op) {
      case '==':
        return equal(left, right);
      case '!=':
        return !equal(left, right);
      case '<':
      case '>':
      case '<=':
      case '>=': {
        const comparable =
          (typeof left === 'number' && typeof right === 'number') || (typeof left === 'string' && typeof right === 'string');
        if (!comparable) return UNKNOWN;
        const l = left as number | string;
        const r = right as number | string;
        return op === '<' ? l < r : op === '>' ? l > r : op === '<=' ? l <= r : l >= r;
      }
      case 'in':
        if (typeof right === 'string') return typeof left === 'string' ? right.includes(left) : UNKNOWN;
        if (Array.isArray(right)) return right.some((item) => equal(item, left));
        if (right && typeof right === 'object') return typeof left === 'string' && Object.hasOwn(right, left);
        return UNKNOWN;
      case '~': {
        const l = pyStr(left);
        const r = pyStr(right);
        return l === UNKNOWN || r === UNKNOWN ? UNKNOWN : l + r;
      }
      case '+':
        if (typeof left === 'number' && typeof right === 'number') return left + right;
        if (typeof left === 'string' && typeof right === 'string') return left + right;
        if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
        return UNKNOWN;
      case '-':
        return typeof left === 'number' && typeof right === 'number' ? left - right : UNKNOWN;
      default:
        return UNKNOWN;
    }
  }

  private call(node: Extract<Node, { t: 'call' }>): unknown {
    const args = node.args.map((a) => this.eval(a));
    if (node.fn.t === 'name' && (node.fn.name === 'lookup' || node.fn.name === 'query')) {
      const kind = args[0];
      if (kind === 'ansible.builtin.varnames' || kind === 'varnames') {
        const pattern = regex(args[1], true);
        return pattern ? this.scope.varNames().filter((n) => pattern.test(n)) : UNKNOWN;
      }
      if ((kind === 'ansible.builtin.vars' || kind === 'vars') && typeof args[1] === 'string') {
        const value = this.scope.lookup(args[1]);
        if (value !== UNDEFINED) return value;
        return 'default' in node.kwargs ? this.eval(node.kwargs['default']!) : UNKNOWN;
      }
      return UNKNOWN;
    }
    if (node.fn.t !== 'attr') return UNKNOWN;
    const target = this.eval(node.fn.obj);
    const method = node.fn.name;
    if (typeof target === 'string') {
      const arg = args[0];
      if (method === 'startswith' || method === 'endswith') {
        const options = Array.isArray(arg) ? arg : [arg];
        if (!options.every((o) => typeof o === 'string')) return UNKNOWN;
        return options.some((o) => (method === 'startswith' ? target.startsWith(o as string) : target.endsWith(o as string)));
      }
      if (method === 'strip') return target.trim();
      if (method === 'lower') return target.toLowerCase();
      if (method === 'upper') return target.toUpperCase();
      if (method === 'split') return typeof arg === 'string' ? target.split(arg) : target.trim().split(/\s+/);
    }
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      const dict = target as Record<string, unknown>;
      if (method === 'keys') return Object.keys(dict);
      if (method === 'values') return Object.values(dict);
      if (method === 'get') return typeof args[0] === 'string' && Object.hasOwn(dict, args[0]) ? dict[args[0]] : (args[1] ?? null);
    }
    return UNKNOWN;
  }

  private filter(node: Extract<Node, { t: 'filter' }>): unknown {
    const value = this.eval(node.value);
    const args = node.args.map((a) => this.eval(a));
    if (node.name === 'default' || node.name === 'd') {
      if (value === UNDEFINED) return args[0] ?? '';
      if (value === UNKNOWN) return UNKNOWN;
      if (args[1] === true || this.eval(node.kwargs['boolean'] ?? { t: 'lit', v: false }) === true) {
        const b = truthy(value);
        return b === UNKNOWN ? UNKNOWN : b ? value : (args[0] ?? '');
      }
      return value;
    }
    if (isUnknown(value) || args.some(isUnknown)) return UNKNOWN;
    switch (node.name) {
      case 'bool':
        return toBool(value);
      case 'length':
      case 'count':
        return lengthOf(value);
      case 'string':
        return pyStr(value);
      case 'int': {
        const n = typeof value === 'number' ? Math.trunc(value) : Number.parseInt(String(value), 10);
        return Number.isNaN(n) ? 0 : n;
      }
      case 'lower':
        return typeof value === 'string' ? value.toLowerCase() : UNKNOWN;
      case 'upper':
        return typeof value === 'string' ? value.toUpperCase() : UNKNOWN;
      case 'trim':
        return typeof value === 'string' ? value.trim() : UNKNOWN;
      case 'list':
        return Array.isArray(value) ? value : typeof value === 'string' ? [...value] : UNKNOWN;
      case 'first':
        return Array.isArray(value) || typeof value === 'string' ? (value[0] ?? UNKNOWN) : UNKNOWN;
      case 'last':
        return Array.isArray(value) || typeof value === 'string' ? (value.at(-1) ?? UNKNOWN) : UNKNOWN;
      case 'join': {
        if (!Array.isArray(value)) return UNKNOWN;
        const parts = value.map(pyStr);
        return parts.includes(UNKNOWN) ? UNKNOWN : parts.join(typeof args[0] === 'string' ? args[0] : '');
      }
      case 'regex_search': {
        const pattern = regex(args[0]);
        if (!pattern || typeof value !== 'string') return UNKNOWN;
        return pattern.exec(value)?.[0] ?? null;
      }
      default:
        return UNKNOWN;
    }
  }

  private test(node: Extract<Node, { t: 'test' }>): unknown {
    const value = this.eval(node.value);
    const result = this.testValue(
      node.name,
      value,
      node.args.map((a) => this.eval(a)),
    );
    return result === UNKNOWN ? UNKNOWN : node.negated ? !result : result;
  }

  private testValue(name: string, value: unknown, args: unknown[]): boolean | typeof UNKNOWN {
    if (name === 'defined') return value === UNKNOWN ? UNKNOWN : value !== UNDEFINED;
    if (name === 'undefined') return value === UNKNOWN ? UNKNOWN : value === UNDEFINED;
    if (isUnknown(value) || args.some(isUnknown)) return UNKNOWN;
    switch (name) {
      case 'none':
        return value === null;
      case 'string':
        return typeof value === 'string';
      case 'number':
        return typeof value === 'number';
      case 'integer':
        return Number.isInteger(value);
      case 'boolean':
        return typeof value === 'boolean';
      case 'mapping':
        return typeof value === 'object' && value !== null && !Array.isArray(value);
      case 'sequence':
      case 'iterable':
        return typeof value === 'string' || Array.isArray(value) || (typeof value === 'object' && value !== null);
      case 'truthy':
        return truthy(value);
      case 'falsy': {
        const b = truthy(value);
        return b === UNKNOWN ? UNKNOWN : !b;
      }
      case 'match':
      case 'search': {
        const pattern = regex(args[0], name === 'match');
        return pattern && typeof value === 'string' ? pattern.test(value) : UNKNOWN;
      }
      case 'version':
      case 'version_compare': {
        const op = VERSION_OPS[typeof args[1] === 'string' ? args[1] : 'eq'];
        return op && typeof args[0] === 'string' ? op(compareVersions(String(value), args[0])) : UNKNOWN;
      }
      default:
        return UNKNOWN;
    }
  }
}

/** A bare expression (a `when` condition); UNKNOWN when outside the grammar or unknowable. */
export function evaluate(expression: string, scope: JinjaScope): unknown {
  const node = parseExpression(expression.trim());
  return node ? new Evaluator(scope).eval(node) : UNKNOWN;
}

/**
 * A templated value as Ansible renders it: `{{ expr }}` alone keeps the expression's type, text
 * around expressions makes a string; `{% … %}` statements are not supported (UNKNOWN).
 */
export function render(template: string, scope: JinjaScope): unknown {
  if (!template.includes('{{') && !template.includes('{%')) return template;
  if (template.includes('{%') || template.includes('{#')) return UNKNOWN;
  const single = /^\s*\{\{(.*?)\}\}\s*$/s.exec(template);
  if (single && !single[1]!.includes('}}')) return evaluate(single[1]!, scope);
  let unknown = false;
  const text = template.replace(/\{\{(.*?)\}\}/gs, (_all, expr: string) => {
    const s = pyStr(evaluate(expr, scope));
    if (s === UNKNOWN) unknown = true;
    return s === UNKNOWN ? '' : s;
  });
  return unknown ? UNKNOWN : text;
}

/** A `when` (string, boolean or list of them, all of which must hold) as true, false or UNKNOWN. */
export function condition(when: unknown, scope: JinjaScope): boolean | typeof UNKNOWN {
  const parts = Array.isArray(when) ? when : [when];
  let result: boolean | typeof UNKNOWN = true;
  for (const part of parts) {
    const value =
      typeof part === 'string' ? evaluate(part.includes('{{') ? part.replace(/^\s*\{\{(.*)\}\}\s*$/s, '$1') : part, scope) : part;
    const b = truthy(value);
    if (b === false) return false;
    if (b === UNKNOWN) result = UNKNOWN;
  }
  return result;
}
