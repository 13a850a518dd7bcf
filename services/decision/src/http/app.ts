/**
 * The HTTP surface (CONTRACT §3). Routes parse, call one function, and answer; every error
 * leaves through `errorHandler`, the one mapping from the error catalogue to HTTP.
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { decide, type DecideDeps } from '../decide.js';
import { ArbiterError } from '../errors.js';
import { DecideRequestSchema, parseBody } from '../intercept/envelope.js';
import type { Jwks } from '../receipts/keys.js';

export interface AppDeps extends DecideDeps {
  logger: Logger;
  maxBodyBytes: number;
  jwks: Jwks;
}

/** Routes on which any error answer also says DENY, so a careless PEP cannot read it as a pass. */
const DECISION_ROUTES = new Set(['/v1/decide']);

function errorBody(err: ArbiterError, req: Request) {
  const body: Record<string, unknown> = err.toBody();
  return err.status >= 500 || DECISION_ROUTES.has(req.path) ? { decision: 'DENY', ...body } : body;
}

/** Maps everything thrown, including body-parser's own errors, onto the catalogue. */
function toArbiterError(err: unknown): ArbiterError {
  if (err instanceof ArbiterError) return err;
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.too.large') return new ArbiterError('payload_too_large');
  if (type === 'entity.parse.failed') return new ArbiterError('invalid_json');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new ArbiterError('unsupported_media_type', 'unsupported body encoding');
  }
  return new ArbiterError('internal', undefined, { cause: err });
}

const requireJson: RequestHandler = (req, _res, next) => {
  // An empty body needs no type (POST /v1/policy/reload has none); req.is() counts
  // "content-length: 0" as a body, so that case is let through explicitly.
  const empty = req.headers['content-length'] === '0';
  if (req.method === 'POST' && !empty && req.is('application/json') === false) {
    next(new ArbiterError('unsupported_media_type'));
    return;
  }
  next();
};

export function createApp(deps: AppDeps): express.Express {
  const { store, policy, metrics, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requireJson);
  app.use(express.json({ limit: deps.maxBodyBytes, strict: true }));

  // Operations
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = { policy: policy.version !== undefined, store: true };
    try {
      await store.ping();
    } catch {
      checks.store = false;
    }
    const ready = checks.policy && checks.store;
    res.status(ready ? 200 : 503).json({ ready, checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // The action boundary
  app.post('/v1/decide', async (req, res) => {
    const request = await metrics.stage('validate', () => parseBody(DecideRequestSchema, req.body));
    res.json(await decide(deps, request));
  });

  // Pending approvals and deferrals (the flows that resolve them come with issue 4)
  const pendingRoute = (kind: 'approval' | 'deferral') => async (req: Request, res: Response) => {
    const record = await store.getPending(String(req.params.id));
    if (!record || record.kind !== kind) throw new ArbiterError('not_found', `no such ${kind}`);
    const expired = Date.parse(record.expires_at) <= deps.clock().getTime();
    res.json({ ...record, status: expired ? 'expired' : 'pending' });
  };
  app.get('/v1/approvals/:id', pendingRoute('approval'));
  app.get('/v1/deferrals/:id', pendingRoute('deferral'));

  // Sessions and receipts
  app.get('/v1/sessions/:id', async (req, res) => {
    const state = await store.load(String(req.params.id));
    if (!state.meta) throw new ArbiterError('not_found', 'no such session');
    res.json({ ...state.meta, context: state.summary, seq: state.seq, head: state.head });
  });
  app.get('/v1/sessions/:id/receipts', async (req, res) => {
    const sessionId = String(req.params.id);
    res.json({ session_id: sessionId, receipts: await store.listReceipts(sessionId) });
  });
  app.get('/v1/receipts/:id', async (req, res) => {
    const receipt = await store.getReceipt(String(req.params.id));
    if (!receipt) throw new ArbiterError('not_found', 'no such receipt');
    res.json(receipt);
  });
  app.get('/v1/keys', (_req, res) => {
    res.json(deps.jwks);
  });

  // Policy
  app.get('/v1/policy', (_req, res) => {
    res.json(policy.status());
  });
  app.post('/v1/policy/reload', async (_req, res) => {
    const result = await policy.reload(true);
    if (result.outcome === 'failed') {
      const error = new ArbiterError('policy_build_failed', result.error);
      res.status(error.status).json({ outcome: 'failed', ...error.toBody(), ...policy.status() });
      return;
    }
    res.json({ outcome: result.outcome, ...policy.status() });
  });

  app.use((_req, _res, next) => next(new ArbiterError('not_found', 'no such route')));

  const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
    const error = toArbiterError(err);
    if (DECISION_ROUTES.has(req.path)) metrics.decisionErrors.inc({ code: error.code });
    const log = { code: error.code, path: req.path, cause: error.cause instanceof Error ? error.cause.message : undefined };
    if (error.status >= 500) logger.error(log, 'request failed');
    else logger.debug(log, 'request refused');
    res.status(error.status).json(errorBody(error, req));
  };
  app.use(errorHandler);
  return app;
}
