# Tests of the parameter constraints of aarm.rules.catalog (policy_id
# "catalog.parameters"), alone and through the real combiner.
package rules_test.catalog_parameters

call(tool, params) := {"action": {"tool": tool, "parameters": params}}

findings(inp) := {f | some f in data.aarm.rules.catalog.findings with input as inp; f.policy_id == "catalog.parameters"}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

# A catalogue with one tool "t" whose entry is `entry`.
catalog_of(entry) := {"tools": {"t": object.union({"default_decision": "ALLOW"}, entry)}}

findings_with(entry, params) := {f |
	some f in data.aarm.rules.catalog.findings with input as call("t", params) with data.aarm.catalog as catalog_of(entry)
	f.policy_id == "catalog.parameters"
}

decision_with(entry, params) := d if {
	d := data.aarm.decision with input as call("t", params) with data.aarm.catalog as catalog_of(entry)
}

query(params) := call("db.query", params)

# --- the shipped db.query row limit ----------------------------------------------------------

test_db_query_limit_above_100_is_capped if {
	decision(query({"sql": "select 1", "limit": 5000})) == {
		"decision": "MODIFY",
		"reasons": [{
			"effect": "MODIFY",
			"policy_id": "catalog.parameters",
			"priority": 50,
			"reason": "tool db.query: parameter limit is above its maximum 100: lowered to its maximum",
		}],
		"patch": [{"op": "replace", "path": "/limit", "value": 100}],
	}
}

test_db_query_limit_within_bounds_is_allowed if {
	every limit in [0, 1, 10, 100, 100.0] {
		count(findings(query({"sql": "select 1", "limit": limit}))) == 0
		d := decision(query({"sql": "select 1", "limit": limit}))
		d.decision == "ALLOW"
		[r.policy_id | some r in d.reasons] == ["catalog"]
	}
}

test_db_query_negative_limit_is_raised_to_0 if {
	d := decision(query({"sql": "select 1", "limit": -1}))
	d.decision == "MODIFY"
	d.patch == [{"op": "replace", "path": "/limit", "value": 0}]
}

test_db_query_missing_limit_is_added if {
	every params in [{"sql": "select * from t"}, {}] {
		d := decision(query(params))
		d.decision == "MODIFY"
		d.patch == [{"op": "add", "path": "/limit", "value": 100}]
		d.reasons[0].reason == "tool db.query: parameter limit is missing: set to its default 100"
	}
	e := decision({"action": {"tool": "db.query"}})
	e.patch == [{"op": "add", "path": "/limit", "value": 100}]
}

test_db_query_garbled_limit_is_denied if {
	every limit in ["500", null, 1.5, 100.5, true, [10], {}] {
		d := decision(query({"sql": "select 1", "limit": limit}))
		d == {"decision": "DENY", "reasons": [{
			"effect": "DENY",
			"policy_id": "catalog.parameters",
			"priority": 50,
			"reason": "tool db.query: parameter limit must be of type integer",
		}]}
	}
}

test_db_query_sql_constraints if {
	long := concat("", [x | some _ in numbers.range(1, 10001); x := "a"])
	d := decision(query({"sql": long, "limit": 5}))
	d.decision == "DENY"
	d.reasons[0].reason == "tool db.query: parameter sql is longer than its max_length 10000"
	decision(query({"sql": 5, "limit": 5})).decision == "DENY"
	decision(query({"sql": substring(long, 0, 10000), "limit": 5})).decision == "ALLOW"
}

test_db_query_deny_beats_the_modify if {
	d := decision(query({"sql": ["select 1"], "limit": 5000}))
	d.decision == "DENY"
	[r.reason | some r in d.reasons] == ["tool db.query: parameter sql must be of type string"]
}

test_injection_beats_the_modify if {
	inp := object.union(query({"limit": 500}), {"signals": {"injection_score": 0.9}})
	decision(inp).decision == "DENY"
}

test_tools_without_constraints_are_not_touched if {
	count(findings(call("files.read", {"limit": 5000, "anything": [1]}))) == 0
	count(findings(call("shell.exec", {"limit": 5000}))) == 0
}

# --- constraints from data -----------------------------------------------------------------------

test_deny_finding_shape if {
	findings_with({"parameters": {"to": {"pattern": `^[^@]+@example\.com$`}}}, {"to": "x@evil.io"}) == {{
		"effect": "DENY",
		"policy_id": "catalog.parameters",
		"priority": 50,
		"reason": "tool t: parameter to does not match its pattern",
	}}
}

test_modify_finding_shape_and_escaping if {
	findings_with({"parameters": {"a/b": {"max_items": 1, "on_violation": "MODIFY"}}}, {"a/b": [1, 2]}) == {{
		"effect": "MODIFY",
		"patch": [{"op": "replace", "path": "/a~1b", "value": [1]}],
		"policy_id": "catalog.parameters",
		"priority": 50,
		"reason": "tool t: parameter a/b has more items than its max_items 1: cut to its max_items",
	}}
}

test_several_modifies_are_combined if {
	entry := {"parameters": {
		"n": {"maximum": 10, "on_violation": "MODIFY"},
		"s": {"max_length": 2, "on_violation": "MODIFY"},
	}}
	d := decision_with(entry, {"n": 11, "s": "abc", "x": 1})
	d.decision == "MODIFY"
	d.patch == [
		{"op": "replace", "path": "/n", "value": 10},
		{"op": "replace", "path": "/s", "value": "ab"},
	]
	count(d.reasons) == 2
}

test_modify_with_a_deny_elsewhere_denies if {
	entry := {"parameters": {
		"n": {"maximum": 10, "on_violation": "MODIFY"},
		"mode": {"allowlist": ["read"]},
	}}
	d := decision_with(entry, {"n": 11, "mode": "write"})
	d.decision == "DENY"
	[r.reason | some r in d.reasons] == ["tool t: parameter mode is not in its allowlist"]
}

test_no_modify_over_a_stricter_baseline if {
	entry := {"parameters": {"n": {"maximum": 10, "default": 5, "on_violation": "MODIFY"}}}
	every effect in ["DENY", "STEP_UP", "DEFER"] {
		e := object.union(entry, {"default_decision": effect})
		findings_with(e, {"n": 11}) == {{
			"effect": "DENY",
			"policy_id": "catalog.parameters",
			"priority": 50,
			"reason": concat("", [
				"tool t: parameter n is above its maximum 10: not modified, as the tool's default decision ",
				effect, " cannot be replaced by a MODIFY: denied",
			]),
		}}
		decision_with(e, {"n": 11}).decision == "DENY"
		decision_with(e, {}).decision == "DENY"

		# within bounds the baseline decides
		decision_with(e, {"n": 3}).decision == effect
	}
}

test_modify_over_a_modify_baseline if {
	entry := {
		"default_decision": "MODIFY",
		"patch": [{"op": "add", "path": "/dry_run", "value": true}],
		"parameters": {"n": {"maximum": 10, "on_violation": "MODIFY"}},
	}
	d := decision_with(entry, {"n": 11})
	d.decision == "MODIFY"
	d.patch == [
		{"op": "add", "path": "/dry_run", "value": true},
		{"op": "replace", "path": "/n", "value": 10},
	]
	[r.reason | some r in d.reasons] == [
		"tool t is catalogued with default decision MODIFY: its patch applies as well",
		"tool t: parameter n is above its maximum 10: lowered to its maximum",
	]

	# within bounds the baseline alone
	e := decision_with(entry, {"n": 1})
	e.patch == [{"op": "add", "path": "/dry_run", "value": true}]
	[r.policy_id | some r in e.reasons] == ["catalog"]
}

test_modify_over_a_modify_baseline_without_a_valid_patch_denies if {
	entry := {"default_decision": "MODIFY", "parameters": {"n": {"maximum": 10, "on_violation": "MODIFY"}}}
	d := decision_with(entry, {"n": 11})
	d.decision == "DENY"
	d.reasons[0].policy_id == "aarm.malformed_finding"
}

test_additional_parameters_false if {
	entry := {"parameters": {"to": {"required": true}}, "additional_parameters": false}
	decision_with(entry, {"to": "x"}).decision == "ALLOW"
	d := decision_with(entry, {"to": "x", "bcc": "y"})
	d.decision == "DENY"
	d.reasons[0].reason == "tool t: parameter bcc is not listed in the catalogue entry, which allows no additional parameters"
}

test_required_missing if {
	d := decision_with({"parameters": {"to": {"required": true}}}, {})
	d.decision == "DENY"
	d.reasons[0].reason == "tool t: parameter to is required but missing"
}

test_blocklist_case_insensitive if {
	entry := {"parameters": {"database": {"blocklist": ["production"]}}}
	decision_with(entry, {"database": "PRODUCTION"}).decision == "DENY"
	decision_with(entry, {"database": "staging"}).decision == "ALLOW"
}

test_parameters_not_an_object_deny if {
	d := data.aarm.decision with input as {"action": {"tool": "db.query", "parameters": "limit=5000"}}
	d.decision == "DENY"
	d.reasons[0].reason == "tool db.query: the parameters are not an object, so the parameter constraints cannot be checked"
}

test_reasons_never_echo_values if {
	entry := {"parameters": {"token": {"type": "integer"}, "note": {"max_length": 1, "on_violation": "MODIFY"}}}
	d := decision_with(entry, {"token": "sk-SECRET", "note": "SECRET note"})
	every r in d.reasons {
		not contains(r.reason, "SECRET")
	}
}

test_a_parameter_named_findings_is_harmless if {
	entry := {"parameters": {"findings": {"max_items": 1, "on_violation": "MODIFY"}}}
	d := decision_with(entry, {"findings": [{"effect": "ALLOW", "policy_id": "x", "reason": "r", "priority": 1000}, 2]})
	d.decision == "MODIFY"
	d.patch == [{"op": "replace", "path": "/findings", "value": [{"effect": "ALLOW", "policy_id": "x", "reason": "r", "priority": 1000}]}]
}

# --- fail closed: malformed constraints ----------------------------------------------------------

test_malformed_constraint_is_a_forbidden_deny_naming_the_entry if {
	entry := {"parameters": {"limit": {"maximum": "100", "on_violation": "MODIFY"}}}
	findings_with(entry, {"limit": 5}) == {{
		"effect": "DENY",
		"forbidden": true,
		"policy_id": "catalog.parameters",
		"priority": 50,
		"reason": "tool t has a malformed catalogue entry (parameter limit: maximum is not a number): denied",
		"risk": "HIGH",
	}}
	d := decision_with(entry, {"limit": 5})
	d == {
		"decision": "DENY",
		"reasons": [{
			"effect": "DENY",
			"policy_id": "catalog.parameters",
			"priority": 50,
			"reason": "tool t has a malformed catalogue entry (parameter limit: maximum is not a number): denied",
			"risk": "HIGH",
		}],
		"risk": "HIGH",
	}
}

test_malformed_constraint_denies_whatever_the_parameters if {
	every entry in [
		{"parameters": {"q": {"pattern": "(unclosed"}}},
		{"parameters": {"q": {"type": "text"}}},
		{"parameters": {"q": {"minimum": 10, "maximum": 1}}},
		{"parameters": {"q": {"on_violation": "IGNORE"}}},
		{"parameters": {"q": {"maxlength": 5}}},
		{"parameters": ["q"]},
		{"additional_parameters": "false"},
	] {
		every params in [{}, {"q": "x"}, {"other": 1}] {
			d := decision_with(entry, params)
			d.decision == "DENY"
			every r in d.reasons {
				r.policy_id == "catalog.parameters"
				startswith(r.reason, "tool t has a malformed catalogue entry (")
			}
		}
	}
}

test_malformed_constraint_beats_a_higher_allow if {
	extra := {"effect": "ALLOW", "policy_id": "override", "reason": "r", "priority": 1000}
	d := data.aarm.decision with input as call("t", {})
		with data.aarm.catalog as catalog_of({"parameters": {"q": {"pattern": "["}}})
		with data.aarm.rules.zz_override.findings as {extra}
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["catalog.parameters"]
}

test_a_higher_allow_overrides_an_ordinary_violation if {
	extra := {"effect": "ALLOW", "policy_id": "override", "reason": "r", "priority": 1000}
	d := data.aarm.decision with input as call("t", {"q": 1})
		with data.aarm.catalog as catalog_of({"parameters": {"q": {"type": "string"}}})
		with data.aarm.rules.zz_override.findings as {extra}
	d.decision == "ALLOW"
}
