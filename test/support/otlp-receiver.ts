/**
 * A real OTLP/HTTP logs receiver for tests: POST …/v1/logs in http/json or http/protobuf.
 *
 * JSON is parsed as resourceLogs → scopeLogs → logRecords. Protobuf is decoded with a small
 * wire-format reader written here against the field numbers of opentelemetry-proto
 * (collector/logs/v1 ExportLogsServiceRequest, logs/v1, common/v1): the installed
 * @opentelemetry/otlp-transformer no longer ships .proto files or generated decoders (it
 * writes protobuf by hand and only reads export responses), so there is nothing to import.
 *
 * Modes: 'ok' records and answers 200 (an empty ExportLogsServiceResponse); 'fail' answers
 * 503 and records nothing; 'hang' reads the request and never answers (close() cuts it).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export interface ReceivedLog {
  protocol: 'http/json' | 'http/protobuf';
  contentType: string;
  resource: Record<string, AttributeValue>;
  scope: string | undefined;
  eventName: string | undefined;
  /** The body when it is a string (as the exporter sends it), else undefined. */
  body: string | undefined;
  attributes: Record<string, AttributeValue>;
  severityNumber: number | undefined;
  severityText: string | undefined;
  /** Nanoseconds since the epoch, as a decimal string. */
  timeUnixNano: string | undefined;
  /** Lowercase hex, undefined when absent or empty. */
  traceId: string | undefined;
  spanId: string | undefined;
}

export interface ReceivedRequest {
  contentType: string;
  bytes: number;
  mode: ReceiverMode;
  /** Request headers, lowercase names. */
  headers: Record<string, string>;
  /** Why the body could not be decoded, when it could not (answered 400). */
  problem?: string;
}

export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface OtlpReceiver {
  /** http://127.0.0.1:<port>/v1/logs */
  url: string;
  /** Log records of the requests answered 200, in arrival order. */
  records(): ReceivedLog[];
  setMode(mode: ReceiverMode): void;
  /** Requests received, whatever the mode. */
  requests(): number;
  /** Every request received, with its content type, size and the mode it met. */
  requestLog(): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let mode: ReceiverMode = 'ok';
  const received: ReceivedLog[] = [];
  const log: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req).catch(() => null);
    if (body === null) return; // the client went away
    const contentType = String(req.headers['content-type'] ?? '');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const entry: ReceivedRequest = { contentType, bytes: body.length, mode, headers };
    log.push(entry);
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/v1/logs') {
      res.writeHead(404).end();
      return;
    }
    if (mode === 'hang') return;
    if (mode === 'fail') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('collector unavailable');
      return;
    }
    const protobuf = contentType.startsWith('application/x-protobuf');
    try {
      const logs = protobuf ? decodeProtobufRequest(body, contentType) : decodeJsonRequest(body, contentType);
      received.push(...logs);
    } catch (err) {
      entry.problem = err instanceof Error ? err.message : String(err);
      res.writeHead(400, { 'content-type': 'text/plain' }).end(entry.problem);
      return;
    }
    if (protobuf) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1/logs`,
    records: () => [...received],
    setMode: (m) => {
      mode = m;
    },
    requests: () => log.length,
    requestLog: () => log.map((r) => ({ ...r, headers: { ...r.headers } })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('aborted')));
  });
}

// --- http/json ------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function decodeJsonRequest(body: Buffer, contentType: string): ReceivedLog[] {
  const request = JSON.parse(body.toString('utf8')) as Json;
  const out: ReceivedLog[] = [];
  for (const rl of array(request.resourceLogs)) {
    const resource = jsonAttributes(array((rl.resource as Json | undefined)?.attributes));
    for (const sl of array(rl.scopeLogs)) {
      const scope = (sl.scope as Json | undefined)?.name;
      for (const lr of array(sl.logRecords)) {
        const bodyValue = lr.body === undefined ? undefined : jsonAnyValue(lr.body as Json);
        out.push({
          protocol: 'http/json',
          contentType,
          resource,
          scope: typeof scope === 'string' ? scope : undefined,
          eventName: typeof lr.eventName === 'string' ? lr.eventName : undefined,
          body: typeof bodyValue === 'string' ? bodyValue : undefined,
          attributes: jsonAttributes(array(lr.attributes)),
          severityNumber: typeof lr.severityNumber === 'number' ? lr.severityNumber : undefined,
          severityText: typeof lr.severityText === 'string' ? lr.severityText : undefined,
          timeUnixNano: lr.timeUnixNano === undefined ? undefined : String(lr.timeUnixNano),
          traceId: typeof lr.traceId === 'string' && lr.traceId !== '' ? lr.traceId.toLowerCase() : undefined,
          spanId: typeof lr.spanId === 'string' && lr.spanId !== '' ? lr.spanId.toLowerCase() : undefined,
        });
      }
    }
  }
  return out;
}

function array(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function jsonAttributes(list: Json[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list) {
    if (typeof kv.key === 'string') out[kv.key] = jsonAnyValue((kv.value ?? {}) as Json);
  }
  return out;
}

function jsonAnyValue(v: Json): AttributeValue {
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('intValue' in v) return Number(v.intValue); // int64 may arrive as a string in OTLP/JSON
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return array((v.arrayValue as Json | undefined)?.values).map(jsonAnyValue);
  if ('kvlistValue' in v) return jsonAttributes(array((v.kvlistValue as Json | undefined)?.values));
  if ('bytesValue' in v) return String(v.bytesValue);
  return null;
}

// --- http/protobuf --------------------------------------------------------------------------

/** One field of a protobuf message: its number and its raw value by wire type. */
interface Field {
  no: number;
  /** wire type 0 */
  varint?: bigint;
  /** wire type 1 (fixed64 / double) and 5 (fixed32), little endian */
  fixed?: Buffer;
  /** wire type 2 */
  bytes?: Buffer;
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const b = buf[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('protobuf: varint too long');
    }
  };
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new Error('protobuf: truncated field');
    const slice = buf.subarray(pos, pos + n);
    pos += n;
    return slice;
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, varint: varint() });
    else if (wire === 1) out.push({ no, fixed: take(8) });
    else if (wire === 2) out.push({ no, bytes: take(Number(varint())) });
    else if (wire === 5) out.push({ no, fixed: take(4) });
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

const messages = (fs: Field[], no: number): Buffer[] =>
  fs.filter((f) => f.no === no && f.bytes !== undefined).map((f) => f.bytes as Buffer);
const first = (fs: Field[], no: number): Field | undefined => fs.filter((f) => f.no === no).at(-1);
const text = (f: Field | undefined): string | undefined => f?.bytes?.toString('utf8');

function decodeProtobufRequest(body: Buffer, contentType: string): ReceivedLog[] {
  const out: ReceivedLog[] = [];
  // ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
  for (const rlBuf of messages(fields(body), 1)) {
    // ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
    const rl = fields(rlBuf);
    const resourceBuf = messages(rl, 1)[0];
    // Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
    const resource = resourceBuf ? pbAttributes(messages(fields(resourceBuf), 1)) : {};
    for (const slBuf of messages(rl, 2)) {
      // ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
      const sl = fields(slBuf);
      const scopeBuf = messages(sl, 1)[0];
      // InstrumentationScope { string name = 1; string version = 2; … }
      const scope = scopeBuf ? text(first(fields(scopeBuf), 1)) : undefined;
      for (const lrBuf of messages(sl, 2)) {
        // LogRecord { fixed64 time_unix_nano = 1; SeverityNumber severity_number = 2;
        //   string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6;
        //   uint32 dropped_attributes_count = 7; fixed32 flags = 8; bytes trace_id = 9;
        //   bytes span_id = 10; fixed64 observed_time_unix_nano = 11; string event_name = 12; }
        const lr = fields(lrBuf);
        const bodyBuf = messages(lr, 5)[0];
        const bodyValue = bodyBuf ? pbAnyValue(bodyBuf) : undefined;
        const time = first(lr, 1)?.fixed;
        const severity = first(lr, 2)?.varint;
        const traceId = first(lr, 9)?.bytes;
        const spanId = first(lr, 10)?.bytes;
        out.push({
          protocol: 'http/protobuf',
          contentType,
          resource,
          scope,
          eventName: text(first(lr, 12)),
          body: typeof bodyValue === 'string' ? bodyValue : undefined,
          attributes: pbAttributes(messages(lr, 6)),
          severityNumber: severity === undefined ? undefined : Number(severity),
          severityText: text(first(lr, 3)),
          timeUnixNano: time ? time.readBigUInt64LE(0).toString() : undefined,
          traceId: traceId && traceId.length > 0 ? traceId.toString('hex') : undefined,
          spanId: spanId && spanId.length > 0 ? spanId.toString('hex') : undefined,
        });
      }
    }
  }
  return out;
}

function pbAttributes(kvs: Buffer[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kvBuf of kvs) {
    // KeyValue { string key = 1; AnyValue value = 2; }
    const kv = fields(kvBuf);
    const key = text(first(kv, 1));
    const value = messages(kv, 2)[0];
    if (key !== undefined) out[key] = value ? pbAnyValue(value) : null;
  }
  return out;
}

function pbAnyValue(buf: Buffer): AttributeValue {
  // AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
  //   double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6;
  //   bytes bytes_value = 7; } }
  const f = fields(buf).at(-1);
  if (f === undefined) return null;
  switch (f.no) {
    case 1:
      return (f.bytes ?? Buffer.alloc(0)).toString('utf8');
    case 2:
      return f.varint !== undefined && f.varint !== 0n;
    case 3:
      return Number(BigInt.asIntN(64, f.varint ?? 0n));
    case 4:
      return f.fixed ? f.fixed.readDoubleLE(0) : 0;
    case 5: // ArrayValue { repeated AnyValue values = 1; }
      return messages(fields(f.bytes ?? Buffer.alloc(0)), 1).map(pbAnyValue);
    case 6: // KeyValueList { repeated KeyValue values = 1; }
      return pbAttributes(messages(fields(f.bytes ?? Buffer.alloc(0)), 1));
    case 7:
      return (f.bytes ?? Buffer.alloc(0)).toString('base64');
    default:
      return null;
  }
}
