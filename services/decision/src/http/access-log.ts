/**
 * The access log (issue 12): one structured line per request, written when the answer has
 * been sent. It names the route by its template, never the raw path or query string, and
 * never carries parameters, bodies or tokens: what was asked lives in the signed receipt,
 * the access log says only who called what and how it ended.
 *
 * Example line: {"msg":"request","request_id":"…","method":"POST","route":"/v1/decide",
 * "status":200,"decision":"DENY","duration_ms":3.2,"subject":"gateway","tenant":"acme"}
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Caller } from '../intercept/agent.js';

/** A caller-supplied X-Request-Id is kept only when it is short and plain (it is echoed and logged). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id of this request (set by `requestIds`). */
export function requestId(res: Response): string {
  return res.locals.requestId as string;
}

/**
 * Takes the caller's X-Request-Id when well formed, else makes one, and answers with it, so
 * a PEP can match its own log lines to ours.
 */
export const requestIds: RequestHandler = (req, res, next) => {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

/**
 * The route template that served the request: `/v1/sessions/:id`, not the id. A request
 * refused before routing (401, 429, 413) names no template unless it was meant for a
 * decision route, which `decisionRoute` recognises however it is spelled.
 */
function routeTemplate(req: Request, decisionRoute: (url: string) => string | undefined): string | null {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return `${req.baseUrl}${path}`;
  return decisionRoute(req.originalUrl) ?? null;
}

export function accessLog(logger: Logger, decisionRoute: (url: string) => string | undefined): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let decision: string | undefined;
    // The decision is read off the answer as it is sent; nothing else of the body is kept.
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const d = (body as { decision?: unknown } | null)?.decision;
      if (typeof d === 'string') decision = d;
      return json(body);
    };
    let logged = false;
    const log = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const caller = res.locals.caller as Caller | undefined;
      logger.info(
        {
          request_id: requestId(res),
          method: req.method,
          route: routeTemplate(req, decisionRoute),
          status: res.statusCode,
          ...(decision !== undefined && { decision }),
          duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
          ...(caller?.verified && { subject: caller.subject, tenant: caller.tenant }),
          remote_address: req.socket.remoteAddress,
          ...(aborted && { aborted: true }),
        },
        'request',
      );
    };
    res.once('finish', () => log(false));
    // The client went away before the answer was complete: still one line, marked so.
    res.once('close', () => log(!res.writableFinished));
    next();
  };
}
