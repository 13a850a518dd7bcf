# Tests of aarm.rules.catalog_allow, alone and through the real combiner.
package rules_test.catalog_allow

call(tool) := {"action": {"tool": tool, "parameters": {}}}

findings(inp) := fs if {
	fs := data.aarm.rules.catalog_allow.findings with input as inp
}

test_catalogued_tool_is_allowed if {
	d := data.aarm.decision with input as call("email.send")
	d == {"decision": "ALLOW", "reasons": [{
		"effect": "ALLOW",
		"policy_id": "catalog-allow",
		"priority": 0,
		"reason": "tool email.send is in the catalogue of allowed tools",
	}]}
}

test_every_shipped_tool_gets_a_baseline_allow if {
	every tool in data.aarm.catalog.allowed_tools {
		fs := findings(call(tool))
		count(fs) == 1
		some f in fs
		f.effect == "ALLOW"
		f.priority == 0
	}
}

test_shipped_catalogue if {
	data.aarm.catalog.allowed_tools == ["db.query", "email.send", "files.read", "payments.transfer", "credentials.rotate", "db.drop"]
}

test_unknown_tool_is_default_deny if {
	count(findings(call("shell.exec"))) == 0
	d := data.aarm.decision with input as call("shell.exec")
	d.decision == "DENY"
	d["default"] == true
	d.reasons[0].policy_id == "aarm.default"
}

test_near_miss_names_are_not_allowed if {
	every tool in ["Email.send", "email.send ", "email", "email.send.x", ""] {
		count(findings(call(tool))) == 0
	}
}

test_missing_or_garbled_tool_is_default_deny if {
	every inp in [{}, {"action": {}}, {"action": {"tool": ["email.send"]}}, {"action": "email.send"}] {
		count(findings(inp)) == 0
		d := data.aarm.decision with input as inp
		d.decision == "DENY"
	}
}

test_no_catalogue_data_allows_nothing if {
	fs := data.aarm.rules.catalog_allow.findings with input as call("email.send") with data.aarm.catalog as {}
	count(fs) == 0
	d := data.aarm.decision with input as call("email.send") with data.aarm.catalog as {}
	d.decision == "DENY"
}

test_garbled_catalogue_allows_nothing if {
	fs := data.aarm.rules.catalog_allow.findings with input as call("email.send") with data.aarm.catalog.allowed_tools as "email.send"
	count(fs) == 0
}
