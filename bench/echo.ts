/**
 * The ceiling for bench/compare.ts: a plain node:http server that parses each JSON body and
 * answers it back, with nothing else on the request's path.
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (text += chunk));
  req.on('end', () => {
    let out: string;
    try {
      // An empty body (the readiness probe's GET) echoes null.
      out = JSON.stringify({ echo: text ? (JSON.parse(text) as unknown) : null });
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
