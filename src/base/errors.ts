// The one registry of error codes (as fastify's FST_ERR_* and undici's UND_ERR_*). Every error the program
// raises on purpose carries a stable `code` from this table; the table says what it means, whether the CLI
// prints just its message (a user's mistake, no stack) and which exit status it ends the process with.
// docs/errors.md documents every code, and a test keeps the two in step.

export interface ErrorCodeInfo {
  /** Exit status when the error ends a command. */
  exit: 1 | 2;
  /** Print the message alone (the user can act on it), not the stack. */
  brief: boolean;
  /** One line for docs/errors.md. */
  meaning: string;
}

export const ERROR_CODES = {
  CDNS_ERR_CONFIG: { exit: 2, brief: true, meaning: 'A flag, environment variable or config-file value is invalid, or values contradict each other.' },
  CDNS_ERR_MANIFEST: { exit: 2, brief: true, meaning: 'A --manifests file cannot be read or holds an object that cannot be served.' },
  CDNS_ERR_LISTEN: { exit: 1, brief: true, meaning: 'A DNS or HTTP listener cannot be bound (address in use, no permission for a port below 1024).' },
  CDNS_ERR_UPSTREAM_CONFIG: { exit: 2, brief: true, meaning: 'An upstream, stub domain or resolv.conf cannot be used for forwarding; reported as CDNS_ERR_CONFIG at start-up.' },
  CDNS_ERR_COREFILE: { exit: 2, brief: true, meaning: 'import-corefile: the Corefile cannot be parsed; reported as CDNS_ERR_CONFIG.' },
  CDNS_ERR_CONVERSION: { exit: 1, brief: false, meaning: 'A Kubernetes object lacks a field DNS needs; the object is logged and ignored (from --manifests: CDNS_ERR_MANIFEST).' },
  CDNS_ERR_KUBECONFIG: { exit: 1, brief: false, meaning: 'No usable API-server credentials: no current cluster in the kubeconfig, or in-cluster files or variables missing.' },
  CDNS_ERR_API_REQUEST: { exit: 1, brief: false, meaning: 'A request to the Kubernetes API server failed (the HTTP status is on the error).' },
  CDNS_ERR_UPSTREAM: { exit: 1, brief: false, meaning: 'An upstream did not answer usefully (timeout, unreachable, network, malformed); the query is retried elsewhere or answered SERVFAIL.' },
  CDNS_ERR_WIRE: { exit: 1, brief: false, meaning: 'A DNS message from an upstream cannot be decoded; the upstream is treated as failed for that query.' },
  CDNS_ERR_ADMISSION: { exit: 1, brief: false, meaning: 'webhook: a request is not a v1 AdmissionReview; answered HTTP 400.' },
  CDNS_ERR_NOT_SYNCED: { exit: 1, brief: false, meaning: 'zone, env: the source did not finish its first full read within 60 s.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('cluster-dns.CodedError');

/** Base of every coded error. `isCodedError` works across copies of the module (undici's Symbol.for brand). */
export class CodedError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const isCodedError = (err: unknown): err is CodedError => typeof err === 'object' && err !== null && (err as { [BRAND]?: boolean })[BRAND] === true;

/** How an error ends a command: the line to print and the exit status. Uncoded errors are bugs: stack, 1. */
export function exitReport(err: unknown): { text: string; exit: 1 | 2 } {
  const info = isCodedError(err) ? ERROR_CODES[err.code] : undefined;
  const text = info?.brief ? (err as Error).message : ((err as Error)?.stack ?? String(err));
  return { text, exit: info?.exit ?? 1 };
}

export class ConfigError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_CONFIG', message);
  }
}

export class ManifestError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_MANIFEST', message);
  }
}

/** A listener that cannot be bound: one clear line at start-up, no stack. */
export class ListenError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_LISTEN', message);
  }
}

export class UpstreamConfigError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_UPSTREAM_CONFIG', message);
  }
}

export class CorefileError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_COREFILE', message);
  }
}

export class ConversionError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_CONVERSION', message);
  }
}

export class ApiRequestError extends CodedError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('CDNS_ERR_API_REQUEST', message);
  }
}

export class UpstreamError extends CodedError {
  constructor(
    readonly kind: 'timeout' | 'unreachable' | 'network' | 'malformed',
    message: string,
  ) {
    super('CDNS_ERR_UPSTREAM', message);
  }
}

/** A DNS message that cannot be decoded. */
export class MessageError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_WIRE', message);
  }
}

/** The envelope is not a v1 AdmissionReview; answered HTTP 400, echoing the uid when one could be read. */
export class BadReview extends CodedError {
  constructor(
    message: string,
    readonly uid: string | undefined,
  ) {
    super('CDNS_ERR_ADMISSION', message);
  }
}

export class KubeconfigError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_KUBECONFIG', message);
  }
}

export class NotSyncedError extends CodedError {
  constructor(message: string) {
    super('CDNS_ERR_NOT_SYNCED', message);
  }
}
