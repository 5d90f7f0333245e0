// Readiness probes and the wait loop shared by every component of the control plane.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPortClash } from './ports.js';
import type { ManagedProcess } from './process.js';

/** A start failure of one component, as one line: what failed, why, and where its log is. */
export class ComponentError extends Error {
  constructor(component: string, problem: string, logPath: string | undefined, readonly portClash = false) {
    super(`${component} ${problem}${logPath === undefined ? '' : ` (log: ${logPath})`}`);
    this.name = 'ComponentError';
  }
}

/** GET a URL; resolves with status and body, rejects on network errors or after timeoutMs. */
export function get(url: string, tls: RequestOptions = {}, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { ...tls, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `ready` until it returns true. Fails as soon as the process exits (noting a port clash, so the caller
 * can retry on another port) or when timeoutMs has passed; the caller stops the process.
 */
export async function waitReady(proc: ManagedProcess, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit !== undefined) {
      const clash = isPortClash(proc.readLog());
      const problem = `${proc.describeExit()} before becoming ready${clash ? ': its port was taken' : ''}`;
      throw new ComponentError(proc.name, problem, proc.logPath, clash);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new ComponentError(proc.name, `never became ready within ${timeoutMs / 1000} s`, proc.logPath);
    }
    await Promise.race([sleep(100), proc.exited]);
  }
}
