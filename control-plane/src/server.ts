import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";

type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** "PRI * HTTP/2.0" opens every prior-knowledge HTTP/2 connection; no HTTP/1 method starts with "PRI". */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Serves one handler over HTTP/1.1 and cleartext HTTP/2 (h2c, prior
 * knowledge) on one port: the first bytes of each connection pick the
 * protocol. Connect, gRPC (needs h2) and gRPC-Web all share the port.
 */
export function listenH1AndH2c(handler: Handler, host: string, port: number): Promise<Listening> {
  const h1 = http.createServer(handler as http.RequestListener);
  h1.keepAliveTimeout = 65_000;
  h1.headersTimeout = 66_000;
  const h2 = http2.createServer(
    {},
    handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const sockets = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && n < H2_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      if (isH2) {
        // The HTTP/2 session reads a net.Socket's native handle and would miss
        // the bytes already read; through a stream wrapper it reads them.
        const duplex = Duplex.from({ readable: socket, writable: socket });
        socket.once("close", () => duplex.destroy());
        h2.emit("connection", duplex);
      } else {
        h1.emit("connection", socket);
      }
      socket.resume();
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    front.once("error", reject);
    front.listen(port, host, () => {
      const address = front.address() as net.AddressInfo;
      resolve({
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            front.close(() => done());
            h1.closeAllConnections();
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}
