// A kubeconfig reader for static credentials — client certificate and key, bearer token or token file, basic
// auth, CA — which is what kind, kubeadm and the test control plane write. It keeps @kubernetes/client-node
// (~70 MB of RSS and most of a second to load) out of the server in those cases; anything it does not handle
// (exec and auth-provider plugins, impersonation, proxies, merged multi-file configs) returns undefined, and
// the caller falls back to client-node.
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import path from 'node:path';
import yaml from 'js-yaml';
import type { ApiClient } from './api-client.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const named = (list: unknown, name: string | undefined): Obj | undefined =>
  Array.isArray(list) ? (list as Obj[]).find((e) => obj(e)['name'] === name) : undefined;

const UNSUPPORTED_USER = ['exec', 'auth-provider', 'as', 'as-groups', 'as-uid', 'as-user-extra'];

export function readKubeconfig(file: string): ApiClient | undefined {
  const doc = obj(yaml.load(fs.readFileSync(file, 'utf8')));
  const ctx = obj(named(doc['contexts'], str(doc['current-context']))?.['context']);
  const cluster = obj(named(doc['clusters'], str(ctx['cluster']))?.['cluster']);
  const user = obj(named(doc['users'], str(ctx['user']))?.['user']);
  const server = str(cluster['server']);
  if (!server || cluster['proxy-url'] !== undefined || UNSUPPORTED_USER.some((k) => user[k] !== undefined)) return undefined;
  const dir = path.dirname(path.resolve(file));
  const bytes = (data: unknown, file: unknown): Buffer | undefined => {
    if (str(data)) return Buffer.from(str(data)!, 'base64');
    if (str(file)) return fs.readFileSync(path.resolve(dir, str(file)!));
    return undefined;
  };
  const base: RequestOptions = {
    ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: bytes(user['client-certificate-data'], user['client-certificate']),
    key: bytes(user['client-key-data'], user['client-key']),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    ...(str(cluster['tls-server-name']) ? { servername: str(cluster['tls-server-name']) } : {}),
  };
  const token = str(user['token']);
  const tokenFile = str(user['tokenFile']);
  const basic = str(user['username']) !== undefined ? `Basic ${Buffer.from(`${str(user['username'])}:${str(user['password']) ?? ''}`).toString('base64')}` : undefined;
  return {
    server: new URL(server),
    requestOptions: async () => {
      // A token file is read at every request, so a rotated token is used at once.
      const bearer = tokenFile ? (await readFile(path.resolve(dir, tokenFile), 'utf8')).trim() : token;
      const authorization = bearer ? `Bearer ${bearer}` : basic;
      return { ...base, ...(authorization ? { headers: { authorization } } : {}) };
    },
  };
}
