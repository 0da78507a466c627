/**
 * A loopback TCP proxy (node:net) in front of a PostgreSQL server, for the fault suite: it
 * forwards, goes silent, fails over, resets, or cuts a connection between the server's commit and
 * the client's acknowledgement, on command.
 *
 * - `forward()`: every connection forwards both ways (silent ones resume, in order: as TCP would
 *   deliver after a partition heals). New connections forward.
 * - `silence({ newConnections })`: existing connections stop forwarding in both directions but stay
 *   open (nothing is closed, nothing is refused: the peers' writes still succeed into the kernel's
 *   buffers, as on a network that drops packets). New connections are accepted and then either
 *   never forwarded (`'silent'`, the default) or forwarded (`'forward'`).
 * - `failover()`: the connections open now stay silent for good (a server that vanished behind
 *   an address that moved); new connections forward normally (the new primary).
 * - `reset()`: every open connection is destroyed, the client side with a TCP RST
 *   (`resetAndDestroy()`), the server side closed. New connections forward.
 * - `cutAfterNextResponse({ match })`: one shot. `'any'`: the next connection to send the server
 *   something has the server's next answer withheld and its client side closed instead. `'commit'`:
 *   the first answer that acknowledges a write committed (a response batch ending in ReadyForQuery
 *   with the transaction idle, to a request whose text held INSERT, UPDATE, DELETE or COMMIT, and
 *   without an ErrorResponse) is withheld and the client side closed: the server has committed,
 *   the client never hears so.
 *
 * ```ts
 * const proxy = await startTcpProxy({ port: cluster.port });
 * const url = proxiedUrl(target.connection, proxy);  // the same database, through the proxy
 * proxy.silence();
 * proxy.counters(); // { accepted, open, toServerBytes, toClientBytes, ... }
 * await proxy.close();
 * ```
 */
import net from 'node:net';
import { toConnectionUrl, type ConnectionSettings } from '../../src/connection.js';

/** What the proxy has done so far. */
export interface ProxyCounters {
  /** Client connections accepted. */
  accepted: number;
  /** Client connections open now. */
  open: number;
  /** Connections accepted while new connections were silent. */
  acceptedSilent: number;
  /** Connections made silent for good by `failover()`. */
  stranded: number;
  /** Connections destroyed by `reset()`. */
  reset: number;
  /** Connections cut by `cutAfterNextResponse()`. */
  cut: number;
  /** Bytes forwarded client -> server. */
  toServerBytes: number;
  /** Bytes forwarded server -> client. */
  toClientBytes: number;
  /** Server connections that failed (refused, reset): their client side was closed. */
  upstreamErrors: number;
}

/** What a cut did. */
export interface CutReport {
  /** Bytes of the server's answer that were withheld. */
  withheldBytes: number;
  /** The CommandComplete tags in the withheld answer (e.g. `INSERT 0 1`, `COMMIT`). */
  tags: string[];
}

export interface CutOptions {
  /** `'any'` (default): the next answer on the next connection that sends; `'commit'`: see the module comment. */
  match?: 'any' | 'commit';
  /** How the client side is closed: `'close'` (FIN, default) or `'reset'` (RST). */
  how?: 'close' | 'reset';
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  forward(): void;
  silence(options?: { newConnections?: 'silent' | 'forward' }): void;
  failover(): void;
  /** Destroys every open connection (RST to the client); returns how many. */
  reset(): number;
  /** Arms a one-shot cut; resolves when it happened, or with undefined when `disarm()` called it off first. */
  cutAfterNextResponse(options?: CutOptions): Promise<CutReport | undefined>;
  /** True while a cut is armed and has not happened. */
  cutArmed(): boolean;
  /** Calls off an armed cut (its promise resolves with undefined); returns whether one was armed. */
  disarm(): boolean;
  counters(): ProxyCounters;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

type LinkState = 'forward' | 'silent' | 'stranded';

interface Link {
  client: net.Socket;
  server: net.Socket | undefined;
  state: LinkState;
  closed: boolean;
  /** 'commit' cuts: framing the server's answers (from a message boundary) while armed. */
  watching: boolean;
  writePending: boolean;
  inbound: Buffer;
  /** 'any' cuts: this link sent the request whose answer is to be withheld. */
  cutNext: boolean;
}

interface ArmedCut {
  options: Required<CutOptions>;
  resolve: (report: CutReport | undefined) => void;
}

const WRITE_REQUEST = /\b(insert|update|delete|commit)\b/i;

/** Starts a proxy on a free port of 127.0.0.1 in front of `target` (default host 127.0.0.1). */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const upstreamHost = target.host ?? '127.0.0.1';
  const links = new Set<Link>();
  let newConnections: 'forward' | 'silent' = 'forward';
  let armed: ArmedCut | undefined;
  const counters: ProxyCounters = {
    accepted: 0,
    open: 0,
    acceptedSilent: 0,
    stranded: 0,
    reset: 0,
    cut: 0,
    toServerBytes: 0,
    toClientBytes: 0,
    upstreamErrors: 0,
  };

  const closeLink = (link: Link, how: 'close' | 'reset' = 'close') => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    counters.open--;
    if (how === 'reset' && !link.client.destroyed) link.client.resetAndDestroy();
    else link.client.destroy();
    link.server?.destroy();
  };

  const connectUpstream = (link: Link) => {
    const server = net.connect({ host: upstreamHost, port: target.port });
    link.server = server;
    server.setNoDelay(true);
    server.on('data', (chunk: Buffer) => toClient(link, chunk));
    server.on('error', () => {
      counters.upstreamErrors++;
      closeLink(link);
    });
    server.on('close', () => closeLink(link));
  };

  const toClient = (link: Link, chunk: Buffer) => {
    if (link.closed) return;
    if (link.cutNext && armed) {
      link.cutNext = false;
      fireCut(link, chunk);
      return;
    }
    if (!link.watching) {
      counters.toClientBytes += chunk.length;
      link.client.write(chunk);
      return;
    }
    // Frame the answers (type byte, then an int32 length that counts itself). Messages flow on at
    // once (the login's authentication exchange has no ReadyForQuery to wait for), except while a
    // write is pending: its answer is held a batch (up to and including ReadyForQuery) at a time,
    // so the batch that acknowledges the commit can be withheld.
    link.inbound = Buffer.concat([link.inbound, chunk]);
    let offset = 0;
    let batchStart = 0;
    let tags: string[] = [];
    let failed = false;
    const release = (end: number) => {
      const bytes = link.inbound.subarray(batchStart, end);
      counters.toClientBytes += bytes.length;
      link.client.write(bytes);
      batchStart = end;
      tags = [];
      failed = false;
    };
    while (link.inbound.length - offset >= 5) {
      const type = String.fromCharCode(link.inbound[offset]!);
      const length = link.inbound.readInt32BE(offset + 1);
      if (link.inbound.length - offset < 1 + length) break;
      if (type === 'C') tags.push(link.inbound.toString('utf8', offset + 5, offset + length).replace(/\0$/, ''));
      if (type === 'E') failed = true;
      offset += 1 + length;
      if (!link.writePending) {
        release(offset);
      } else if (type === 'Z') {
        const status = String.fromCharCode(link.inbound[offset - 1]!);
        if (armed && status === 'I' && !failed) {
          fireCut(link, link.inbound.subarray(batchStart, offset), tags);
          return;
        }
        if (status === 'I') link.writePending = false;
        release(offset);
      }
    }
    link.inbound = link.inbound.subarray(batchStart);
    if (!armed && link.inbound.length === 0) link.watching = false;
  };

  /** Ends the armed cut: the other links were only watched, so they stop being framed once at a boundary. */
  const endCut = (): ArmedCut => {
    const cut = armed!;
    armed = undefined;
    for (const other of links) {
      other.cutNext = false;
      other.writePending = false;
      if (other.watching && other.inbound.length === 0) other.watching = false;
    }
    return cut;
  };

  const fireCut = (link: Link, withheld: Buffer, tags: string[] = []) => {
    counters.cut++;
    link.watching = false;
    link.inbound = Buffer.alloc(0);
    const cut = endCut();
    closeLink(link, cut.options.how);
    cut.resolve({ withheldBytes: withheld.length, tags });
  };

  const toServer = (link: Link, chunk: Buffer) => {
    if (link.closed) return;
    if (armed) {
      if (armed.options.match === 'any') {
        if (![...links].some((other) => other.cutNext)) link.cutNext = true;
      } else {
        // The client sends a request only after the previous answer ended, so the server's
        // stream is at a message boundary here and framing can start.
        link.watching = true;
        if (WRITE_REQUEST.test(chunk.toString('latin1'))) link.writePending = true;
      }
    }
    if (!link.server) connectUpstream(link);
    counters.toServerBytes += chunk.length;
    link.server!.write(chunk);
  };

  const setState = (link: Link, state: LinkState) => {
    if (link.closed || link.state === 'stranded') return;
    link.state = state;
    if (state === 'forward') {
      link.client.resume();
      link.server?.resume();
    } else {
      link.client.pause();
      link.server?.pause();
    }
  };

  const listener = net.createServer({ pauseOnConnect: true }, (client) => {
    counters.accepted++;
    counters.open++;
    client.setNoDelay(true);
    const link: Link = {
      client,
      server: undefined,
      state: newConnections,
      closed: false,
      watching: false,
      writePending: false,
      inbound: Buffer.alloc(0),
      cutNext: false,
    };
    links.add(link);
    client.on('data', (chunk: Buffer) => toServer(link, chunk));
    client.on('error', () => closeLink(link));
    client.on('close', () => closeLink(link));
    if (link.state === 'forward') {
      connectUpstream(link);
      client.resume();
    } else {
      counters.acceptedSilent++;
    }
  });
  listener.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = listener.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    host: '127.0.0.1',
    port,
    forward: () => {
      newConnections = 'forward';
      // Connections accepted while silent reach the server now (their upstream opens on their first bytes).
      for (const link of links) setState(link, 'forward');
    },
    silence: (options = {}) => {
      newConnections = options.newConnections ?? 'silent';
      for (const link of links) setState(link, 'silent');
    },
    failover: () => {
      newConnections = 'forward';
      for (const link of links) {
        if (link.state === 'stranded') continue;
        setState(link, 'silent');
        link.state = 'stranded';
        counters.stranded++;
      }
    },
    reset: () => {
      const open = [...links];
      for (const link of open) closeLink(link, 'reset');
      counters.reset += open.length;
      return open.length;
    },
    cutAfterNextResponse: (options = {}) => {
      if (armed) return Promise.reject(new Error('a cut is already armed'));
      return new Promise<CutReport | undefined>((resolve) => {
        armed = { options: { match: options.match ?? 'any', how: options.how ?? 'close' }, resolve };
      });
    },
    cutArmed: () => armed !== undefined,
    disarm: () => {
      if (!armed) return false;
      endCut().resolve(undefined);
      return true;
    },
    counters: () => ({ ...counters }),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const link of [...links]) closeLink(link);
        listener.close(() => resolve());
      })),
  };
}

/** `connection`'s database and credentials, through `proxy`, as a `postgres://` URL. */
export function proxiedUrl(connection: ConnectionSettings, proxy: { host: string; port: number }): string {
  const through: ConnectionSettings = { host: proxy.host, port: proxy.port, user: connection.user, database: connection.database };
  if (connection.password !== undefined) Object.defineProperty(through, 'password', { value: connection.password, enumerable: false });
  return toConnectionUrl(through);
}
