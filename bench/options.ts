// `npm run bench` flags.
export interface BenchOptions {
  /** Cluster sizes (Services), measured in this order; the cluster only grows. */
  sizes: number[];
  /** Seconds per dnsperf run. */
  duration: number;
  /** Seconds of unrecorded dnsperf load before the first run of each query file on each server. */
  warmup: number;
  /** Propagation: changes of each kind per size. */
  changes: number;
  /** Lines of the generated query files. */
  lines: number;
  /** dnsperf runs per measurement; the one with the highest QPS is kept (interference only ever slows a run). */
  repeat: number;
  /** Starts per server per size for time-to-ready (median reported). */
  readySamples: number;
  /** taskset: dnsperf and helpers on CPU 0, the server under test alone on CPU 1. */
  pin: boolean;
  /** Also measure CoreDNS with the pre-1.32 kubeadm `cache 30` (caches cluster answers too). */
  cache30: boolean;
  /** The demo-state comparison (cluster-dns --manifests examples vs NSD). */
  demo: boolean;
  clients: number;
  outstanding: number;
  /** Record TTL of cluster-dns, CoreDNS and the zone files (kubeadm: 30). */
  ttl: number;
  /** A folder for `node --cpu-prof` profiles of cluster-dns (its top self-time functions are printed). */
  profile?: string;
  /** Write every figure as JSON here. */
  json?: string;
  /** Keep the work folder (logs, zone files, query files). */
  keep: boolean;
  smoke: boolean;
  /**
   * Another build of cluster-dns (a checkout's root, with dist/src/cli.js) measured too, as `cluster-dns-baseline`
   * after cluster-dns on the same cluster: before/after figures from one generation and one run.
   */
  baseline?: string;
  /** Skip NSD on the generated cluster (its zone files take a while at 50,000 Services). */
  nsd: boolean;
}

export const DEFAULTS: BenchOptions = {
  sizes: [1000], duration: 10, warmup: 2, changes: 100, lines: 50_000, repeat: 1, readySamples: 3,
  pin: true, cache30: true, demo: true, nsd: true, clients: 4, outstanding: 200, ttl: 30, keep: false, smoke: false,
};

/** A tiny cluster and 1 s runs: every row of the report in well under a minute. */
export const SMOKE: Partial<BenchOptions> = {
  sizes: [30], duration: 1, warmup: 0, changes: 10, lines: 2000, readySamples: 1, cache30: false, smoke: true,
};

export const MAX_SERVICES = 60_000; // the test API server's service CIDR is a /16

export const USAGE = `npm run bench -- [flags]

  --services N       cluster size (default 1000; 10000 and 50000 work)
  --sizes N,M,...    several sizes in one run, smallest first (the cluster grows)
  --duration S       seconds per dnsperf run (default 10)
  --warmup S         unrecorded load before the first run of each query file (default 2)
  --changes N        propagation: Service creates and EndpointSlice changes per size (default 100)
  --lines N          lines of the generated query files (default 50000)
  --repeat N         dnsperf runs per measurement, best QPS kept (default 1)
  --ready-samples N  starts per server and size for time to ready, median kept (default 3)
  --no-pin           do not pin with taskset (default: load on CPU 0, server under test on CPU 1)
  --no-cache30       skip CoreDNS with kubeadm<=1.31's plain 'cache 30'
  --no-demo          skip the demo-state comparison with NSD
  --no-nsd           skip NSD on the generated cluster
  --baseline DIR     also measure the cluster-dns built in checkout DIR (dist/src/cli.js), as cluster-dns-baseline
  --profile DIR      run cluster-dns under node --cpu-prof and print its top self-time functions
  --json FILE        write every figure as JSON
  --keep             keep the work folder (logs, zone and query files)
  --smoke            tiny cluster, 1 s runs (well under a minute)
  --report FILE      print the report of a run saved with --json again (nothing is run)`;

export class UsageError extends Error {}

export function parseOptions(argv: string[]): BenchOptions {
  const set: Partial<BenchOptions> = {};
  let smoke = false;
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} needs an integer from ${min} to ${max}, got ${v ?? 'nothing'}`);
    return n;
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new UsageError(`${flag} needs a number ≥ ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const [flag, inline] = raw.includes('=') ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)] : [raw, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--services':
        set.sizes = [int(flag, value(), 1, MAX_SERVICES)];
        break;
      case '--sizes': {
        const v = value();
        const sizes = (v ?? '').split(',').map((s) => int(flag, s.trim(), 1, MAX_SERVICES));
        set.sizes = [...new Set(sizes)].sort((a, b) => a - b);
        break;
      }
      case '--duration':
        set.duration = num(flag, value(), 0.1);
        break;
      case '--warmup':
        set.warmup = num(flag, value(), 0);
        break;
      case '--changes':
        set.changes = int(flag, value(), 1, 10_000);
        break;
      case '--lines':
        set.lines = int(flag, value(), 100, 1_000_000);
        break;
      case '--repeat':
        set.repeat = int(flag, value(), 1, 20);
        break;
      case '--ready-samples':
        set.readySamples = int(flag, value(), 1, 20);
        break;
      case '--no-pin':
        set.pin = false;
        break;
      case '--no-cache30':
        set.cache30 = false;
        break;
      case '--no-demo':
        set.demo = false;
        break;
      case '--no-nsd':
        set.nsd = false;
        break;
      case '--baseline':
        set.baseline = value();
        if (set.baseline === undefined) throw new UsageError('--baseline needs a checkout folder');
        break;
      case '--profile':
        set.profile = value();
        if (set.profile === undefined) throw new UsageError('--profile needs a folder');
        break;
      case '--json':
        set.json = value();
        if (set.json === undefined) throw new UsageError('--json needs a file');
        break;
      case '--keep':
        set.keep = true;
        break;
      case '--smoke':
        smoke = true;
        break;
      default:
        throw new UsageError(`unknown flag ${raw}\n\n${USAGE}`);
    }
  }
  return { ...DEFAULTS, ...(smoke ? SMOKE : {}), ...set };
}
