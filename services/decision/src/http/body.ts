/**
 * Reading a JSON body: the bytes (bounded, decompressed by body-parser's reader), then
 * UTF-8 only (RFC 8259 §8.1) and strictly, then the strict JSON reader of the edge
 * (intercept/json.ts). Whatever goes wrong is an error of the catalogue, and everything
 * the client sent wrong is a 4xx: a corrupt gzip stream is no server fault.
 */
import express, { type RequestHandler } from 'express';
import { ArbiterError } from '../errors.js';
import { parseStrictJson } from '../intercept/json.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The `charset` parameter of a Content-Type, lower-cased, if it names one. */
function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
}

/** body-parser's reader errors, mapped onto the catalogue. */
function readError(err: unknown, compressed: boolean): ArbiterError {
  if (err instanceof ArbiterError) return err;
  const { type, status } = err as { type?: unknown; status?: unknown };
  if (type === 'entity.too.large') return new ArbiterError('payload_too_large');
  if (type === 'encoding.unsupported')
    return new ArbiterError('unsupported_media_type', 'unsupported content encoding');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ArbiterError(
      'invalid_request',
      compressed ? 'the body could not be decompressed' : 'the body could not be read whole',
      { cause: err },
    );
  }
  return new ArbiterError('internal', undefined, { cause: err });
}

/** Parses application/json bodies into `req.body`; an empty body reads as `{}`. */
export function jsonBody(limitBytes: number): RequestHandler {
  const read = express.raw({ type: 'application/json', limit: limitBytes, inflate: true });
  return (req, res, next) => {
    read(req, res, (err?: unknown) => {
      if (err !== undefined) {
        const encoding = req.headers['content-encoding'];
        return next(readError(err, encoding !== undefined && encoding.toLowerCase() !== 'identity'));
      }
      const bytes: unknown = req.body;
      if (!Buffer.isBuffer(bytes)) return next();
      const charset = charsetOf(req.headers['content-type']);
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        return next(new ArbiterError('unsupported_media_type', 'the body must be UTF-8'));
      }
      if (bytes.length === 0) {
        req.body = {};
        return next();
      }
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        return next(new ArbiterError('invalid_json', 'the body is not valid UTF-8'));
      }
      try {
        req.body = parseStrictJson(text);
      } catch (parseErr) {
        return next(parseErr);
      }
      next();
    });
  };
}
