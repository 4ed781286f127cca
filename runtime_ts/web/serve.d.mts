/** Types of web/serve.mjs, the demo's static server, for the TypeScript tests. */

/** One served response. */
export interface ServedRequest {
  method: string;
  /** The URL's path, without the query. */
  path: string;
  status: number;
  /** Body bytes sent (compressed when `encoding` is gzip; 0 for a 304 or HEAD). */
  bytes: number;
  /** The file's (or message's) uncompressed size. */
  size: number;
  encoding: 'gzip' | 'identity';
}

export interface StartOptions {
  /** The bundle directory served under /bundle/. */
  bundle: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  onRequest?: (request: ServedRequest) => void;
}

export interface DemoServer {
  /** The demo page: `http://127.0.0.1:PORT/web/`. */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  /** The served bundle directory, absolute. */
  bundle: string;
  /** Every response so far, in order; empty it with `requests.length = 0`. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

/** runtime_ts/, the folder the page, dist/ and onnxruntime-web's browser build are served from. */
export const PACKAGE_ROOT: string;
export const MIME_TYPES: Record<string, string>;
export function mimeType(path: string): string;
export function startServer(options: StartOptions): Promise<DemoServer>;
