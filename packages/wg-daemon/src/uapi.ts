/**
 * The UAPI unix socket (/var/run/wireguard/IFNAME.sock, directory 0700, socket 0700 as
 * wireguard-go's umask 077 gives) and a small client used by `wg-ts show`, `showconf`, `up`.
 *
 * Connections are handled like wireguard-go's IpcHandle: several operations per connection,
 * each answered with `errno=N` and a blank line; an unknown operation closes the connection.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync, watch, type FSWatcher } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { EINVAL, EIO, parseSet, serializeGet, UapiError, type SetRequest, type UapiDeviceState } from "./uapi-protocol.js";

export const UAPI_DIR = "/var/run/wireguard";

export function socketPath(name: string, dir = UAPI_DIR): string {
  return `${dir}/${name}.sock`;
}

export interface UapiHandler {
  get(): UapiDeviceState;
  /** Applies a parsed request; throws UapiError for errno answers. */
  set(req: SetRequest): Promise<void>;
}

/** Largest request we buffer (a full config with thousands of peers fits easily). */
const MAX_REQUEST = 4 * 1024 * 1024;

export class UapiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** count of failed requests, by errno */
  readonly errors = new Map<number, number>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly handler: UapiHandler,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** Creates the directory (0700) and listens. Fails if another live daemon owns the socket. */
  async listen(): Promise<void> {
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.path)) {
      if (await isAlive(this.path)) throw new Error(`${this.path} is in use by a running daemon`);
      unlinkSync(this.path);
    }
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o700);
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = "";
    let busy = false;
    // Writes an answer. A client that pipelines requests without reading the answers must not
    // make us buffer them without bound: stop parsing (and reading) until the socket drains,
    // as wireguard-go's blocking write does.
    const reply = (text: string): boolean => {
      if (socket.write(text)) return true;
      busy = true;
      socket.pause();
      socket.once("drain", () => {
        busy = false;
        socket.resume();
        pump();
      });
      return false;
    };
    const pump = (): void => {
      if (busy) return;
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl < 0) return;
        const op = buffer.slice(0, nl);
        if (op === "get=1") {
          if (buffer.length < nl + 2) return;
          const rest = buffer.slice(nl + 1);
          if (rest[0] !== "\n") {
            buffer = rest.slice(1);
            this.count(EINVAL);
            if (!reply(`errno=-${EINVAL}\n\n`)) return;
            continue;
          }
          buffer = rest.slice(1);
          let answer: string;
          try {
            answer = serializeGet(this.handler.get());
          } catch (e) {
            this.log(`UAPI get failed: ${(e as Error).message}`);
            answer = `errno=-${EIO}\n\n`;
          }
          if (!reply(answer)) return;
          continue;
        }
        if (op === "set=1") {
          const end = buffer.indexOf("\n\n", nl);
          // The terminating blank line may directly follow `set=1\n`.
          const emptyBody = buffer[nl + 1] === "\n";
          if (!emptyBody && end < 0) return;
          const body = emptyBody ? "" : buffer.slice(nl + 1, end);
          buffer = buffer.slice(emptyBody ? nl + 2 : end + 2);
          busy = true;
          void this.runSet(body).then((errno) => {
            busy = false;
            if (socket.destroyed || !reply(`errno=${errno === 0 ? 0 : -errno}\n\n`)) return;
            pump();
          });
          return;
        }
        this.log(`UAPI: invalid operation`);
        socket.destroy();
        return;
      }
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST) {
        this.log("UAPI: request too large");
        socket.destroy();
        return;
      }
      pump();
    });
  }

  private count(errno: number): void {
    this.errors.set(errno, (this.errors.get(errno) ?? 0) + 1);
  }

  /** Set requests run one at a time (wireguard-go holds ipcMutex). */
  private runSet(body: string): Promise<number> {
    const run = async (): Promise<number> => {
      try {
        const req = parseSet(body === "" ? [] : body.split("\n"));
        await this.handler.set(req);
        return 0;
      } catch (e) {
        const errno = e instanceof UapiError ? e.errno : EIO;
        this.count(errno);
        this.log(`UAPI set failed (errno -${errno}): ${(e as Error).message}`);
        return errno;
      }
    };
    const result = this.queue.then(run);
    this.queue = result.then(() => undefined);
    return result;
  }

  /** True while our socket file still exists (deleting it asks the daemon to stop). */
  stillPresent(): boolean {
    try {
      return lstatSync(this.path).isSocket();
    } catch {
      return false;
    }
  }

  /**
   * Calls `gone` once, when the socket file is removed or replaced by something else (deleting it
   * asks the daemon to stop): as wireguard-go's UAPI listener, the kernel tells (inotify on its
   * directory, fs.watch), so an idle daemon does not wake to look; where that fails, an lstat every
   * `pollMs`. Returns the function that stops watching.
   */
  watchRemoval(gone: () => void, pollMs = 500): () => void {
    const cut = this.path.lastIndexOf("/");
    const dir = this.path.slice(0, cut);
    const base = this.path.slice(cut + 1);
    let watcher: FSWatcher | null = null;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const stop = (): void => {
      done = true;
      watcher?.close();
      watcher = null;
      clearInterval(timer);
    };
    const check = (): void => {
      if (done || this.stillPresent()) return;
      stop();
      gone();
    };
    const poll = (): void => {
      watcher?.close();
      watcher = null;
      if (!done && timer === undefined) timer = setInterval(check, pollMs);
      check();
    };
    try {
      watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || file === base) check();
      });
      watcher.on("error", poll); // e.g. the directory itself removed
    } catch {
      poll(); // no inotify (limits, platform)
    }
    return stop;
  }

  close(unlink = true): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
    this.server = undefined;
    if (unlink) {
      try {
        unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    }
  }
}

/** True when something accepts connections on `path`. */
export function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Sends one request (`get=1\n\n` or `set=1\n...\n\n`) and returns the raw answer up to and
 * including `errno=N\n\n`.
 */
export function uapiRequest(path: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let answer = "";
    s.setEncoding("utf8");
    s.once("error", (e) => reject(new Error(`Unable to access interface: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    s.on("data", (chunk: string) => {
      answer += chunk;
      const m = /(^|\n)errno=(-?\d+)\n\n$/.exec(answer);
      if (m) {
        s.destroy();
        resolve(answer);
      }
    });
    s.once("close", () => reject(new Error("UAPI connection closed before the answer")));
    s.once("connect", () => s.write(request));
  });
}

/** The errno of an answer (0 = success). */
export function answerErrno(answer: string): number {
  const m = /(?:^|\n)errno=(-?\d+)\n\n$/.exec(answer);
  return m ? Number(m[1]) : -EIO;
}

/** Wraps UapiError for callers that only see the protocol module. */
export { UapiError };
