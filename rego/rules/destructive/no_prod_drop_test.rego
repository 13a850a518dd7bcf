# Tests of no_prod_drop.rego (aarm.rules.destructive), alone and through the real combiner.
# (Test packages stay outside aarm.rules, which the core library collects.)
package rules_test.destructive_no_prod_drop

drop(db) := {"action": {"tool": "db.drop", "operation": "delete", "parameters": {"database": db}}}

findings(inp) := fs if {
	fs := data.aarm.rules.destructive.findings with input as inp
}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

test_production_drop_is_forbidden if {
	findings(drop("production")) == {{
		"effect": "DENY",
		"forbidden": true,
		"policy_id": "no-prod-drop",
		"priority": 50,
		"reason": "dropping the production database is forbidden",
		"risk": "CRITICAL",
	}}
}

test_production_drop_decision_is_deny if {
	decision(drop("production")) == {
		"decision": "DENY",
		"reasons": [{
			"effect": "DENY",
			"policy_id": "no-prod-drop",
			"priority": 50,
			"reason": "dropping the production database is forbidden",
			"risk": "CRITICAL",
		}],
		"risk": "CRITICAL",
	}
}

test_spelling_variants_are_forbidden if {
	every db in ["Production", " PRODUCTION ", "production\n"] {
		d := decision(drop(db))
		d.decision == "DENY"
		d.reasons[0].policy_id == "no-prod-drop"
		d.risk == "CRITICAL"
	}
}

test_forbidden_even_when_something_allows_higher if {
	inp := drop("production")
	extra := {"effect": "ALLOW", "policy_id": "override", "reason": "r", "priority": 1000}
	d := data.aarm.decision with input as inp with data.aarm.rules.zz_override.findings as {extra}
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["no-prod-drop"]

	# the same override does decide a staging drop
	e := data.aarm.decision with input as drop("staging") with data.aarm.rules.zz_override.findings as {extra}
	e.reasons[0].policy_id == "override"
}

test_other_database_is_not_touched if {
	count(findings(drop("staging"))) == 0
	decision(drop("staging")).decision == "ALLOW"
}

test_other_tool_is_not_touched if {
	count(findings({"action": {"tool": "db.query", "parameters": {"database": "production", "limit": 1}}})) == 0
}

test_missing_or_garbled_database_denies if {
	every inp in [
		{"action": {"tool": "db.drop", "parameters": {}}},
		{"action": {"tool": "db.drop"}},
		drop(null),
		drop(["production"]),
		drop({"name": "production"}),
	] {
		d := decision(inp)
		d.decision == "DENY"
		d.reasons == [{
			"effect": "DENY",
			"policy_id": "no-prod-drop",
			"priority": 50,
			"reason": "db.drop must name its database as a string",
			"risk": "HIGH",
		}]
	}
}

test_zero_width_control_and_fullwidth_spellings_of_production_are_denied if {
	every spelled in ["production\u0000", "prod\u200buction", "ｐｒｏｄｕｃｔｉｏｎ"] {
		inp := {
			"action": {"tool": "db.drop", "parameters": {"database": spelled}},
			"flow": {"folded": {"/database": "production"}},
		}
		some f in data.aarm.rules.destructive.findings with input as inp
		f.policy_id == "no-prod-drop"
		f.forbidden == true
	}
}
