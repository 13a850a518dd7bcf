/**
 * One HTTP request with the path, headers and bytes exactly as given: fetch would normalise
 * the path, set a content type and refuse some headers, which the edge tests must send.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: any;
}

/** The whole answer of a response: status, headers, and the body parsed when it is JSON. */
export function answerOf(res: IncomingMessage): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: kept as text, and the asserts on it fail
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
    });
  });
}

export function sendRaw(
  base: string,
  method: string,
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }), ...headers },
      },
      (res) => answerOf(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(body);
  });
}
