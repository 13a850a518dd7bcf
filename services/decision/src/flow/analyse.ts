/**
 * What a SQL statement or a command line does (docs/detection.md 2.3), and whether free
 * text holds a credential. Pattern-based on purpose: deterministic, fast, and wrong only
 * toward flagging (a flag is a finding for policy to weigh, never a decision by itself).
 */
import { readHost, readUrl, type Read } from './normalise.js';

export type Flag = 'destructive' | 'privilege' | 'remote_code' | 'protected' | 'secret' | 'injection';

/** Text between quotes and comments is not SQL that runs. */
function sqlCode(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""')
    .replace(/\s+/g, ' ');
}

/** A WHERE that keeps every row says nothing. */
const TRIVIAL_WHERE = /\bwhere\s+(?:1\s*=\s*1|true|'[^']*'\s*=\s*'[^']*'|\d+\s*>\s*0)\s*(?:;|$)/i;

/** SQL is read this far; past it, it is flagged by what was read and its effect is not told. */
const SQL_READ = 64 * 1024;

/** The statements of a SQL value, lower-case, without quoted text or comments. */
function statements(sql: string): string[] {
  return sqlCode(sql.slice(0, SQL_READ))
    .split(';')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

export function sqlFlags(sql: string): Flag[] {
  const flags = new Set<Flag>();
  for (const s of statements(sql)) {
    if (/^(?:drop|truncate)\b/.test(s) || /\bdrop\s+(?:table|database|schema|view|index|user|role)\b/.test(s)) {
      flags.add('destructive');
    }
    if (/^(?:with\b.*\b)?delete\b/.test(s) && (!/\bwhere\b/.test(s) || TRIVIAL_WHERE.test(s))) flags.add('destructive');
    if (/^(?:with\b.*\b)?update\b/.test(s) && (!/\bwhere\b/.test(s) || TRIVIAL_WHERE.test(s))) flags.add('destructive');
    if (/^alter\s+table\b.*\bdrop\b/.test(s)) flags.add('destructive');
    if (/^(?:grant|revoke)\b/.test(s) || /^(?:create|alter)\s+(?:user|role|login)\b/.test(s)) flags.add('privilege');
  }
  return [...flags];
}

/** What a SQL value does to data, when that can be told: it only reads, or it also changes rows. */
export type SqlEffect = 'read' | 'write';

const READ_STATEMENT = /^\(*\s*(?:select|values|table|show|describe|desc)\b/;
/** EXPLAIN and its options: what follows is judged as the statement it is (ANALYZE runs it). */
const EXPLAIN =
  /^explain\b(?:\s*\([^)]*\))?(?:\s+(?:analy[sz]e|verbose|extended|partitions|costs|buffers|query\s+plan|plan\s+for|format\s*=\s*\w+|format\s+(?:text|json|xml|yaml|tree|traditional)))*\s*/;
/** Session settings (`SET statement_timeout = 5000`), not a change of role, password or server setting. */
const SETTING =
  /^(?:set|reset)\s+(?:(?:session|local)\s+)?(?!role\b|session\b|authorization\b|password\b|global\b|persist(?:_only)?\b|@@global\b)[a-z_@]/;
const TRANSACTION =
  /^(?:begin|start\s+transaction|commit|rollback|abort|end)(?:\s+(?:work|transaction|tran|isolation\s+level\s+(?:serializable|repeatable\s+read|read\s+committed|read\s+uncommitted)|read\s+only|read\s+write))*$/;
const ROW_WRITE = /^(?:insert|upsert|merge|replace\s+into)\b|^(?:update|delete)\b.*\bwhere\b/;
/** Row locks of a read (`FOR UPDATE`) change nothing. */
const LOCKING = /\bfor\s+(?:no\s+key\s+)?(?:update|key\s+share|share)\b/g;
/** What makes a read change something: a data-modifying CTE, SELECT … INTO (a table or a file), a call. */
const CHANGES_IN_READ =
  /\b(?:insert|update|delete|merge|truncate|drop|alter|create|grant|revoke|into|copy|call|exec|execute)\b/;
/** Functions known to write, run code, reach files or other servers, or end sessions, wherever they are called. */
const WRITING_FUNCTIONS =
  /\b(?:nextval|setval|set_config|lo_\w+|dblink\w*|pg_(?:terminate_backend|cancel_backend|reload_conf|rotate_logfile|switch_wal|promote|create_restore_point|drop_replication_slot|create_\w*replication_slot|logical_emit_message|file_\w+|read_file|read_binary_file|ls_dir|stat_reset\w*)|query_to_xml\w*|load_file|sys_(?:exec|eval)|xp_cmdshell|sp_\w+|openrowset|opendatasource|openquery|dbms_\w+|utl_\w+)(?:\.\w+)?\s*\(/;

function statementEffect(s: string): SqlEffect | undefined {
  if (WRITING_FUNCTIONS.test(s)) return undefined;
  const explained = s.startsWith('explain') ? s.replace(EXPLAIN, '') : s;
  if (READ_STATEMENT.test(explained) || /^with\b/.test(explained)) {
    return CHANGES_IN_READ.test(explained.replace(LOCKING, ' ')) ? undefined : 'read';
  }
  if (explained !== s) return ROW_WRITE.test(explained) ? 'write' : undefined;
  if (SETTING.test(s) || TRANSACTION.test(s) || /^use\s+[\w."`]+$/.test(s)) return 'read';
  return ROW_WRITE.test(s) ? 'write' : undefined;
}

/**
 * What a SQL value does (docs/detection.md 2.3): `read` when every statement only reads
 * (SELECT, WITH … SELECT, SHOW, EXPLAIN, DESCRIBE, VALUES, session settings), `write` when
 * the others change rows without a destructive or privilege flag (INSERT, UPDATE or DELETE
 * with a WHERE, MERGE); undefined when any statement cannot be told, or the value is
 * longer than what is read of it.
 */
export function sqlEffect(sql: string): SqlEffect | undefined {
  if (sql.length > SQL_READ || sqlFlags(sql).length > 0) return undefined;
  const all = statements(sql);
  if (all.length === 0) return undefined;
  let effect: SqlEffect = 'read';
  for (const s of all) {
    const e = statementEffect(s);
    if (e === undefined) return undefined;
    if (e === 'write') effect = 'write';
  }
  return effect;
}

/** Splits a command line into simple commands (on ;, &&, ||, |, newlines) of words. */
function words(segment: string): string[] {
  const out: string[] = [];
  for (const m of segment.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** The program a simple command runs, past sudo, env assignments, nohup and the like. */
function program(ws: string[]): { name: string; args: string[] } {
  let i = 0;
  while (i < ws.length) {
    const w = ws[i]!;
    i++;
    if (/^\w+=/.test(w)) continue;
    if (!/^(?:sudo|doas|nohup|time|exec|env|command|xargs|nice)$/.test(w)) {
      i--;
      break;
    }
    while (i < ws.length && ws[i]!.startsWith('-')) i += /^-[ugCp]$/.test(ws[i]!) ? 2 : 1;
  }
  const name = (ws[i] ?? '').replace(/^.*\//, '').toLowerCase();
  return { name, args: ws.slice(i + 1) };
}

const SHELLS = /^(?:ba|z|k|da|fi)?sh$|^(?:python3?|perl|ruby|node|pwsh|powershell|iex)$/;
const FETCHERS = /^(?:curl|wget|iwr|invoke-webrequest|fetch)$/i;

function hasFlag(args: string[], short: string, long?: string): boolean {
  return args.some((a) => (long !== undefined && a === long) || (/^-[a-zA-Z]+$/.test(a) && a.slice(1).includes(short)));
}

function pushForce(args: string[], protectedBranches: RegExp[]): Flag[] {
  const rest = args.slice(1);
  const plus = rest.filter((a) => a.startsWith('+'));
  const forced = rest.some((a) => /^--force(?:-with-lease)?(?:=|$)/.test(a)) || hasFlag(rest, 'f') || plus.length > 0;
  if (!forced) return [];
  const refs = rest.filter((a) => !a.startsWith('-'));
  // `git push -f` with no refspec pushes the current branch, which may be protected.
  const branches = refs.length >= 2 ? refs.slice(1).map((r) => r.replace(/^\+/, '').replace(/^.*:/, '')) : [];
  const hit = branches.length === 0 || branches.some((b) => protectedBranches.some((p) => p.test(b)));
  return hit ? ['destructive', 'protected'] : ['destructive'];
}

/** Kinds whose deletion loses data or takes much else with it: storage, namespaces, nodes, definitions. */
const KUBE_DATA_KINDS =
  /^(?:namespaces?|ns|nodes?|no|pv|pvc|persistentvolumes?|persistentvolumeclaims?|crds?|customresourcedefinitions?|statefulsets?|sts|storageclass(?:es)?|sc|secrets?)(?:\.[\w.-]+)?$/;
/** Options of `kubectl delete` that take a value (not an object name). */
const KUBE_VALUE_OPTS =
  /^(?:-n|--namespace|--context|--cluster|--kubeconfig|--grace-period|--timeout|--cascade|--wait|-o|--output|--field-selector)$/;

/**
 * `kubectl delete` of one named workload object (a pod, a job, a deployment) is an ordinary
 * delete; it destroys when it reaches many objects (--all, a selector, a manifest, several
 * names, a wildcard) or objects that hold data or everything under them.
 */
function kubectlDeleteDestroys(args: string[]): boolean {
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^(?:--all|--all-namespaces|-A|-l|--selector|-f|--filename|-k|--kustomize|-R|--recursive)(?:=|$)/.test(a))
      return true;
    if (a.startsWith('-')) {
      if (KUBE_VALUE_OPTS.test(a)) i++;
      continue;
    }
    positional.push(a);
  }
  const [kind, ...names] = positional.flatMap((p) => p.split('/'));
  if (kind === undefined || KUBE_DATA_KINDS.test(kind.toLowerCase())) return true;
  for (const k of kind.split(',')) if (KUBE_DATA_KINDS.test(k.toLowerCase())) return true;
  return names.length !== 1 || kind.includes(',') || names.some((n) => /[*?]/.test(n));
}

function simpleFlags(name: string, args: string[], protectedBranches: RegExp[]): Flag[] {
  const sub = args[0];
  switch (name) {
    case 'rm':
      return hasFlag(args, 'r', '--recursive') || hasFlag(args, 'R') ? ['destructive'] : [];
    case 'git':
      if (sub === 'push') return pushForce(args, protectedBranches);
      if (sub === 'reset' && args.includes('--hard')) return ['destructive'];
      if (sub === 'clean' && hasFlag(args.slice(1), 'f', '--force')) return ['destructive'];
      return [];
    case 'kubectl': {
      // Global options may come first: `kubectl -n web delete pod a`.
      let i = 0;
      while (i < args.length && args[i]!.startsWith('-')) i += KUBE_VALUE_OPTS.test(args[i]!) ? 2 : 1;
      const [verb, ...rest] = args.slice(i);
      if (verb === 'delete') return kubectlDeleteDestroys([...args.slice(0, i), ...rest]) ? ['destructive'] : [];
      if (verb === 'create' && /^(?:cluster)?rolebinding$/.test(rest[0] ?? '')) return ['privilege'];
      return [];
    }
    case 'terraform':
    case 'tofu':
      return sub === 'destroy' || (sub === 'apply' && args.includes('-destroy')) ? ['destructive'] : [];
    case 'helm':
      return sub === 'uninstall' || sub === 'delete' ? ['destructive'] : [];
    case 'dropdb':
    case 'shred':
    case 'wipefs':
      return ['destructive'];
    case 'dd':
      return args.some((a) => a.startsWith('of=/dev/')) ? ['destructive'] : [];
    case 'chmod':
      if (hasFlag(args, 'R', '--recursive') && args.includes('777')) return ['destructive'];
      return args.some((a) => /^[ugoa]*\+[rwx]*s/.test(a)) ? ['privilege'] : [];
    case 'usermod':
      return args.some((a) => /^(?:sudo|wheel|admin|root)$/.test(a)) ? ['privilege'] : [];
    case 'gcloud':
      return args.some((a) => a === 'add-iam-policy-binding') ? ['privilege'] : [];
    case 'aws':
      return sub === 'iam' && /^(?:attach|put|create-access-key|add-user)/.test(args[1] ?? '') ? ['privilege'] : [];
    default:
      if (/^mkfs(?:\..+)?$/.test(name)) return ['destructive'];
      return [];
  }
}

export interface CommandAnalysis {
  flags: Flag[];
  /** Where the command sends to: URLs and hosts of curl, wget, scp, rsync, ssh, nc. */
  destinations: Array<Read & { kind: 'url' | 'host' }>;
}

/** curl/wget options that take a value (the value is no destination). */
const FETCH_OPTS =
  /^(?:-[dHoOuXFAeTbcKmrwyY]|--(?:data[\w-]*|header|output|user|request|form|user-agent|referer|upload-file|cookie|config|max-time|write-out|proxy-user))$/;
const SSH_OPTS = /^-[iplLoRDJFbcEeImOQSWw]$/;

function remoteDestinations(name: string, args: string[]): CommandAnalysis['destinations'] {
  const out: CommandAnalysis['destinations'] = [];
  const add = (text: string) => {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? readUrl(text) : undefined;
    if (url) return out.push({ ...url, kind: 'url' });
    const host = readHost(text);
    if (host) out.push({ ...host, kind: 'host' });
  };
  const positional = (opts: RegExp) => {
    const found: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (opts.test(a)) i++;
      else if (!a.startsWith('-')) found.push(a);
    }
    return found;
  };
  if (FETCHERS.test(name)) {
    for (const a of positional(FETCH_OPTS)) if (readUrl(a)) add(/^[a-z][a-z0-9+.-]*:\/\//i.test(a) ? a : `http://${a}`);
  } else if (name === 'scp' || name === 'rsync' || name === 'sftp') {
    for (const a of positional(SSH_OPTS)) {
      const remote = /^(?:rsync:\/\/|sftp:\/\/)?(?:[^@\s/]+@)?([^:/\s]+)(?::|\/)/.exec(a);
      if (a.includes(':') && remote && !a.startsWith('/') && !a.startsWith('.')) add(remote[1]!);
    }
  } else if (name === 'ssh') {
    const target = positional(SSH_OPTS)[0];
    if (target !== undefined) add(target);
  } else if (/^(?:nc|ncat|netcat|telnet|socat)$/.test(name)) {
    const target = positional(/^-[pswqi]$/)[0];
    if (target !== undefined) add(target.replace(/^tcp:/i, '').replace(/:\d+$/, ''));
  }
  return out;
}

const SQL_CLIENTS = /^(?:psql|mysql|mariadb|sqlite3|sqlcmd|clickhouse-client|cqlsh)$/;

/** The statement a database client is given on its command line (`psql -c "…"`). */
function clientSql(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^(?:-c|-e|-q|-Q|--command|--execute|--query)$/.test(a)) return args[i + 1];
    const inline = /^--(?:command|execute|query)=(.*)$/s.exec(a);
    if (inline) return inline[1];
  }
  // sqlite3 takes the database, then the statement.
  return args.length >= 2 && !args[1]!.startsWith('-') ? args[1] : undefined;
}

export function commandAnalysis(command: string, protectedBranches: RegExp[]): CommandAnalysis {
  const line = command.slice(0, 16 * 1024);
  const flags = new Set<Flag>();
  const destinations: CommandAnalysis['destinations'] = [];
  const segments = line.split(/;|&&|\|\||\n/);
  for (const segment of segments) {
    const pipeline = segment.split('|').map((part) => program(words(part)));
    pipeline.forEach(({ name, args }, i) => {
      for (const f of simpleFlags(name, args, protectedBranches)) flags.add(f);
      const sql = SQL_CLIENTS.test(name) ? clientSql(args) : undefined;
      if (sql !== undefined) for (const f of sqlFlags(sql)) flags.add(f);
      destinations.push(...remoteDestinations(name, args));
      // A download piped into an interpreter runs whatever the server sends.
      if (i > 0 && SHELLS.test(name) && pipeline.slice(0, i).some((p) => FETCHERS.test(p.name))) {
        flags.add('remote_code');
      }
    });
  }
  if (/(?:\$\(|`|<\()\s*(?:curl|wget)\b/.test(line) && /\b(?:ba|z)?sh\b|\beval\b|\bsource\b|\.\s/.test(line)) {
    flags.add('remote_code');
  }
  if (/\biex\b.*\b(?:iwr|invoke-webrequest|downloadstring)\b/i.test(line)) flags.add('remote_code');
  if (containsSecret(line)) flags.add('secret');
  return { flags: [...flags], destinations };
}

// A pattern that could start inside a run of its own characters (a JWT, a URL's scheme) starts
// only where the run does, so a long run costs one pass, not one per character.
const SECRETS: RegExp[] = [
  /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----/,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/,
  /aws_secret_access_key\s*[=:]\s*\S{20,}/i,
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/,
  /\bgithub_pat_[A-Za-z0-9_]{22,}\b/,
  /\bglpat-[A-Za-z0-9_-]{20,}\b/,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/,
  /\b[sr]k_live_[0-9a-zA-Z]{16,}\b/,
  /\bAIza[0-9A-Za-z_-]{35}\b/,
  /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}\b/,
  /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
  /\bbearer\s+[A-Za-z0-9\-._~+/]{20,}=*/i,
  /\b(?:password|passwd|pwd|passphrase|secret|api[_-]?key|client[_-]?secret)\s*[=:]\s*["']?[^\s"',;]{4,}/i,
  /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s:/@]{3,}@/i,
];

/** True when the text holds material that looks like a credential. */
export function containsSecret(text: string): boolean {
  return SECRETS.some((re) => re.test(text));
}

/** What stands in for a credential that is not there: masks, redaction marks, references. */
const PLACEHOLDER =
  /^(?:[*•x.#-]{3,}|[[<({]?\s*(?:redacted|filtered|masked|hidden|removed|omitted)\s*[\]>)}]?|<\s*(?:secret|token|password|api[ _-]?key|value)\s*>|\{\{[^}]*\}\})$/i;
/** `${DB_PASSWORD}`, `$DB_PASSWORD`, `%DB_PASSWORD%`: a reference to a secret kept elsewhere. */
const REFERENCE = /^(?:\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|%[A-Z_][A-Z0-9_]*%)$/;

/** True when a credential's value is empty or stands in for one ("[REDACTED]", "***", "Bearer <token>"). */
export function isPlaceholder(value: string): boolean {
  const v = value.trim().replace(/^(?:bearer|basic|token|digest)\s+/i, '');
  return v === '' || PLACEHOLDER.test(v) || REFERENCE.test(v);
}
