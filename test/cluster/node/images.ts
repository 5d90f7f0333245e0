// The images the node runs, imported into its containerd from the archives test/cluster/build-images.sh leaves in
// the cache (listed in images/index.tsv as `<archive>\t<image name>`). No registry exists here: every pod uses
// `imagePullPolicy: IfNotPresent` with one of these names, and the kubelet's image GC is off, so nothing is pulled.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../binaries.js';
import type { Containerd } from './containerd.js';
import { SANDBOX_IMAGE } from './containerd.js';
import { COREDNS_IMAGE } from './coredns-addon.js';
import { NodeSetupError } from './network.js';

const packageJson = fileURLToPath(new URL('../../../../package.json', import.meta.url));
const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

/** The image the manifests in manifests/dns and manifests/webhook run (built from the repository's Dockerfile). */
export const CLUSTER_DNS_IMAGE = `cluster-dns:${version}`;
/** The Kubernetes DNS-debugging guide's image (nslookup, dig, host, getent): Debian bookworm + bind9-dnsutils here. */
export const DNSUTILS_IMAGE = 'registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3';

export const REQUIRED_IMAGES = [SANDBOX_IMAGE, COREDNS_IMAGE, DNSUTILS_IMAGE, CLUSTER_DNS_IMAGE];

/** containerd's name for a short reference, as the kubelet asks for it (`cluster-dns:0.1.0` → docker.io/library/…). */
export function fullImageName(name: string): string {
  const firstPart = name.split('/')[0]!;
  const hasRegistry = name.includes('/') && (firstPart.includes('.') || firstPart.includes(':') || firstPart === 'localhost');
  if (hasRegistry) return name;
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}

interface Archive {
  file: string;
  name: string;
}

function imageIndex(): Archive[] {
  const index = join(CACHE_DIR, 'images', 'index.tsv');
  if (!existsSync(index)) {
    throw new NodeSetupError('images', `no image index at ${index}: build the images with \`bash test/setup.sh node\``);
  }
  return readFileSync(index, 'utf8').split('\n').filter((l) => l.trim() !== '').map((line) => {
    const [file = '', name = ''] = line.split('\t');
    return { file, name };
  });
}

/** Imports every archive of the index and checks that each image the node needs is there under its full name. */
export async function importImages(containerd: Containerd): Promise<string[]> {
  const archives = imageIndex();
  const missing = REQUIRED_IMAGES.filter((image) => !archives.some((a) => fullImageName(a.name) === fullImageName(image)));
  if (missing.length > 0) {
    throw new NodeSetupError('images', `the image index lists no archive for ${missing.join(', ')}: rebuild with \`bash test/setup.sh node\``);
  }
  const files = [...new Set(archives.map((a) => a.file))];
  for (const file of files) {
    if (!existsSync(file)) throw new NodeSetupError('images', `archive ${file} is missing: rebuild with \`bash test/setup.sh node\``);
    await containerd.ctr(['images', 'import', file], 300_000); // unpacks for the default snapshotter
  }
  const listed = await containerd.ctr(['images', 'list', '--quiet']);
  const names = new Set(listed.split('\n').map((l) => l.trim()).filter(Boolean));
  const absent = REQUIRED_IMAGES.map(fullImageName).filter((image) => !names.has(image));
  if (absent.length > 0) {
    throw new NodeSetupError('images', `after import, containerd does not list ${absent.join(', ')} (it has: ${[...names].join(', ')})`);
  }
  return [...names];
}
