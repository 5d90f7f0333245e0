// The admin kubeconfig: client-certificate auth with CA, certificate and key embedded, so the one file is all a
// client (kubectl, @kubernetes/client-node, CoreDNS's `kubeconfig` option, our server) needs.
import { readFile, writeFile } from 'node:fs/promises';
import type { Pki } from './certs.js';

export const CONTEXT = 'cluster-dns-test';

export async function writeAdminKubeconfig(path: string, server: string, pki: Pki): Promise<void> {
  const b64 = async (file: string): Promise<string> => (await readFile(file)).toString('base64');
  const [ca, cert, key] = await Promise.all([b64(pki.caCert), b64(pki.adminCert), b64(pki.adminKey)]);
  const yaml = `apiVersion: v1
kind: Config
clusters:
- name: ${CONTEXT}
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: admin
  user:
    client-certificate-data: ${cert}
    client-key-data: ${key}
contexts:
- name: ${CONTEXT}
  context:
    cluster: ${CONTEXT}
    user: admin
current-context: ${CONTEXT}
`;
  await writeFile(path, yaml, { mode: 0o600 });
}
