/**
 * The HTTP surface (CONTRACT §3). Each route: parse the body with its schema, check the
 * caller's role, call one function, answer. Every error leaves through `errorHandler`, the
 * one mapping from the error catalogue to HTTP.
 */
import { defaultTextMapGetter, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { verifyCapabilityRequest, type CapabilityVerifyDeps } from '../capabilities/http.js';
import { sessionTag } from '../context/ids.js';
import { decide, type DecideDeps } from '../decide.js';
import { expire, MAX_WAIT_SECONDS, pendingView, resolveDeferral, vote, waitForChange } from '../enforce/pending.js';
import { ArbiterError } from '../errors.js';
import { UNAUTHENTICATED_CALLER, type Caller } from '../intercept/agent.js';
import { DecideRequestSchema, parseBody } from '../intercept/envelope.js';
import type { Role } from '../intercept/identity.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { Jwks } from '../receipts/keys.js';
import { OpenSessionSchema, OutcomeSchema, openSession, recordOutcome, sessionView } from '../sessions.js';
import { accessLog, requestId, requestIds } from './access-log.js';
import { jsonBody } from './body.js';
import { rateLimit, type RateLimiters } from './rate-limit.js';

export interface AppDeps extends DecideDeps, CapabilityVerifyDeps {
  /** The engine itself: /v1/policy shows its status and reloads it. */
  policy: PolicyEngine;
  logger: Logger;
  maxBodyBytes: number;
  jwks: Jwks;
  /** Serve /metrics without a token even when ARBITER_AUTH=jwt. */
  metricsPublic: boolean;
  /** The export backlog and its bound, when receipts are exported. */
  exportBacklog: () => { depth: number; max: number } | undefined;
  /**
   * With ARBITER_AUTH=off: refuse unverified callers a vote on a group-gated approval and
   * any deferral resolution (enforce/pending.ts AnswerRules). Off by default, as local
   * development on loopback works (CONTRACT §3); set when the port is reachable by others.
   */
  refuseUnverifiedAnswers?: boolean;
  /** One line per request at info (ARBITER_ACCESS_LOG, default on). */
  accessLog?: boolean;
  /** Per-caller and per-tenant limits on /v1 (ARBITER_RATE_LIMIT_*); absent: no limit. */
  rateLimiters?: RateLimiters;
}

const traceContext = new W3CTraceContextPropagator();

/**
 * Routes whose answer says whether an action may run: any error answer on them also says
 * DENY, so a careless PEP or tool cannot read it as a pass.
 */
const DECISION_ROUTES = ['/v1/decide', '/v1/capabilities/verify'];

/**
 * The decision route a request was meant for, however its path is spelled: case,
 * repeated or trailing slashes, dot segments, percent-encoding, the absolute form. Routing
 * itself is exact (strict and case-sensitive), so odd spellings end in 404; this check
 * makes that 404, and every other error on the way, carry DENY all the same.
 */
export function decisionRoute(originalUrl: string): string | undefined {
  let path = originalUrl.split('?')[0] ?? '';
  try {
    path = new URL(path.startsWith('/') ? `http://h${path}` : path).pathname;
  } catch {
    // Not a URL at all: judged as sent.
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    // Malformed escapes: judged as sent.
  }
  const canonical = path
    .toLowerCase()
    // Segment parameters (RFC 3986 §3.3, "/v1/decide;x"), which some proxies drop.
    .replace(/;[^/\\]*/g, '')
    .replace(/[\\/]+/g, '/')
    .replace(/\/+$/, '');
  return DECISION_ROUTES.find((route) => canonical === route || canonical.startsWith(`${route}/`));
}

const VoteSchema = z.object({
  decision: z.enum(['approve', 'deny']),
  reason: z.string().max(2048).optional(),
  approver: z.string().min(1).max(256).optional(),
});

const ResolveSchema = z.object({ context: z.record(z.string(), z.unknown()) });

const WaitQuery = z.object({ wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS) });
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000) });

const RevocationSchema = z
  .object({
    jti: z.string().min(1).max(256).optional(),
    sub: z.string().min(1).max(256).optional(),
    /** The revoked token's exp claim (epoch seconds): the jti entry is kept only until the token is dead anyway. */
    exp: z.number().int().positive().max(253402300799).optional(),
    reason: z.string().max(1024).optional(),
  })
  .refine((r) => r.jti !== undefined || r.sub !== undefined, { message: 'name a jti or a sub', path: ['jti'] })
  .refine((r) => r.exp === undefined || r.jti !== undefined, { message: 'exp belongs to a jti', path: ['exp'] });

function errorBody(err: ArbiterError, req: Request) {
  const body: Record<string, unknown> = err.toBody();
  return err.status >= 500 || decisionRoute(req.originalUrl) !== undefined ? { decision: 'DENY', ...body } : body;
}

/** Maps everything thrown onto the catalogue (the body reader maps its own errors). */
function toArbiterError(err: unknown): ArbiterError {
  if (err instanceof ArbiterError) return err;
  // The router's own 400s, e.g. a path parameter with a malformed %-escape.
  if ((err as { status?: unknown })?.status === 400)
    return new ArbiterError('invalid_request', undefined, { cause: err });
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

function caller(res: Response): Caller {
  return res.locals.caller as Caller;
}

/** Whether the caller may hold the capability that runs an approved or resolved action. */
function runsActions(res: Response): { withCapability: boolean; holder: string | undefined } {
  const c = caller(res);
  return { withCapability: c.roles.has('pep') || c.roles.has('admin'), holder: c.verified ? c.subject : undefined };
}

/** The route needs one of these roles (with ARBITER_AUTH=off every caller has them all). */
function allow(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    const c = caller(res);
    next(
      roles.some((r) => c.roles.has(r))
        ? undefined
        : new ArbiterError('forbidden', `needs one of the roles ${roles.join(', ')}`),
    );
  };
}

export function createApp(deps: AppDeps): express.Express {
  const { store, policy, metrics, logger, verifier } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Exact routes (the router is built on first use, so before any route): /V1/DECIDE or
  // /v1/decide/ is not the decide route and ends in 404 (with DENY, see decisionRoute).
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  app.use(requestIds);
  if (deps.accessLog) app.use(accessLog(logger, decisionRoute));

  // Operations: open, for probes and scrapers.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const backlog = deps.exportBacklog();
    const evaluation = policy.status().evaluation;
    const checks = {
      policy: policy.version !== undefined,
      // A worker to evaluate with, and room to wait for one: else decisions are 503 DENY here.
      evaluation: evaluation.ready > 0 && evaluation.queued < evaluation.queue_max,
      store: true,
      export_backlog: backlog ? backlog.depth <= backlog.max : true,
    };
    try {
      await store.ping();
    } catch {
      checks.store = false;
    }
    const ready = checks.policy && checks.evaluation && checks.store && checks.export_backlog;
    res.status(ready ? 200 : 503).json({ ready, checks, ...(backlog && { export_backlog: backlog }) });
  });
  // With auth on, metrics need a token too (an auditor's or admin's), unless the operator
  // chose to expose them to scrapers without one (ARBITER_METRICS_PUBLIC).
  app.get('/metrics', async (req, res, next) => {
    if (verifier && !deps.metricsPublic) {
      const verified = await verifier.verifyCaller(req.headers.authorization);
      if (!verified.ok) return next(new ArbiterError('unauthenticated', verified.message));
      if (!['auditor', 'admin'].some((r) => verified.value.roles.has(r as Role))) {
        return next(new ArbiterError('forbidden', 'needs one of the roles auditor, admin'));
      }
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // Public keys are public: verifiers fetch them without credentials.
  app.get('/v1/keys', (_req, res) => {
    res.json(deps.jwks);
  });

  // Everything else under /v1 needs a verified caller when ARBITER_AUTH=jwt.
  app.use('/v1', async (req, res, next) => {
    if (!verifier) {
      res.locals.caller = UNAUTHENTICATED_CALLER;
      return next();
    }
    const verified = await verifier.verifyCaller(req.headers.authorization);
    if (!verified.ok) {
      return next(
        verified.problem === 'jwks_unavailable'
          ? new ArbiterError('unauthenticated_unavailable', verified.message)
          : new ArbiterError('unauthenticated', verified.message),
      );
    }
    const v = verified.value;
    res.locals.caller = {
      subject: v.subject,
      tenant: v.tenant,
      roles: v.roles,
      groups: v.groups,
      verified: true,
    } satisfies Caller;
    next();
  });
  // After authentication, so a verified caller is limited as itself; before the body is read.
  if (deps.rateLimiters) app.use('/v1', rateLimit(deps.rateLimiters));
  app.use(requireJson);
  app.use(jsonBody(deps.maxBodyBytes));

  // The action boundary
  app.post('/v1/decide', allow('pep', 'admin'), async (req, res) => {
    const request = await metrics.stage('validate', () => parseBody(DecideRequestSchema, req.body));
    const parent = traceContext.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    res.json(await decide(deps, caller(res), request, parent, requestId(res)));
  });
  // AARM R9: the tool, or its gateway, checks a capability and (redeem: true) uses it up.
  app.post('/v1/capabilities/verify', allow('pep', 'admin'), async (req, res) => {
    res.json(await verifyCapabilityRequest(deps, req.body, caller(res)));
  });
  app.post('/v1/actions/:id/outcome', allow('pep', 'admin'), async (req, res) => {
    const body = parseBody(OutcomeSchema, req.body);
    res.json(await recordOutcome(deps, caller(res), String(req.params.id), body, requestId(res)));
  });

  // Sessions and receipts: a caller sees only its own tenant's; others' read as absent.
  app.post('/v1/sessions', allow('pep', 'admin'), async (req, res) => {
    res.status(201).json(await openSession(deps, caller(res), parseBody(OpenSessionSchema, req.body)));
  });
  const ownSession = async (res: Response, id: string) => {
    const c = caller(res);
    const state = await store.load(sessionTag(c.tenant, id));
    if (!state.meta || state.meta.tenant !== c.tenant) throw new ArbiterError('not_found', 'no such session');
    return { ...state, meta: state.meta };
  };
  app.get('/v1/sessions/:id', allow('auditor', 'admin', 'pep'), async (req, res) => {
    res.json(sessionView(await ownSession(res, String(req.params.id))));
  });
  app.get('/v1/sessions/:id/receipts', allow('auditor', 'admin'), async (req, res) => {
    const state = await ownSession(res, String(req.params.id));
    res.json({
      session_id: state.meta.id,
      receipts: await store.listReceipts(sessionTag(state.meta.tenant, state.meta.id)),
    });
  });
  app.get('/v1/receipts/:id', allow('auditor', 'admin'), async (req, res) => {
    const receipt = await store.getReceipt(String(req.params.id));
    if (!receipt || receipt.tenant !== caller(res).tenant) throw new ArbiterError('not_found', 'no such receipt');
    res.json(receipt);
  });

  // Approvals (STEP_UP) and deferrals (DEFER)
  const pendingRoutes = (kind: 'approval' | 'deferral', path: string, readers: Role[]) => {
    app.get(path, allow(...readers), async (req, res) => {
      const status = req.query.status ?? 'pending';
      if (status !== 'pending') throw new ArbiterError('invalid_request', 'status: only "pending" can be listed');
      const limit = parseBody(ListQuery, { limit: req.query.limit ?? '100' }).limit;
      const now = deps.clock();
      const records = await store.listPending(caller(res).tenant, kind, limit);
      res.json({
        [`${kind}s`]: records
          .map((r) => pendingView(r, now, { withCapability: false }))
          .filter((v) => v.status === 'pending'),
      });
    });
    app.get(`${path}/:id`, allow(...readers), async (req, res) => {
      const id = String(req.params.id);
      const wait = parseBody(WaitQuery, { wait: req.query.wait ?? '0' }).wait;
      const read = async () => {
        const record = await store.getPending(id);
        if (!record || record.kind !== kind || record.tenant !== caller(res).tenant) {
          throw new ArbiterError('not_found', `no such ${kind}`);
        }
        return record;
      };
      let record = await read();
      if (wait > 0) {
        await waitForChange(
          deps,
          id,
          wait,
          async () => pendingView(await read(), deps.clock(), { withCapability: false }).status === 'pending',
        );
        record = await read();
      }
      const view = pendingView(record, deps.clock(), runsActions(res));
      // Noticed expired here first: close it with its DENY receipt now, not at the next sweep.
      if (view.status === 'expired' && record.status === 'pending')
        void expire(deps, record.tenant, id).catch(() => {});
      res.json(view);
    });
  };
  pendingRoutes('approval', '/v1/approvals', ['approver', 'pep', 'auditor', 'admin']);
  // Approvers resolve deferrals, so they list and read them too.
  pendingRoutes('deferral', '/v1/deferrals', ['approver', 'pep', 'auditor', 'admin']);
  const answerRules = { refuseUnverified: deps.refuseUnverifiedAnswers ?? false };
  app.post('/v1/approvals/:id', allow('approver', 'admin'), async (req, res) => {
    const body = parseBody(VoteSchema, req.body);
    const record = await vote(deps, caller(res), String(req.params.id), body, answerRules, requestId(res));
    res.json(pendingView(record, deps.clock(), runsActions(res)));
  });
  // Not the PEP: it would supply the very context its own DEFER waits for (CONTRACT §3).
  app.post('/v1/deferrals/:id/resolve', allow('approver', 'admin'), async (req, res) => {
    const body = parseBody(ResolveSchema, req.body);
    const record = await resolveDeferral(
      deps,
      caller(res),
      String(req.params.id),
      body.context,
      answerRules,
      requestId(res),
    );
    res.json(pendingView(record, deps.clock(), runsActions(res)));
  });

  // Administration
  app.post('/v1/admin/revocations', allow('admin'), async (req, res) => {
    const body = parseBody(RevocationSchema, req.body);
    const revocation = { tenant: caller(res).tenant, ...body, at: deps.clock().toISOString() };
    await store.addRevocation(revocation);
    logger.info({ tenant: revocation.tenant, jti: body.jti, sub: body.sub }, 'revocation added');
    res.status(201).json(revocation);
  });
  // Compile errors name files, rules and lines of the policy: admins only (issue 12).
  app.get('/v1/policy', (_req, res) => {
    const status = policy.status();
    if (caller(res).roles.has('admin')) {
      res.json(status);
      return;
    }
    res.json({ revision: status.revision, hash: status.hash, loaded_at: status.loaded_at });
  });
  app.post('/v1/policy/reload', allow('admin'), async (_req, res) => {
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
    if (decisionRoute(req.originalUrl) === '/v1/decide') metrics.decisionErrors.inc({ code: error.code });
    const log = {
      code: error.code,
      path: req.path,
      cause: error.cause instanceof Error ? error.cause.message : undefined,
    };
    if (error.status >= 500) logger.error(log, 'request failed');
    else logger.debug(log, 'request refused');
    res.status(error.status).json(errorBody(error, req));
  };
  app.use(errorHandler);
  return app;
}
