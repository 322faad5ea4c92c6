// A real browser for the HTML report's tests: Debian's headless Chromium driven through the
// Chrome DevTools Protocol (https://chromedevtools.github.io/devtools-protocol/) over its
// WebSocket, on loopback. Loads a page, sets the viewport (a phone, a wide screen), evaluates in
// the page, screenshots it, and collects every console error, uncaught exception and log error
// (a Content-Security-Policy violation is one).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';

export const CHROMIUM = '/usr/bin/chromium';
/** The DevTools endpoint listens here (the report tests' loopback range). */
const DEBUG_ADDRESS = '127.16.0.1';

export interface BrowserPage {
  /** Console errors, exceptions and log errors since the page was opened. */
  errors: string[];
  /** Console messages of every level. */
  console: string[];
  viewport(width: number, height: number, mobile: boolean): Promise<void>;
  open(url: string): Promise<void>;
  evaluate<T>(expression: string): Promise<T>;
  screenshot(fullPage?: boolean): Promise<Buffer>;
}

export interface Browser {
  page(): Promise<BrowserPage>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'report-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox', // as root, Chromium's sandbox cannot start
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-breakpad',
      `--remote-debugging-address=${DEBUG_ADDRESS}`,
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    // A process group of its own: Chromium's helpers (renderer, network service) are stopped with
    // it, so none is still writing into the profile when it is removed.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${text.slice(-500)}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk;
      const match = /DevTools listening on (ws:\/\/[^\s]+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited ${code}: ${text.slice(-500)}`));
    });
  });
  const http = new URL(endpoint.replace(/^ws/, 'http')).origin;
  const sockets: WebSocket[] = [];
  return {
    async page() {
      const created = (await (await fetch(`${http}/json/new?about:blank`, { method: 'PUT' })).json()) as { webSocketDebuggerUrl: string };
      const socket = new WebSocket(created.webSocketDebuggerUrl);
      sockets.push(socket);
      await new Promise((resolve, reject) => {
        socket.addEventListener('open', resolve, { once: true });
        socket.addEventListener('error', reject, { once: true });
      });
      let next = 0;
      const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
      const listeners = new Map<string, ((params: Record<string, unknown>) => void)[]>();
      const errors: string[] = [];
      const consoleLines: string[] = [];
      socket.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data)) as {
          id?: number;
          method?: string;
          params?: Record<string, unknown>;
          result?: unknown;
          error?: { message: string };
        };
        if (message.id !== undefined) {
          const waiter = waiting.get(message.id);
          waiting.delete(message.id);
          if (message.error) waiter?.reject(new Error(message.error.message));
          else waiter?.resolve(message.result);
        } else if (message.method) {
          for (const listener of listeners.get(message.method) ?? []) listener(message.params ?? {});
        }
      });
      const send = <T>(method: string, params: Record<string, unknown> = {}) =>
        new Promise<T>((resolve, reject) => {
          const id = ++next;
          waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
          socket.send(JSON.stringify({ id, method, params }));
        });
      const on = (method: string, listener: (params: Record<string, unknown>) => void) =>
        listeners.set(method, [...(listeners.get(method) ?? []), listener]);
      on('Runtime.consoleAPICalled', (p) => {
        const text = (p.args as { value?: unknown; description?: string }[]).map((a) => String(a.value ?? a.description)).join(' ');
        consoleLines.push(`${p.type}: ${text}`);
        if (p.type === 'error' || p.type === 'assert') errors.push(`console.${p.type}: ${text}`);
      });
      on('Runtime.exceptionThrown', (p) => {
        const details = p.exceptionDetails as { text: string; exception?: { description?: string } };
        errors.push(`exception: ${details.exception?.description ?? details.text}`);
      });
      on('Log.entryAdded', (p) => {
        const entry = p.entry as { level: string; text: string; source: string };
        consoleLines.push(`log ${entry.level}: ${entry.text}`);
        if (entry.level === 'error') errors.push(`${entry.source}: ${entry.text}`);
      });
      // The documents that have loaded, by loader: a cold browser may still be loading the about:blank
      // it opened the page with when open() navigates, and that load must not count as the new one.
      const loadedLoaders = new Set<string>();
      let onLoad = () => {};
      on('Page.lifecycleEvent', (p) => {
        if (p.name !== 'load') return;
        loadedLoaders.add(String(p.loaderId));
        onLoad();
      });
      await Promise.all([send('Page.enable'), send('Runtime.enable'), send('Log.enable')]);
      await send('Page.setLifecycleEventsEnabled', { enabled: true });
      return {
        errors,
        console: consoleLines,
        async viewport(width, height, mobile) {
          await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
          // A page in a headless browser has no focus, which the clipboard needs.
          await send('Emulation.setFocusEmulationEnabled', { enabled: true });
        },
        async open(url) {
          const result = await send<{ errorText?: string; loaderId: string }>('Page.navigate', { url });
          if (result.errorText) throw new Error(`navigate ${url}: ${result.errorText}`);
          await new Promise<void>((resolve) => {
            onLoad = () => loadedLoaders.has(result.loaderId) && resolve();
            onLoad();
          });
        },
        async evaluate<T>(expression: string) {
          const result = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', {
            expression,
            returnByValue: true,
            awaitPromise: true,
          });
          if (result.exceptionDetails) throw new Error(`evaluate: ${result.exceptionDetails.text}`);
          return result.result.value;
        },
        async screenshot(fullPage = true) {
          const shot = await send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: fullPage });
          return Buffer.from(shot.data, 'base64');
        },
      };
    },
    async close() {
      for (const socket of sockets) socket.close();
      const group = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // the group is gone already
        }
      };
      const exited =
        child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
      group('SIGTERM');
      const timer = setTimeout(() => group('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      // Helpers that outlived the browser process.
      group('SIGKILL');
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
