# Conditional effects of the tool catalogue (policy_id "catalog.effects.<id>").
#
#   Conditional effects as data (docs/detection.md section 1.2): every entry of the
#   tool's catalogue "effects" whose "when" holds becomes a finding with policy_id
#   "catalog.effects.<id>", priority the entry's "priority" (a number, or the name
#   of a level of aarm.priority; default context, 50), the entry's "effect" and
#   its companions (MODIFY "patch"; STEP_UP "approvers" (else the tool's),
#   "quorum", "four_eyes", "timeout_s"; DEFER "context_needed", "timeout_s"; any
#   effect "risk", and "forbidden" on a DENY), and as reason the entry's "reason"
#   followed by what was tested: "transfers above 5000 need finance (amount 12000
#   above 5000)".
#
#   A "when" holds when every test in it does (the table of docs/detection.md
#   section 1.2): param comparisons (above, at_least, below, at_most; a parameter
#   of kind amount is read as its number, from input.flow.amount when the service
#   sent one), in / not_in (strings compared trimmed and case-insensitively; an
#   array value is in when each of its items is), matches / not_matches (RE2,
#   unanchored), present, destination (outside, inside, unregistered), origin
#   (untrusted), fact (with equals, default true), analysis (destructive,
#   privilege, remote_code) and session (untrusted).
#
#   A value test (in, not_in, matches, not_matches) on a parameter that is absent does
#   not hold: an optional parameter left out is not a value in the list (a break-glass
#   "connection" that is not given is the default connection). Otherwise a test that
#   cannot be decided holds when the entry's effect is DENY, STEP_UP or
#   DEFER and does not hold when it is ALLOW or MODIFY, so it fails closed either
#   way: a number comparison on a parameter that is missing, null or not a number,
#   matches on a value that is present but not a string, a session integrity other than
#   "trusted" or "untrusted". A destination is outside unless the flow says it is
#   inside (inside: true), and a destination parameter the service could not read
#   (flow.unreadable) is outside. Without input.flow (the service always sends it;
#   opa eval and unit tests may not) the flow tests (destination, origin, fact,
#   analysis, session) do not hold: they read the flow through the core library's
#   helpers (rego/aarm/flow.rego), which state nothing without one.
#
#   Fail closed: "effects" that is not an array, an entry that is not an object,
#   without an id (a non-empty string, unique in the tool), an effect (one of the
#   five) or a reason (a string), with an unknown key, a "when" that is missing,
#   holds no test, an unknown test or a test of the wrong shape (a threshold that
#   is not a number, an invalid regular expression, ...), or companions that the
#   core library would call malformed (a MODIFY without a patch, ...) give a
#   forbidden DENY (policy_id "catalog.effects", risk HIGH) naming the tool and the
#   entry, whatever the action: a broken catalogue entry is a policy bug.
package aarm.rules.catalog

import data.aarm

# (As in the rest of the package, no document here holds input values under string
# keys: what is read from the flow is held in sets, whose members are no string paths.)

findings contains effect_finding(entry, e) if {
	entry := aarm.catalog_entry
	some i, e in effect_entries(entry)
	count(effect_problems(entry, i, e)) == 0
	rs := results(e)
	count(rs) == count(tests_of(e.when))
	every r in rs {
		r[0] == true
	}
}

findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog.effects",
	"priority": aarm.priority.context,
	"reason": concat("", ["tool ", aarm.tool, " has a malformed catalogue entry (effects is not an array): denied"]),
	"risk": "HIGH",
} if {
	entry := aarm.catalog_entry
	aarm.has_key(entry, "effects")
	not is_array(entry.effects)
}

findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog.effects",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"tool ", aarm.tool, " has a malformed effects entry effects[", format_int(i, 10), "]",
		entry_name(e), " (", problem, "): denied",
	]),
	"risk": "HIGH",
} if {
	entry := aarm.catalog_entry
	some i, e in effect_entries(entry)
	some problem in effect_problems(entry, i, e)
}

# effect_entries(entry): the entry's "effects" when it is an array, else [].
effect_entries(entry) := es if {
	es := entry.effects
	is_array(es)
} else := []

entry_name(e) := concat("", [" ", e.id]) if {
	non_empty_string(e, "id")
} else := ""

# ---------------------------------------------------------------------------
# The finding of an effects entry.
# ---------------------------------------------------------------------------

# effect_finding(entry, e): the finding of the effects entry e of the catalogue
# entry `entry`, its reason followed by what was tested.
effect_finding(entry, e) := object.union(
	effect_base(entry, e),
	{"reason": concat("", [e.reason, " (", concat(", ", [r[1] | some r in results(e)]), ")"])},
)

# effect_base(entry, e): the finding with the entry's own reason (also what
# effect_problems hands to the core library's checks).
effect_base(entry, e) := object.union(
	object.union(object.filter(e, array.concat(companions[e.effect], ["risk", "forbidden"])), fallback_approvers(entry, e)),
	{
		"effect": e.effect,
		"policy_id": concat("", ["catalog.effects.", e.id]),
		"priority": effect_priority(e),
		"reason": e.reason,
	},
)

# A STEP_UP that names no approvers takes the tool's.
fallback_approvers(entry, e) := {"approvers": entry.approvers} if {
	e.effect == "STEP_UP"
	not aarm.has_key(e, "approvers")
	aarm.has_key(entry, "approvers")
} else := {}

effect_priority(e) := p if {
	is_string(e.priority)
	p := aarm.priority[e.priority]
} else := e.priority if {
	aarm.has_key(e, "priority")
} else := aarm.priority.context

# restrictive(e): the entry's effect holds the call back, so a test that cannot be
# decided counts as holding; for ALLOW and MODIFY it counts as not holding.
restrictive(e) := e.effect in {"DENY", "STEP_UP", "DEFER"}

# ---------------------------------------------------------------------------
# The tests of "when": results(e) is [[holds, what was tested], ...], one per test,
# in the order of when_tests. "what was tested" only matters when every test holds.
# ---------------------------------------------------------------------------

when_tests := [
	"above", "at_least", "below", "at_most", "in", "not_in", "matches", "not_matches",
	"present", "destination", "origin", "fact", "analysis", "session",
]

# The tests that read a parameter (they need "param").
param_tests := {"above", "at_least", "below", "at_most", "in", "not_in", "matches", "not_matches", "present"}

comparison_words := {"above": "above", "at_least": "at least", "below": "below", "at_most": "at most"}

tests_of(when) := [t | some t in when_tests; aarm.has_key(when, t)]

results(e) := [result(t, e.when, restrictive(e)) | some t in tests_of(e.when)]

# --- parameters -----------------------------------------------------------------

result(op, when, strict) := [compare(op, n, when[op]), concat(" ", [when.param, num(n), comparison_words[op], num(when[op])])] if {
	comparison_words[op]
	n := number_of(when.param)
} else := [strict, concat("", [when.param, " ", unreadable(when.param, "a number"), ", counted as ", comparison_words[op], " ", num(when[op])])] if {
	comparison_words[op]
}

result("in", when, _) := [in_list(when["in"], v), concat("", [when.param, " is one of ", shown(when["in"])])] if {
	v := present_param(when.param)
} else := [false, concat("", [when.param, " is missing"])]

result("not_in", when, _) := [in_list(when.not_in, v) == false, concat("", [when.param, " is none of ", shown(when.not_in)])] if {
	v := present_param(when.param)
} else := [false, concat("", [when.param, " is missing"])]

result("matches", when, strict) := [regex.match(when.matches, v), concat("", [when.param, " matches ", when.matches])] if {
	v := aarm.param(when.param)
	is_string(v)
} else := [false, concat("", [when.param, " is missing"])] if {
	not present_param(when.param)
} else := [strict, concat("", [when.param, " ", unreadable(when.param, "a string"), ", counted as matching ", when.matches])]

result("not_matches", when, strict) := [regex.match(when.not_matches, v) == false, concat("", [when.param, " does not match ", when.not_matches])] if {
	v := aarm.param(when.param)
	is_string(v)
} else := [false, concat("", [when.param, " is missing"])] if {
	not present_param(when.param)
} else := [strict, concat("", [when.param, " ", unreadable(when.param, "a string"), ", counted as not matching ", when.not_matches])]

result("present", when, _) := [is_present(when.param) == when.present, concat(" ", [when.param, presence[when.present]])]

presence := {true: "present", false: "absent"}

compare("above", n, limit) := n > limit

compare("at_least", n, limit) := n >= limit

compare("below", n, limit) := n < limit

compare("at_most", n, limit) := n <= limit

# present_param(name): the parameter's value; undefined when it is missing or null.
present_param(name) := v if {
	v := aarm.param(name)
	v != null
}

is_present(name) if {
	present_param(name)
} else := false

# unreadable(name, what): why the parameter cannot be read as `what` ("a number").
unreadable(name, what) := "missing" if {
	not present_param(name)
} else := concat(" ", ["not", what])

# number_of(name): the parameter read as a number. A parameter of kind amount is
# read from input.flow.amount (the service's reading of "1,200.50 EUR",
# {"amount": 1200.5, "currency": "EUR"}, ...) when there is one, else as a number
# or {"amount": n}; any other parameter only as a number. Undefined otherwise.
number_of(name) := n if {
	amount_param(name)
	n := aarm.flow_amount.value
} else := n if {
	n := aarm.param(name)
	is_number(n)
} else := n if {
	amount_param(name)
	n := aarm.param(name).amount
	is_number(n)
}

# amount_param(name): the catalogue, or the service's flow analysis, gives the
# parameter the kind amount.
amount_param(name) if aarm.parameter_kind(aarm.catalog_entry, name) == "amount"

amount_param(name) if {
	some v in aarm.flow_values
	v.param == name
	v.kind == "amount"
}

# in_list(list, v): v is one of the list (strings trimmed and case-insensitively); an
# array value: each of its items is.
in_list(list, v) := count([x | some x in v; not one_listed(list, x)]) == 0 if {
	is_array(v)
} else := one_listed(list, v)

one_listed(list, x) if {
	some y in list
	same_value(x, y)
} else := false

same_value(x, x)

same_value(x, y) if {
	is_string(x)
	is_string(y)
	lower(trim_space(x)) == lower(trim_space(y))
}

# shown(list): the listed values for a reason, at most five of them.
shown(list) := concat(", ", [text(x) | some x in list]) if {
	count(list) <= 5
} else := concat("", [concat(", ", [text(x) | some x in array.slice(list, 0, 5)]), " and ", format_int(count(list) - 5, 10), " more"])

text(x) := x if {
	is_string(x)
} else := json.marshal(x)

# num(n): a number for a reason; whole numbers without an exponent (1e6 -> 1000000).
num(n) := format_int(n, 10) if {
	aarm.whole(n)

	# format_int fails in WASM past 32 bits (the evaluation error was a 503 for any amount
	# from 2^31 up); sprintf prints those without an exponent all the same.
	abs(n) < 2147483648
} else := sprintf("%v", [n])

# --- the information flow (input.flow, read through the core library's flow helpers) ---

result("destination", when, _) := [false, ""] if {
	not aarm.has_flow
} else := [count(outside_items) > 0, concat("; ", sort(outside_items))] if {
	when.destination == "outside"
} else := [all_inside, "every destination inside"] if {
	when.destination == "inside"
} else := [count(unregistered_items) > 0, concat("; ", sort(unregistered_items))]

result("origin", _, _) := [count(untrusted_items) > 0, concat("; ", sort(untrusted_items))]

result("analysis", when, _) := [count(flagged) > 0, concat("; ", sort(flagged))] if {
	flagged := {t | some [flag, t] in flagged_items; flag == when.analysis}
}

result("fact", when, _) := [fact_is(when.fact, expected), concat("", ["fact ", when.fact, " is ", text(expected)])] if {
	expected := object.get(when, "equals", true)
}

result("session", _, strict) := [false, ""] if {
	not aarm.has_flow
} else := [true, concat("", ["the session has read untrusted content", untrusted_sources_text])] if {
	aarm.flow_session.integrity == "untrusted"
} else := [false, ""] if {
	aarm.flow_session.integrity == "trusted"
} else := [strict, "the session's integrity is unknown, counted as untrusted"]

# outside_items: each destination outside the organisation ("to: domain evil.io is
# outside the organisation"), and each that could not be read ("cc unreadable"). A
# destination is outside unless the flow says inside: true (fail closed).
outside_items contains value_text(v, "is outside") if {
	some v in aarm.destinations
	object.get(v, "inside", null) != true
}

outside_items contains concat(" ", [p, "unreadable"]) if {
	some p in aarm.flow_unreadable
}

# all_inside: there is a destination, and every one is inside.
default all_inside := false

all_inside if {
	count(aarm.destinations) > 0
	count(outside_items) == 0
}

# unregistered_items: each account or payee destination that is neither inside (an
# own account) nor registered (the payee register).
unregistered_items contains value_text(v, "is unregistered") if {
	some v in aarm.destinations
	v.kind in aarm.money_kinds
	object.get(v, "inside", null) != true
	object.get(v, "registered", null) != true
}

# untrusted_items: each value (other than free text) that came from untrusted content.
untrusted_items contains concat(" ", [aarm.value_path(v), aarm.origin_label(v)]) if {
	some v in aarm.flow_values
	object.get(v, "kind", null) != "text"
	v.origin == "untrusted"
}

# flagged_items: [flag, text] for each flag of the SQL and command analysis.
flagged_items contains [flag, concat(" ", [aarm.value_path(v), "flagged", flag])] if {
	some v in aarm.flow_values
	is_array(v.flags)
	some flag in v.flags
	is_string(flag)
}

# value_text(v, fallback): the value's place and the service's reason for it.
value_text(v, fallback) := concat(": ", [aarm.value_path(v), v.reason]) if {
	is_string(v.reason)
} else := concat(" ", [aarm.value_path(v), fallback])

fact_is(name, expected) if {
	aarm.flow_facts[name] == expected
} else := false

untrusted_sources_text := concat("", [" from ", concat(", ", sort(sources))]) if {
	sources := {s | some s in aarm.flow_session.untrusted_sources; is_string(s)}
	count(sources) > 0
} else := ""

# ---------------------------------------------------------------------------
# Malformed entries: effect_problems(entry, i, e), a set of strings.
# ---------------------------------------------------------------------------

# The keys an effects entry may hold.
effect_keys := {
	"id", "when", "effect", "reason", "description", "priority", "risk",
	"approvers", "quorum", "four_eyes", "timeout_s", "patch", "context_needed", "forbidden",
}

# The keys that go with one effect only (companions), and the ones that go with any.
companion_keys := {"approvers", "quorum", "four_eyes", "timeout_s", "patch", "context_needed"}

effect_problems(entry, i, e) := {"it is not an object"} if {
	not is_object(e)
} else := ps if {
	ps := basic_problems(entry, i, e)
	count(ps) > 0
} else := {concat("", ["its finding would be malformed: ", aarm.problem(effect_base(entry, e))])} if {
	aarm.problem(effect_base(entry, e))
} else := set()

basic_problems(entry, i, e) := {p | some c in effect_checks; p := effect_problem(c, entry, i, e)} | when_problems(e)

effect_checks := ["keys", "id", "duplicate", "effect", "reason", "priority", "companions"]

effect_problem("keys", _, _, e) := concat("", ["unknown key ", concat(", ", unknown)]) if {
	unknown := sort({k | some k, _ in e; not k in effect_keys})
	count(unknown) > 0
}

effect_problem("id", _, _, e) := "id is missing or not a non-empty string" if {
	not non_empty_string(e, "id")
}

effect_problem("duplicate", entry, i, e) := concat("", ["id ", e.id, " is used by another effects entry"]) if {
	non_empty_string(e, "id")
	some j, other in entry.effects
	j != i
	other.id == e.id
}

effect_problem("effect", _, _, e) := "effect is missing or not one of ALLOW, DENY, MODIFY, STEP_UP, DEFER" if {
	not aarm.valid_effect(e)
}

effect_problem("reason", _, _, e) := "reason is missing or not a string" if {
	not aarm.string_field(e, "reason")
}

effect_problem("priority", _, _, e) := "priority is not a number nor one of baseline, context, compositional" if {
	aarm.has_key(e, "priority")
	not aarm.number_field(e, "priority")
	not aarm.priority[e.priority]
}

effect_problem("companions", _, _, e) := concat("", [concat(", ", extra), " cannot go with effect ", e.effect]) if {
	aarm.valid_effect(e)
	extra := sort({k | some k, _ in e; k in companion_keys; not k in companions[e.effect]})
	count(extra) > 0
}

non_empty_string(obj, k) if {
	is_string(obj[k])
	obj[k] != ""
}

# when_problems(e): what is wrong with the entry's "when".
when_problems(e) := {"when is missing or not an object"} if {
	not aarm.object_field(e, "when")
} else := {"when holds no test"} if {
	count(tests_of(e.when)) == 0
	count({k | some k, _ in e.when; not k in when_keys}) == 0
} else := {concat("", ["when: ", p]) | some c in when_checks; p := when_problem(c, e.when)}

# The keys of "when": its tests, and their arguments.
when_keys := {t | some t in when_tests} | {"param", "equals"}

when_checks := [
	"keys", "param", "param_test", "comparisons", "lists", "patterns", "present",
	"destination", "origin", "fact", "equals", "analysis", "session",
]

when_problem("keys", when) := concat("", ["unknown test ", concat(", ", unknown)]) if {
	unknown := sort({k | some k, _ in when; not k in when_keys})
	count(unknown) > 0
}

when_problem("param", when) := "param is missing or not a non-empty string" if {
	some k, _ in when
	k in param_tests
	not non_empty_string(when, "param")
}

when_problem("param_test", when) := "param without a test of it (above, at_least, below, at_most, in, not_in, matches, not_matches, present)" if {
	aarm.has_key(when, "param")
	count({k | some k, _ in when; k in param_tests}) == 0
}

when_problem("comparisons", when) := concat("", [concat(", ", bad), " not a number"]) if {
	bad := sort({k | some k, _ in comparison_words; aarm.has_key(when, k); not aarm.number_field(when, k)})
	count(bad) > 0
}

when_problem("lists", when) := concat("", [concat(", ", bad), " not an array"]) if {
	bad := sort({k | some k in ["in", "not_in"]; aarm.has_key(when, k); not aarm.array_field(when, k)})
	count(bad) > 0
}

when_problem("patterns", when) := concat("", [concat(", ", bad), " not a valid regular expression"]) if {
	bad := sort({k | some k in ["matches", "not_matches"]; aarm.has_key(when, k); not valid_regex(when[k])})
	count(bad) > 0
}

when_problem("present", when) := "present is not a boolean" if {
	aarm.has_key(when, "present")
	not aarm.boolean_field(when, "present")
}

when_problem("destination", when) := "destination is not one of outside, inside, unregistered" if {
	aarm.has_key(when, "destination")
	not when.destination in {"outside", "inside", "unregistered"}
}

when_problem("origin", when) := "origin is not untrusted" if {
	aarm.has_key(when, "origin")
	when.origin != "untrusted"
}

when_problem("fact", when) := "fact is not a non-empty string" if {
	aarm.has_key(when, "fact")
	not non_empty_string(when, "fact")
}

when_problem("equals", when) := "equals without fact" if {
	aarm.has_key(when, "equals")
	not aarm.has_key(when, "fact")
}

when_problem("analysis", when) := "analysis is not one of destructive, privilege, remote_code" if {
	aarm.has_key(when, "analysis")
	not when.analysis in {"destructive", "privilege", "remote_code"}
}

when_problem("session", when) := "session is not untrusted" if {
	aarm.has_key(when, "session")
	when.session != "untrusted"
}

valid_regex(x) if {
	is_string(x)
	regex.is_valid(x)
}
