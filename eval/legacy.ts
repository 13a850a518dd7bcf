/**
 * The older, sparse catalogue model of a company (`make eval`'s second run): what a customer
 * who has not adopted parameter kinds, org data or conditional effects writes. Each tool keeps
 * only its description, one operation of read/write/send/execute/delete, its usual
 * classification, its default decision and an `egress` flag; the organisation keeps only its
 * own domains as `egress.allowed_domains`. Measuring the corpus under this view tells how much
 * of the detection rests on rules that read the tools themselves rather than on catalogue
 * detail, which is what a customer's first catalogue will lack.
 */

type Json = Record<string, unknown>;

/** The operations of the older model, in the order one is chosen for a tool that has several. */
const LEGACY_OPERATIONS = ['send', 'execute', 'write', 'delete', 'read'] as const;
type LegacyOperation = (typeof LEGACY_OPERATIONS)[number];

/** Paying and granting were writes in the older model. */
function legacyOperation(operation: unknown): LegacyOperation {
  const ops = (Array.isArray(operation) ? operation : [operation]).map((op) =>
    op === 'pay' || op === 'grant' ? 'write' : op,
  );
  return LEGACY_OPERATIONS.find((op) => ops.includes(op)) ?? 'read';
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A parameter declared a destination at any depth (`fields`, `items`). */
function hasDestination(parameters: unknown): boolean {
  if (!isObject(parameters)) return false;
  return Object.values(parameters).some(
    (spec) =>
      isObject(spec) &&
      (spec.destination === true || hasDestination(spec.fields) || hasDestination({ items: spec.items })),
  );
}

function legacyTool(tool: Json): Json {
  const operation = legacyOperation(tool.operation);
  return {
    ...(typeof tool.description === 'string' && { description: tool.description }),
    operation,
    classification: tool.classification ?? 'INTERNAL',
    default_decision: tool.default_decision ?? 'ALLOW',
    // A catalogue that says it keeps its word; otherwise sends and declared destinations carry data out.
    egress: typeof tool.egress === 'boolean' ? tool.egress : operation === 'send' || hasDestination(tool.parameters),
  };
}

/**
 * The company's `data.json` in the older model. A catalogue already written that way (no
 * `org` block, no parameters) comes back unchanged but for the fields the older model lacks.
 */
export function legacyCatalog(data: unknown): Json {
  const aarm = isObject(data) && isObject(data.aarm) ? data.aarm : {};
  const catalog = isObject(aarm.catalog) ? aarm.catalog : {};
  const tools = isObject(catalog.tools) ? catalog.tools : {};
  const org = isObject(aarm.org) ? aarm.org : {};
  const egress = isObject(aarm.egress) ? aarm.egress : {};
  const domains = [
    ...new Set([
      ...(Array.isArray(egress.allowed_domains) ? egress.allowed_domains : []),
      ...(Array.isArray(org.domains) ? org.domains : []),
    ]),
  ];
  return {
    aarm: {
      catalog: {
        tools: Object.fromEntries(
          Object.entries(tools).map(([name, tool]) => [name, legacyTool(isObject(tool) ? tool : {})]),
        ),
      },
      egress: { allowed_domains: domains },
    },
  };
}
