# Tests of the parameter-constraint helpers of the core library:
# parameter_problems (malformed constraints) and parameter_violations.
package aarm_parameters_test

import data.aarm

# The entry with one constrained parameter "p".
one(spec) := {"parameters": {"p": spec}}

# The violations of parameter "p" with the value v.
check(spec, v) := aarm.parameter_violations(one(spec), {"p": v})

# The [constraint, effect] pairs of the violations.
kinds(vs) := {[v.constraint, v.effect] | some v in vs}

denies(spec, v, constraint) if [constraint, "DENY"] in kinds(check(spec, v))

passes(spec, v) if count(check(spec, v)) == 0

# --- type ----------------------------------------------------------------------------

test_type_accepts_its_values if {
	every t, vs in {
		"string": ["", "x"],
		"number": [0, -1.5, 1e3],
		"integer": [0, -7, 100, 5.0],
		"boolean": [true, false],
		"array": [[], [1, "a"]],
		"object": [{}, {"a": 1}],
	} {
		every v in vs {
			passes({"type": t}, v)
		}
	}
}

test_type_rejects_other_values if {
	every t, vs in {
		"string": [1, null, true, ["x"], {}],
		"number": ["1", null, false, [1]],
		"integer": [1.5, "1", null, -0.1],
		"boolean": ["true", 0, null],
		"array": ["[]", {}, null],
		"object": [[], "{}", null],
	} {
		every v in vs {
			check({"type": t}, v) == {{
				"constraint": "type",
				"effect": "DENY",
				"message": concat("", ["parameter p must be of type ", t]),
				"parameter": "p",
			}}
		}
	}
}

test_type_violation_is_a_deny_even_with_modify if {
	check({"type": "integer", "maximum": 10, "on_violation": "MODIFY"}, "500") == {{
		"constraint": "type",
		"effect": "DENY",
		"message": "parameter p must be of type integer",
		"parameter": "p",
	}}
}

# --- required ---------------------------------------------------------------------------

test_required_missing_denies if {
	aarm.parameter_violations(one({"required": true}), {"q": 1}) == {{
		"constraint": "required",
		"effect": "DENY",
		"message": "parameter p is required but missing",
		"parameter": "p",
	}}
}

test_required_null_denies if {
	check({"required": true}, null) == {{
		"constraint": "required",
		"effect": "DENY",
		"message": "parameter p is required but null",
		"parameter": "p",
	}}
}

test_required_present_passes if {
	passes({"required": true}, "")
	passes({"required": true}, false)
	passes({"required": true}, 0)
}

test_required_even_with_modify if {
	vs := aarm.parameter_violations(one({"required": true, "on_violation": "MODIFY"}), {})
	kinds(vs) == {["required", "DENY"]}
}

test_not_required_missing_passes if {
	aarm.parameter_violations(one({"type": "string", "maximum": 1, "pattern": "^x$"}), {}) == set()
	aarm.parameter_violations(one({"required": false}), {}) == set()
}

test_missing_parameters_object_counts_as_empty if {
	aarm.parameter_violations(one({"type": "string"}), null) == set()
	kinds(aarm.parameter_violations(one({"required": true}), null)) == {["required", "DENY"]}
}

# --- minimum / maximum ---------------------------------------------------------------------

test_bounds_deny_by_default if {
	check({"minimum": 0, "maximum": 100}, 101) == {{
		"constraint": "maximum",
		"effect": "DENY",
		"message": "parameter p is above its maximum 100",
		"parameter": "p",
	}}
	check({"minimum": 0.5, "maximum": 100}, 0) == {{
		"constraint": "minimum",
		"effect": "DENY",
		"message": "parameter p is below its minimum 0.5",
		"parameter": "p",
	}}
	denies({"maximum": 100, "on_violation": "DENY"}, 100.01, "maximum")
}

test_bounds_inclusive if {
	every v in [0, 50, 100, 99.9] {
		passes({"minimum": 0, "maximum": 100}, v)
	}
}

test_bounds_modify_replaces_with_the_bound if {
	check({"type": "integer", "minimum": 0, "maximum": 100, "on_violation": "MODIFY"}, 5000) == {{
		"constraint": "maximum",
		"effect": "MODIFY",
		"message": "parameter p is above its maximum 100",
		"modification": "lowered to its maximum",
		"parameter": "p",
		"patch": [{"op": "replace", "path": "/p", "value": 100}],
	}}
	check({"type": "integer", "minimum": 0, "maximum": 100, "on_violation": "MODIFY"}, -3) == {{
		"constraint": "minimum",
		"effect": "MODIFY",
		"message": "parameter p is below its minimum 0",
		"modification": "raised to its minimum",
		"parameter": "p",
		"patch": [{"op": "replace", "path": "/p", "value": 0}],
	}}
}

test_bounds_on_a_non_number_deny if {
	every v in ["5", null, [1], {}, true] {
		check({"maximum": 10, "on_violation": "MODIFY"}, v) == {{
			"constraint": "maximum",
			"effect": "DENY",
			"message": "parameter p is not a number, so its maximum cannot be checked",
			"parameter": "p",
		}}
		denies({"minimum": 10}, v, "minimum")
	}
}

# --- pattern ---------------------------------------------------------------------------------

test_pattern_must_match if {
	passes({"pattern": `^[a-z]+$`}, "abc")
	check({"pattern": `^[a-z]+$`}, "abc1") == {{
		"constraint": "pattern",
		"effect": "DENY",
		"message": "parameter p does not match its pattern",
		"parameter": "p",
	}}
}

test_pattern_is_not_anchored_for_you if {
	passes({"pattern": `[a-z]+`}, "1a1")
}

test_pattern_on_a_non_string_denies if {
	every v in [1, null, ["abc"]] {
		denies({"pattern": `^[a-z]+$`, "on_violation": "MODIFY"}, v, "pattern")
	}
}

# --- allowlist / blocklist ----------------------------------------------------------------------

test_allowlist if {
	passes({"allowlist": ["a", 1, null]}, "a")
	passes({"allowlist": ["a", 1, null]}, 1.0)
	passes({"allowlist": ["a", 1, null]}, null)
	check({"allowlist": ["a"]}, "A") == {{
		"constraint": "allowlist",
		"effect": "DENY",
		"message": "parameter p is not in its allowlist",
		"parameter": "p",
	}}
	denies({"allowlist": []}, "a", "allowlist")
	denies({"allowlist": ["a"], "on_violation": "MODIFY"}, "b", "allowlist")
}

test_allowlist_checks_each_item_of_an_array if {
	passes({"allowlist": ["a", "b"]}, ["a", "b", "a"])
	passes({"allowlist": ["a", "b"]}, [])
	check({"allowlist": ["a", "b"]}, ["a", "c"]) == {{
		"constraint": "allowlist",
		"effect": "DENY",
		"message": "parameter p holds a value that is not in its allowlist",
		"parameter": "p",
	}}
}

test_blocklist_exact_and_case_insensitive if {
	every v in ["drop", "DROP", " Drop ", "drop\n"] {
		check({"blocklist": ["drop"]}, v) == {{
			"constraint": "blocklist",
			"effect": "DENY",
			"message": "parameter p is in its blocklist",
			"parameter": "p",
		}}
	}
	denies({"blocklist": [" DROP "]}, "drop", "blocklist")
	denies({"blocklist": [0, null]}, 0, "blocklist")
	passes({"blocklist": ["drop"]}, "drops")
	passes({"blocklist": [0]}, "0")
}

test_blocklist_checks_each_item_of_an_array if {
	denies({"blocklist": ["root"]}, ["alice", "ROOT"], "blocklist")
	passes({"blocklist": ["root"]}, ["alice"])
}

# --- max_length / max_items -----------------------------------------------------------------------

test_max_length if {
	passes({"max_length": 3}, "abc")
	passes({"max_length": 3}, "äöü")
	check({"max_length": 3}, "abcd") == {{
		"constraint": "max_length",
		"effect": "DENY",
		"message": "parameter p is longer than its max_length 3",
		"parameter": "p",
	}}
	check({"max_length": 3, "on_violation": "MODIFY"}, "äöüx") == {{
		"constraint": "max_length",
		"effect": "MODIFY",
		"message": "parameter p is longer than its max_length 3",
		"modification": "truncated to its max_length",
		"parameter": "p",
		"patch": [{"op": "replace", "path": "/p", "value": "äöü"}],
	}}
	denies({"max_length": 3, "on_violation": "MODIFY"}, ["abcd"], "max_length")
}

test_max_items if {
	passes({"max_items": 2}, [1, 2])
	denies({"max_items": 2}, [1, 2, 3], "max_items")
	check({"max_items": 2, "on_violation": "MODIFY"}, [1, 2, 3]) == {{
		"constraint": "max_items",
		"effect": "MODIFY",
		"message": "parameter p has more items than its max_items 2",
		"modification": "cut to its max_items",
		"parameter": "p",
		"patch": [{"op": "replace", "path": "/p", "value": [1, 2]}],
	}}
	check({"max_items": 0, "on_violation": "MODIFY"}, ["x"]) == {{
		"constraint": "max_items",
		"effect": "MODIFY",
		"message": "parameter p has more items than its max_items 0",
		"modification": "cut to its max_items",
		"parameter": "p",
		"patch": [{"op": "replace", "path": "/p", "value": []}],
	}}
	denies({"max_items": 2, "on_violation": "MODIFY"}, "abc", "max_items")
}

# --- the replaced value is checked again -------------------------------------------------------------

test_truncated_value_checked_against_pattern_and_blocklist if {
	# "abc1" is fine, "abc" would break the pattern
	vs := check({"max_length": 3, "pattern": `^.*[0-9]$`, "on_violation": "MODIFY"}, "abc1")
	kinds(vs) == {["max_length", "MODIFY"], ["pattern", "DENY"]}
	some v in vs
	v.constraint == "pattern"
	v.message == "parameter p does not match its pattern once modified to fit its bounds"

	# cut down to a blocked word
	kinds(check({"max_length": 4, "blocklist": ["drop"], "on_violation": "MODIFY"}, "DROP TABLE")) == {["max_length", "MODIFY"], ["blocklist", "DENY"]}
}

test_clamped_value_checked_against_allowlist if {
	kinds(check({"maximum": 100, "allowlist": [5, 500], "on_violation": "MODIFY"}, 500)) == {["maximum", "MODIFY"], ["allowlist", "DENY"]}
}

test_a_violation_of_the_original_is_not_reported_twice if {
	vs := check({"max_length": 3, "pattern": `^[a-z]+$`, "on_violation": "MODIFY"}, "ab12")
	kinds(vs) == {["max_length", "MODIFY"], ["pattern", "DENY"]}
	count(vs) == 2
}

# --- default ---------------------------------------------------------------------------------------------

test_default_adds_a_missing_parameter if {
	aarm.parameter_violations(one({"type": "integer", "maximum": 100, "default": 100}), {"q": 1}) == {{
		"constraint": "default",
		"effect": "MODIFY",
		"message": "parameter p is missing",
		"modification": "set to its default 100",
		"parameter": "p",
		"patch": [{"op": "add", "path": "/p", "value": 100}],
	}}
}

test_default_does_not_touch_a_present_parameter if {
	passes({"type": "integer", "maximum": 100, "default": 100}, 5)
	denies({"type": "integer", "maximum": 100, "default": 100}, null, "type")
}

# --- additional_parameters ----------------------------------------------------------------------------------

test_additional_parameters_false_denies_unlisted if {
	entry := {"parameters": {"a": {}}, "additional_parameters": false}
	aarm.parameter_violations(entry, {"a": 1, "b": 2}) == {{
		"constraint": "additional_parameters",
		"effect": "DENY",
		"message": "parameter b is not listed in the catalogue entry, which allows no additional parameters",
		"parameter": "b",
	}}
	aarm.parameter_violations(entry, {"a": 1}) == set()
	count(aarm.parameter_violations({"additional_parameters": false}, {"x": 1, "y": 2})) == 2
}

test_additional_parameters_true_or_absent_allows_unlisted if {
	aarm.parameter_violations({"parameters": {"a": {}}, "additional_parameters": true}, {"b": 2}) == set()
	aarm.parameter_violations({"parameters": {"a": {}}}, {"b": 2}) == set()
}

# --- parameters that are not an object ------------------------------------------------------------------

test_parameters_not_an_object_deny_when_constrained if {
	every params in ["a=1", [1], 5, true] {
		aarm.parameter_violations(one({"type": "string"}), params) == {{
			"constraint": "parameters",
			"effect": "DENY",
			"message": "the parameters are not an object, so the parameter constraints cannot be checked",
			"parameter": "",
		}}
		count(aarm.parameter_violations({"additional_parameters": true}, params)) == 1
		aarm.parameter_violations({"operation": "read"}, params) == set()
	}
}

# --- several parameters, escaped names, no value echoed --------------------------------------------------

test_several_parameters_and_escaped_pointer if {
	entry := {"parameters": {
		"a/b": {"maximum": 1, "on_violation": "MODIFY"},
		"c~d": {"type": "string"},
		"e": {"required": true},
	}}
	vs := aarm.parameter_violations(entry, {"a/b": 2, "c~d": 3})
	vs == {
		{
			"constraint": "maximum",
			"effect": "MODIFY",
			"message": "parameter a/b is above its maximum 1",
			"modification": "lowered to its maximum",
			"parameter": "a/b",
			"patch": [{"op": "replace", "path": "/a~1b", "value": 1}],
		},
		{"constraint": "type", "effect": "DENY", "message": "parameter c~d must be of type string", "parameter": "c~d"},
		{"constraint": "required", "effect": "DENY", "message": "parameter e is required but missing", "parameter": "e"},
	}
}

test_messages_never_echo_the_value if {
	secret := "sk-live-SECRET-123"
	every spec in [
		{"type": "integer"}, {"maximum": 1}, {"pattern": "^x$"}, {"allowlist": ["a"]},
		{"blocklist": [secret]}, {"max_length": 2}, {"max_length": 2, "on_violation": "MODIFY"},
		{"max_items": 0},
	] {
		vs := check(spec, secret)
		count(vs) > 0
		every v in vs {
			not contains(v.message, "SECRET")
		}
	}
}

test_no_constraints_no_violations if {
	aarm.parameter_violations({}, {"a": 1}) == set()
	aarm.parameter_violations({"parameters": {}}, {"a": 1}) == set()
	aarm.parameter_violations(one({}), {"p": "anything"}) == set()
	aarm.parameter_violations(one({"description": "the row limit"}), {"p": 1}) == set()
}

# --- malformed constraints: parameter_problems ----------------------------------------------------------------

problems(spec) := aarm.parameter_problems(one(spec))

test_well_formed_constraints_have_no_problems if {
	every spec in [
		{},
		{"type": "integer", "minimum": 0, "maximum": 100, "default": 100, "on_violation": "MODIFY"},
		{"type": "string", "required": true, "max_length": 0, "pattern": "^a+$", "description": "x"},
		{"type": "array", "max_items": 3, "allowlist": ["a"], "blocklist": []},
		{"minimum": 1.5, "maximum": 1.5, "on_violation": "DENY"},
		{"type": "number", "minimum": -0.5},
		{"type": "boolean", "allowlist": [true]},
	] {
		problems(spec) == set()
	}
	aarm.parameter_problems({"operation": "read"}) == set()
	aarm.parameter_problems({"parameters": {}, "additional_parameters": false}) == set()
}

test_each_malformed_constraint_is_named if {
	every spec, problem in {
		{"maximum": "100"}: "maximum is not a number",
		{"minimum": null}: "minimum is not a number",
		{"minimum": 5, "maximum": 1}: "minimum is above maximum",
		{"type": "integer", "maximum": 10.5}: "minimum and maximum must be whole numbers for type integer",
		{"type": "int"}: "type is not one of string, number, integer, boolean, array, object",
		{"type": ["string"]}: "type is not one of string, number, integer, boolean, array, object",
		{"required": "yes"}: "required is not a boolean",
		{"pattern": "("}: "pattern is not a valid regular expression",
		{"pattern": 5}: "pattern is not a valid regular expression",
		{"allowlist": "a"}: "allowlist is not an array",
		{"blocklist": {"a": 1}}: "blocklist is not an array",
		{"max_length": -1}: "max_length is not a whole number of at least 0",
		{"max_length": 2.5}: "max_length is not a whole number of at least 0",
		{"max_items": "3"}: "max_items is not a whole number of at least 0",
		{"on_violation": "modify"}: "on_violation is not DENY or MODIFY",
		{"on_violation": "TRUNCATE"}: "on_violation is not DENY or MODIFY",
		{"maxLength": 5, "Required": true}: "unknown constraint Required, maxLength",
		{"type": "string", "maximum": 5, "max_items": 1}: "max_items, maximum cannot apply to type string",
		{"type": "integer", "pattern": "^1$"}: "pattern cannot apply to type integer",
		{"required": true, "default": 1}: "default cannot be given for a required parameter",
		{"default": null}: "default is null",
		{"type": "integer", "maximum": 100, "default": 500}: "default does not satisfy the parameter's own constraints",
		{"type": "integer", "default": "100"}: "default does not satisfy the parameter's own constraints",
	} {
		problems(spec) == {concat("", ["parameter p: ", problem])}
	}
}

test_constraints_not_an_object if {
	every spec in ["integer", null, [1], 5] {
		problems(spec) == {"parameter p: its constraints are not an object"}
	}
}

test_entry_level_problems if {
	aarm.parameter_problems({"parameters": ["limit"]}) == {"parameters is not an object"}
	aarm.parameter_problems({"parameters": "x"}) == {"parameters is not an object"}
	aarm.parameter_problems({"additional_parameters": "no"}) == {"additional_parameters is not a boolean"}
}

test_several_problems_are_all_reported if {
	aarm.parameter_problems({"parameters": {"a": {"maximum": "x"}, "b": {"pattern": "["}}, "additional_parameters": 0}) == {
		"additional_parameters is not a boolean",
		"parameter a: maximum is not a number",
		"parameter b: pattern is not a valid regular expression",
	}
}

test_the_shipped_catalogue_is_well_formed if {
	every _, entry in data.aarm.catalog.tools {
		aarm.parameter_problems(entry) == set()
	}
}

# --- kind, destination and path keys ------------------------------------------------------------------

test_kinds_and_destinations_are_well_formed if {
	every kind in aarm.parameter_kinds {
		problems({"kind": kind}) == set()
		problems({"kind": kind, "destination": true, "type": "string"}) == set()
		problems({"kind": kind, "destination": false}) == set()
	}
	count(aarm.parameter_kinds) == 13
}

test_a_bad_kind_or_destination_is_a_problem if {
	kinds := "account, amount, channel, command, currency, email, host, path, payee, principal, sql, text, url"
	every spec in [{"kind": "iban"}, {"kind": "EMAIL"}, {"kind": ["email"]}, {"kind": null}] {
		problems(spec) == {concat("", ["parameter p: kind is not one of ", kinds])}
	}
	every spec in [{"destination": "yes"}, {"destination": 1}, {"destination": null}] {
		problems(spec) == {"parameter p: destination is not a boolean"}
	}
}

test_kind_and_destination_constrain_nothing if {
	passes({"kind": "amount", "destination": true}, "not a number")
	passes({"kind": "email"}, 5)
	aarm.parameter_violations(one({"kind": "email", "destination": true}), {}) == set()
}

test_path_keys_may_say_kind_destination_and_description if {
	aarm.parameter_problems({"parameters": {
		"fields.payroll_iban": {"kind": "account", "destination": true, "description": "where pay goes"},
		"attendees[].email": {"kind": "email", "destination": true},
		"a.b[].c": {},
	}}) == set()
}

test_path_keys_with_constraints_are_a_problem if {
	aarm.parameter_problems({"parameters": {"fields.iban": {"kind": "account", "type": "string", "required": true}}}) == {
		"parameter fields.iban: a path may say only kind, destination and description, not required, type (constraints apply to top-level parameter names)",
	}
	aarm.parameter_problems({"parameters": {"attendees[].email": {"pattern": "^a"}}}) == {
		"parameter attendees[].email: a path may say only kind, destination and description, not pattern (constraints apply to top-level parameter names)",
	}

	# A bad kind on a path is named as on a name.
	aarm.parameter_problems({"parameters": {"x.y": {"destination": "no"}}}) == {"parameter x.y: destination is not a boolean"}
}

test_path_keys_list_their_top_level_parameter if {
	entry := {"parameters": {"fields.payroll_iban": {"kind": "account"}, "attendees[].email": {"kind": "email"}}, "additional_parameters": false}
	aarm.parameter_violations(entry, {"fields": {"payroll_iban": "DE89"}, "attendees": [{"email": "a@b.c"}]}) == set()
	kinds(aarm.parameter_violations(entry, {"fields": {}, "other": 1})) == {["additional_parameters", "DENY"]}
	aarm.top_name("fields.payroll_iban") == "fields"
	aarm.top_name("attendees[].email") == "attendees"
	aarm.top_name("to") == "to"
}

test_parameter_kind if {
	entry := {"parameters": {"amount": {"kind": "amount"}, "x": {"kind": "money"}, "y": {}}}
	aarm.parameter_kind(entry, "amount") == "amount"
	not aarm.parameter_kind(entry, "x")
	not aarm.parameter_kind(entry, "y")
	not aarm.parameter_kind({}, "amount")
}
