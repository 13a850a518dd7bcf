# METADATA
# title: Arbiter core library
# description: |
#   Combines the findings of every rule package under data.aarm.rules into
#   data.aarm.decision (the compiled entrypoint "aarm/decision"), following the
#   AARM precedence of the contract (shared CONTRACT.md, section 2):
#
#     1. any forbidden DENY finding (or any malformed finding) -> DENY;
#     2. otherwise only the findings of the highest priority count;
#     3. ALLOW and DENY at that priority -> DEFER (a conflict, both sides named);
#     4. otherwise the most restrictive effect among them:
#        DENY > DEFER > STEP_UP > MODIFY > ALLOW;
#     5. no finding at all -> data.aarm.config.default_decision (DENY when it is
#        missing or not one of the five effects).
#
#   The shape of data.aarm.decision:
#
#     {
#       "decision": "ALLOW" | "DENY" | "MODIFY" | "STEP_UP" | "DEFER",
#       "reasons": [{"policy_id", "reason", "effect", "priority", "risk"?}, ...],
#       "patch": [...],                      # MODIFY only
#       "approvers": [...], "timeout_s": n,  # STEP_UP only, with
#       "quorum": n, "four_eyes": bool,      #   (see below)
#       "context_needed": [...], "timeout_s": n,  # DEFER only
#       "risk": "LOW" | "MEDIUM" | "HIGH" | "CRITICAL",  # when a deciding finding has one
#       "default": true                      # only when no finding at all decided
#     }
#
#   "reasons" holds the findings that decided the outcome, sorted by policy_id,
#   then reason (then effect, priority and the rest, so the order is total).
#
#   The outcome fields come from the deciding findings of that effect: MODIFY
#   concatenates their patches in the order of "reasons"; STEP_UP takes the sorted
#   union of "approvers", the smallest "timeout_s" (else config step_up_timeout_s),
#   the largest "quorum" (how many distinct approvers must approve; 1 when no
#   finding names one) and "four_eyes" (true when any finding says so: the approver
#   may be neither the agent nor the human who asked); DEFER takes the sorted union
#   of "context_needed" and the smallest "timeout_s" (else config defer_timeout_s).
#   A STEP_UP decided by the default posture has approvers [], quorum 1 and
#   four_eyes false.
#
#   Rule packages may sit at any depth below aarm.rules (aarm.rules.x,
#   aarm.rules.team.x, ...): every document named "findings" reached through
#   package names is collected with walk(). Rule packages must not reference
#   data.aarm as a whole nor data.aarm.decision (that would be recursive); they may
#   use the helpers below (data.aarm.priority, data.aarm.param, ...). Any document
#   named "findings" below aarm.rules that is not a set (e.g. an array in data.json)
#   counts as malformed and turns the decision into DENY. Keep test packages outside
#   aarm.rules (the shipped pack uses rules_test.NAME): everything below aarm.rules
#   is evaluated for every decision. For the same reason a rule package should not
#   hold input values in its documents (a key or string "findings" in them would be
#   collected): use them inside rule bodies, or through the helpers of this package.
#
#   The package is spread over rego/aarm/: this file (the combiner and the input,
#   catalogue and configuration helpers), parameters.rego (catalogue parameter
#   constraints), context.rego (lookup, missing, defer_for) and patch.rego
#   (pointer, redact).
#
#   Writing this library: data.aarm.config is read only through `default` rules
#   (never object.get over data.aarm, which would recurse into the decision), and
#   data.aarm.decision has a `default` so it is defined whatever the input.
package aarm

# ---------------------------------------------------------------------------
# Helpers for rule authors (use them as `import data.aarm` then `aarm.priority.context`).
# ---------------------------------------------------------------------------

# Named priority levels of a finding ("priority" field; a finding without one is baseline):
#   baseline      0  - static allow/deny lists, catalogues
#   context       50 - decisions that depend on the parameters, the session or signals
#   compositional 80 - risk built from several signals / the whole session (e.g. injection)
priority := {"baseline": 0, "context": 50, "compositional": 80}

# The five effects a finding may carry.
effects := {"ALLOW", "DENY", "MODIFY", "STEP_UP", "DEFER"}

# How restrictive each effect is (higher wins in step 4 of the precedence).
restrictiveness := {"ALLOW": 0, "MODIFY": 1, "STEP_UP": 2, "DEFER": 3, "DENY": 4}

# The risk levels a finding may carry, ranked (the highest of the deciding findings is reported).
risk_rank := {"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}

# tool: input.action.tool when it is a string, else "".
default tool := ""

tool := t if {
	t := input.action.tool
	is_string(t)
}

# params: input.action.parameters when it is an object, else {}.
default params := {}

params := p if {
	p := input.action.parameters
	is_object(p)
}

# raw_params: input.action.parameters exactly as sent (any type), null when absent.
default raw_params := null

raw_params := input.action.parameters

# signals: input.signals when it is an object, else {}.
default signals := {}

signals := s if {
	s := input.signals
	is_object(s)
}

# param(name): the action parameter `name`, or null when it is missing. Unlike
# input.action.parameters[name] it is never undefined, so a rule written with it
# still fires when the field is missing (see exceeds).
param(name) := object.get(params, name, null)

# signal(name): the signal `name`, or null when it is missing.
signal(name) := object.get(signals, name, null)

# exceeds(x, limit): x is a number above limit, OR x is not a number at all (missing,
# null, a string, ...). Use it for "escalate above a threshold" rules so a missing
# or garbled value fails closed: aarm.exceeds(aarm.param("amount"), 1000).
#
# Beware, in rules: `not is_number(input.action.parameters.amount)` is NOT true when
# amount is missing (OPA looks the reference up before the negation, and the whole
# expression fails), so such a rule fails open. Use aarm.param / aarm.signal /
# aarm.has_key, which never leave a value undefined:
# `not is_number(aarm.param("amount"))`.
exceeds(x, _) if not is_number(x)

exceeds(x, limit) if {
	is_number(x)
	x > limit
}

# ---------------------------------------------------------------------------
# The tool catalogue and data classification (data.aarm.catalog).
# ---------------------------------------------------------------------------

# catalog_entry: the catalogue entry of input.action.tool,
# data.aarm.catalog.tools[tool], when it is an object: {"operation" (a name or an
# array of names, see operations), "classification", "default_decision", "egress",
# and optionally "parameters", "additional_parameters" (see parameters.rego),
# "effects" (rules/catalog/effects.rego), "approvers", "quorum", "four_eyes",
# "timeout_s", "patch", "context_needed"; docs/detection.md section 1 has every
# field and schemas/catalog.v1.schema.json their shape}. Undefined when the tool is
# unknown (not listed, no tool, no catalogue) or its entry is not an object, so
# a rule written `entry := aarm.catalog_entry` says nothing about unknown tools
# (the default posture, DENY, decides them). The fields themselves may still be
# missing or garbled: check them with has_key / string_field / ... and take the
# restrictive side when they are.
catalog_entry := e if {
	tool != ""
	e := data.aarm.catalog.tools[tool]
	is_object(e)
}

# The operations a tool may do (a catalogue entry's "operation" is one of them or
# an array of them).
operation_names := {"read", "write", "delete", "execute", "send", "grant", "pay"}

# valid_operation(x): x is a catalogue "operation": one of operation_names, or a
# non-empty array of them.
valid_operation(x) if {
	is_string(x)
	x in operation_names
}

valid_operation(x) if {
	is_array(x)
	count(x) > 0
	every op in x {
		is_string(op)
		op in operation_names
	}
}

# operations: what this action does, a set of operation names. From
# input.flow.operations when the service sent it (an array), else the catalogue
# entry's operation(s) when valid, else input.action.operation (a string), else
# the empty set. Rules ask `"send" in aarm.operations`.
default operations := set()

operations := {op | some op in input.flow.operations; is_string(op)} if {
	is_array(input.flow.operations)
} else := ops if {
	op := catalog_entry.operation
	valid_operation(op)
	ops := {x | some x in as_array(op)}
} else := {op} if {
	op := input.action.operation
	is_string(op)
}

# as_array(x): x itself when it is an array, else [x].
as_array(x) := x if {
	is_array(x)
} else := [x]

# The classification levels, ranked: compare levels by their rank,
# classification_rank[a] >= classification_rank["CONFIDENTIAL"].
classification_rank := {"PUBLIC": 0, "INTERNAL": 1, "CONFIDENTIAL": 2, "RESTRICTED": 3}

# session_classification: the most sensitive classification of the data the
# session has seen BEFORE this action (input.context.max_classification).
#
#   - input.context.max_classification is one of the four levels -> that level;
#   - there is no input.context at all -> "PUBLIC": no context means no earlier
#     action, so no data has been seen yet (a first action). The service always
#     sends a context (on a first action max_classification "PUBLIC"), so this
#     only happens when the policy is evaluated without a context store
#     (opa eval, unit tests), and an action's own parameters are judged by the
#     other rules anyway;
#   - a context that is present but whose max_classification is missing, null,
#     not a string, or not exactly one of the levels ("confidential", "SECRET",
#     ...) -> "RESTRICTED". Fail closed: a session whose history we cannot read
#     may well have seen the most sensitive data, and treating it as PUBLIC would
#     let a garbled context switch off every context-dependent guard (e.g. the
#     exfiltration rule). The same holds for a context that is not an object.
session_classification := c if {
	c := input.context.max_classification
	is_string(c)
	has_key(classification_rank, c)
} else := "PUBLIC" if {
	not has_key(input, "context")
} else := "RESTRICTED"

# ---------------------------------------------------------------------------
# Configuration (data.aarm.config), with defaults that work with no data at all.
# ---------------------------------------------------------------------------

# default_decision: the posture when no finding at all; DENY when unset or not an effect.
default default_decision := "DENY"

default_decision := d if {
	d := data.aarm.config.default_decision
	is_string(d)
	d in effects
}

# step_up_timeout_s: STEP_UP timeout when no deciding finding names one (seconds).
default step_up_timeout_s := 3600

step_up_timeout_s := t if {
	t := data.aarm.config.step_up_timeout_s
	is_number(t)
	t > 0
}

# defer_timeout_s: DEFER timeout when no deciding finding names one (seconds).
default defer_timeout_s := 300

defer_timeout_s := t if {
	t := data.aarm.config.defer_timeout_s
	is_number(t)
	t > 0
}

# ---------------------------------------------------------------------------
# Collecting findings.
# ---------------------------------------------------------------------------

# collected: every [package path, findings document] under data.aarm.rules, at any
# depth. The path holds only package names (strings), which keeps out anything
# found inside a finding itself.
collected contains [pkg, doc] if {
	walk(data.aarm.rules, [path, doc])
	n := count(path)
	n > 0
	path[n - 1] == "findings"
	every seg in path {
		is_string(seg)
	}

	# Only a key "findings" of an object reached through objects (packages): a string
	# "findings" inside a rule's set (e.g. a domain parsed from the input) is not a package.
	parent := array.slice(path, 0, n - 1)
	is_object(object.get(data.aarm.rules, parent, null))
	pkg := concat(".", array.concat(["aarm", "rules"], parent))
}

# entries: [package, finding] for every finding of every rule package.
entries contains [pkg, f] if {
	some [pkg, doc] in collected
	is_set(doc)
	some f in doc
}

# The valid findings, each with its priority filled in (0 when absent).
valid contains object.union(f, {"priority": object.get(f, "priority", 0)}) if {
	some [_, f] in entries
	not malformed(f)
}

# ---------------------------------------------------------------------------
# Fail closed: malformed findings (and "findings" that are not a set) become
# forbidden DENY findings with policy_id "aarm.malformed_finding".
# ---------------------------------------------------------------------------

patch_ops := {"add", "remove", "replace", "move", "copy", "test"}

malformed(f) if problem(f)

# problem(f): the first thing wrong with a finding (undefined when it is well formed).
problem(f) := "it is not an object" if {
	not is_object(f)
} else := "effect missing or not one of ALLOW, DENY, MODIFY, STEP_UP, DEFER" if {
	not valid_effect(f)
} else := "policy_id missing or not a string" if {
	not string_field(f, "policy_id")
} else := "reason missing or not a string" if {
	not string_field(f, "reason")
} else := "priority is not a number" if {
	has_key(f, "priority")
	not number_field(f, "priority")
} else := "forbidden must be a boolean, and true only on a DENY" if {
	has_key(f, "forbidden")
	not forbidden_ok(f)
} else := "risk is not one of LOW, MEDIUM, HIGH, CRITICAL" if {
	has_key(f, "risk")
	not risk_ok(f)
} else := "MODIFY without a patch array of valid RFC 6902 operations" if {
	f.effect == "MODIFY"
	not valid_patch(f)
} else := "approvers is not an array of strings" if {
	has_key(f, "approvers")
	not string_array_field(f, "approvers")
} else := "context_needed is not an array of strings" if {
	has_key(f, "context_needed")
	not string_array_field(f, "context_needed")
} else := "timeout_s is not a positive number" if {
	has_key(f, "timeout_s")
	not positive_field(f, "timeout_s")
} else := "quorum is not a whole number of at least 1" if {
	has_key(f, "quorum")
	not quorum_field(f)
} else := "four_eyes is not a boolean" if {
	has_key(f, "four_eyes")
	not boolean_field(f, "four_eyes")
}

# has_key(obj, k): obj has the key k, whatever its value (null and false included).
has_key(obj, k) if {
	_ := obj[k]
}

# Field tests for `not`: write `not string_field(f, "x")`, never `not is_string(f.x)`.
# OPA looks up a reference among a call's arguments (f.x) before the negation, so
# when f.x is missing the whole expression fails instead of being true, and the
# missing field would slip through. These helpers keep the lookup inside the call.
string_field(obj, k) if is_string(obj[k])

number_field(obj, k) if is_number(obj[k])

string_array_field(obj, k) if string_array(obj[k])

positive_field(obj, k) if positive_number(obj[k])

boolean_field(obj, k) if is_boolean(obj[k])

# whole(x): x is a whole number (5, 5.0; not 5.5, not "5").
whole(x) if {
	is_number(x)
	floor(x) == x
}

quorum_field(f) if {
	whole(f.quorum)
	f.quorum >= 1
}

forbidden_ok(f) if valid_forbidden(f.forbidden, f.effect)

risk_ok(f) if risk_rank[f.risk]

valid_effect(f) if {
	is_string(f.effect)
	f.effect in effects
}

valid_forbidden(false, _)

valid_forbidden(true, "DENY")

valid_patch(f) if {
	is_array(f.patch)
	every op in f.patch {
		valid_op(op)
	}
}

valid_op(op) if {
	is_object(op)
	is_string(op.op)
	op.op in patch_ops
	is_string(op.path)
	op_args(op)
}

op_args(op) if op.op == "remove"

op_args(op) if {
	op.op in {"add", "replace", "test"}
	has_key(op, "value")
}

op_args(op) if {
	op.op in {"move", "copy"}
	is_string(op.from)
}

string_array(xs) if {
	is_array(xs)
	every x in xs {
		is_string(x)
	}
}

positive_number(x) if {
	is_number(x)
	x > 0
}

# The stand-in finding for a malformed one: a forbidden DENY naming the package,
# the offending policy_id (when it has a string one) and the problem.
malformed_findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "aarm.malformed_finding",
	"priority": 0,
	"reason": concat("", ["malformed finding from ", pkg, " (policy_id ", offender(f), "): ", p]),
} if {
	some [pkg, f] in entries
	p := problem(f)
}

malformed_findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "aarm.malformed_finding",
	"priority": 0,
	"reason": concat("", ["malformed findings in ", pkg, ": findings must be a set"]),
} if {
	some [pkg, doc] in collected
	not is_set(doc)
}

offender(f) := f.policy_id if {
	is_object(f)
	is_string(f.policy_id)
} else := "unknown"

# ---------------------------------------------------------------------------
# The precedence.
# ---------------------------------------------------------------------------

# Step 1: forbidden findings (and malformed ones).
forbidding := malformed_findings | {f | some f in valid; f.effect == "DENY"; f.forbidden == true}

# Step 2: the highest priority and the findings that hold it.
top_priority := max({f.priority | some f in valid})

top := {f | some f in valid; f.priority == top_priority}

top_effects := {f.effect | some f in top}

# Step 3: ALLOW and DENY at the highest priority.
conflict if {
	"ALLOW" in top_effects
	"DENY" in top_effects
}

conflict_finding := {
	"effect": "DEFER",
	"policy_id": "aarm.conflict",
	"priority": top_priority,
	"reason": "ALLOW and DENY findings at the same highest priority: deferred until the conflict is resolved",
}

# Step 4: the most restrictive effect at the highest priority.
most_restrictive := e if {
	r := max({restrictiveness[x] | some x in top_effects})
	some e, r2 in restrictiveness
	r2 == r
}

# The outcome and the findings that decided it.
outcome := "DENY" if {
	count(forbidding) > 0
} else := "DEFER" if {
	conflict
} else := most_restrictive if {
	count(valid) > 0
} else := default_decision

deciding := forbidding if {
	count(forbidding) > 0
} else := sides if {
	conflict
	sides := {f | some f in top; f.effect in {"ALLOW", "DENY"}} | {conflict_finding}
} else := {f | some f in top; f.effect == most_restrictive} if {
	count(valid) > 0
} else := {{
	"effect": default_decision,
	"policy_id": "aarm.default",
	"priority": 0,
	"reason": concat("", ["no policy matched this action: default posture ", default_decision]),
}}

# The deciding findings in a total, deterministic order: policy_id, reason, then the rest.
ordered := [t[4] | some t in sort([[f.policy_id, f.reason, f.effect, f.priority, f] | some f in deciding])]

# A reason: the finding reduced to policy_id, reason, effect, priority and risk (when given).
reason_of(f) := object.union(
	{"policy_id": f.policy_id, "reason": f.reason, "effect": f.effect, "priority": f.priority},
	risk_of(f),
)

risk_of(f) := {"risk": f.risk} if {
	has_key(f, "risk")
} else := {}

reasons := [reason_of(f) | some f in ordered]

# MODIFY: the patches of the deciding findings, in order, concatenated.
patch := [op | some f in ordered; f.effect == "MODIFY"; some op in f.patch]

approvers := sort({a | some f in deciding; f.effect == "STEP_UP"; some a in object.get(f, "approvers", [])})

context_needed := sort({c | some f in deciding; f.effect == "DEFER"; some c in object.get(f, "context_needed", [])})

# STEP_UP: the largest quorum among the deciding findings (1 when none names one),
# and four_eyes when any of them asks for it.
step_up_quorum := max({q | some f in deciding; f.effect == "STEP_UP"; q := f.quorum} | {1})

default step_up_four_eyes := false

step_up_four_eyes if {
	some f in deciding
	f.effect == "STEP_UP"
	f.four_eyes == true
}

# The smallest timeout_s among the deciding findings of that effect, else the configured one.
timeout_for(effect, fallback) := min(ts) if {
	ts := {t | some f in deciding; f.effect == effect; t := f.timeout_s}
	count(ts) > 0
} else := fallback

risk := r if {
	ranks := {risk_rank[f.risk] | some f in deciding; f.risk}
	count(ranks) > 0
	m := max(ranks)
	some r, m2 in risk_rank
	m2 == m
}

# The fields that only some outcomes carry.
extras := {"patch": patch} if {
	outcome == "MODIFY"
} else := {
	"approvers": approvers,
	"four_eyes": step_up_four_eyes,
	"quorum": step_up_quorum,
	"timeout_s": timeout_for("STEP_UP", step_up_timeout_s),
} if {
	outcome == "STEP_UP"
} else := {"context_needed": context_needed, "timeout_s": timeout_for("DEFER", defer_timeout_s)} if {
	outcome == "DEFER"
} else := {}

# "default": true only when no finding at all (valid or malformed) decided.
default_mark := {"default": true} if {
	count(valid) == 0
	count(forbidding) == 0
} else := {}

risk_part := {"risk": risk} if {
	risk
} else := {}

# ---------------------------------------------------------------------------
# The entrypoint: aarm/decision. Its default is a DENY, so whatever goes wrong in
# evaluating the parts above, the decision is defined and never ALLOW.
# ---------------------------------------------------------------------------

default decision := {
	"decision": "DENY",
	"reasons": [{
		"effect": "DENY",
		"policy_id": "aarm.internal",
		"priority": 0,
		"reason": "policy evaluation produced no decision",
	}],
}

decision := object.union(
	object.union({"decision": outcome, "reasons": reasons}, extras),
	object.union(risk_part, default_mark),
)
