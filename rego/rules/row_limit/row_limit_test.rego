# Tests of aarm.rules.row_limit, alone and through the real combiner.
package rules_test.row_limit

query(params) := {"action": {"tool": "db.query", "operation": "read", "parameters": params}}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

replace := [{"op": "replace", "path": "/limit", "value": 100}]

test_limit_above_100_is_capped if {
	decision(query({"sql": "select * from t", "limit": 500})) == {
		"decision": "MODIFY",
		"reasons": [{
			"effect": "MODIFY",
			"policy_id": "row-limit",
			"priority": 50,
			"reason": "db.query limit capped at 100 rows",
		}],
		"patch": replace,
	}
}

test_limit_within_bounds_is_allowed if {
	every limit in [0, 1, 10, 100] {
		fs := data.aarm.rules.row_limit.findings with input as query({"limit": limit})
		count(fs) == 0
		decision(query({"limit": limit})).decision == "ALLOW"
	}
}

test_just_above_is_capped if {
	decision(query({"limit": 101})).patch == replace
	decision(query({"limit": 100.5})).patch == replace
}

test_garbled_limit_is_replaced if {
	every limit in ["500", null, -1, 1.5, true, [10], {}] {
		d := decision(query({"limit": limit}))
		d.decision == "MODIFY"
		d.patch == replace
	}
}

test_missing_limit_is_added if {
	d := decision(query({"sql": "select * from t"}))
	d.decision == "MODIFY"
	d.patch == [{"op": "add", "path": "/limit", "value": 100}]
	d.reasons[0].reason == "db.query without a limit: limit set to 100 rows"
}

test_missing_parameters_get_a_limit if {
	d := decision({"action": {"tool": "db.query"}})
	d.decision == "MODIFY"
	d.patch == [{"op": "add", "path": "/limit", "value": 100}]
}

test_other_tools_are_not_touched if {
	fs := data.aarm.rules.row_limit.findings with input as {"action": {"tool": "files.read", "parameters": {"limit": 5000}}}
	count(fs) == 0
}

test_injection_beats_the_modify if {
	inp := object.union(query({"limit": 500}), {"signals": {"injection_score": 0.9}})
	decision(inp).decision == "DENY"
}
