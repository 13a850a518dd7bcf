# Tests of aarm.rules.catalog, alone and through the real combiner.
# (Test packages stay outside aarm.rules, which the core library collects.)
package rules_test.catalog

call(tool) := {"action": {"tool": tool, "parameters": {}}}

findings(inp) := fs if {
	fs := data.aarm.rules.catalog.findings with input as inp
}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

# The catalogue with one tool "t" whose entry is `entry`.
one_tool(entry) := {"tools": {"t": entry}}

findings_with(entry) := fs if {
	fs := data.aarm.rules.catalog.findings with input as call("t") with data.aarm.catalog as one_tool(entry)
}

decision_with(entry) := d if {
	d := data.aarm.decision with input as call("t") with data.aarm.catalog as one_tool(entry)
}

levels := {"PUBLIC", "INTERNAL", "CONFIDENTIAL", "RESTRICTED"}

# --- the shipped catalogue ----------------------------------------------------------------

# A parameter of the kind that is a destination.
dest(kind) := {"kind": kind, "destination": true}

test_shipped_catalogue if {
	every entry in data.aarm.catalog.tools {
		is_string(entry.description)
	}
	{t: object.remove(e, {"description", "effects"}) | some t, e in data.aarm.catalog.tools} == {
		"db.query": {
			"operation": "read", "classification": "CONFIDENTIAL", "default_decision": "ALLOW", "egress": false,
			"parameters": {
				"limit": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100, "on_violation": "MODIFY"},
				"sql": {"kind": "sql", "type": "string", "max_length": 10000},
			},
		},
		"email.send": {
			"operation": "send", "classification": "PUBLIC", "default_decision": "ALLOW", "egress": true,
			"parameters": {"to": dest("email"), "cc": dest("email"), "bcc": dest("email")},
		},
		"files.read": {
			"operation": "read", "classification": "INTERNAL", "default_decision": "ALLOW", "egress": false,
			"parameters": {"path": {"kind": "path"}},
		},
		"payments.transfer": {
			"operation": "pay", "classification": "CONFIDENTIAL", "default_decision": "ALLOW", "egress": false,
			"approvers": ["finance"], "parameters": {"amount": {"kind": "amount"}, "to": dest("payee")},
		},
		"credentials.rotate": {"operation": "execute", "classification": "RESTRICTED", "default_decision": "ALLOW", "egress": false},
		"db.drop": {"operation": "delete", "classification": "RESTRICTED", "default_decision": "ALLOW", "egress": false},
		"http.post": {
			"operation": "send", "classification": "PUBLIC", "default_decision": "ALLOW", "egress": true,
			"parameters": {"url": dest("url")},
		},
	}
	{t: [x.id | some x in e.effects] | some t, e in data.aarm.catalog.tools; e.effects} == {"payments.transfer": ["large-transfer", "negative-transfer"]}

	# Common labels are mapped, so a catalogue that maps none still classifies what outcomes report.
	data.aarm.catalog.data_classes.public == "PUBLIC"
	data.aarm.catalog.data_classes.internal == "INTERNAL"
	data.aarm.catalog.data_classes.pii == "CONFIDENTIAL"
	data.aarm.catalog.data_classes.customer_data == "CONFIDENTIAL"
	data.aarm.catalog.data_classes.financial == "CONFIDENTIAL"
	data.aarm.catalog.data_classes.phi == "RESTRICTED"
	data.aarm.catalog.data_classes.payroll == "RESTRICTED"
	data.aarm.catalog.data_classes.secrets == "RESTRICTED"
	data.aarm.egress.allowed_domains == ["example.com"]
	data.aarm.org.domains == ["example.com"]
}

test_shipped_entries_are_well_formed if {
	every entry in data.aarm.catalog.tools {
		data.aarm.valid_operation(entry.operation)
		entry.classification in levels
		entry.default_decision in data.aarm.effects
		is_boolean(entry.egress)
		count(data.aarm.parameter_problems(entry)) == 0
	}
	every _, level in data.aarm.catalog.data_classes {
		level in levels
	}

	# No shipped entry, effect or limit is malformed, whatever the tool called.
	every tool, _ in data.aarm.catalog.tools {
		every f in findings(call(tool)) {
			not f.forbidden
		}
	}
}

test_the_old_allowlist_is_gone if {
	not data.aarm.catalog.allowed_tools
	not data.aarm.rules.catalog_allow
}

# --- baseline findings --------------------------------------------------------------------

test_catalogued_tool_is_allowed if {
	decision(call("email.send")) == {"decision": "ALLOW", "reasons": [{
		"effect": "ALLOW",
		"policy_id": "catalog",
		"priority": 0,
		"reason": "tool email.send is catalogued with default decision ALLOW",
	}]}
}

test_every_shipped_tool_gets_its_default_decision_at_baseline if {
	every tool, entry in data.aarm.catalog.tools {
		{f | some f in findings(call(tool)); f.policy_id == "catalog"} == {{
			"effect": entry.default_decision,
			"policy_id": "catalog",
			"priority": 0,
			"reason": concat("", ["tool ", tool, " is catalogued with default decision ", entry.default_decision]),
		}}
	}
}

test_default_decision_deny if {
	findings_with({"default_decision": "DENY"}) == {{
		"effect": "DENY",
		"policy_id": "catalog",
		"priority": 0,
		"reason": "tool t is catalogued with default decision DENY",
	}}
	decision_with({"default_decision": "DENY"}).decision == "DENY"
}

test_default_decision_step_up_takes_its_approvers if {
	d := decision_with({"default_decision": "STEP_UP", "approvers": ["security"], "timeout_s": 60, "egress": false})
	d == {
		"decision": "STEP_UP",
		"reasons": [{
			"effect": "STEP_UP",
			"policy_id": "catalog",
			"priority": 0,
			"reason": "tool t is catalogued with default decision STEP_UP",
		}],
		"approvers": ["security"],
		"four_eyes": false,
		"quorum": 1,
		"timeout_s": 60,
	}
}

test_default_decision_defer_takes_its_context_needed if {
	d := decision_with({"default_decision": "DEFER", "context_needed": ["ticket"]})
	d.decision == "DEFER"
	d.context_needed == ["ticket"]
	d.timeout_s == 300
}

test_default_decision_modify_takes_its_patch if {
	patch := [{"op": "add", "path": "/dry_run", "value": true}]
	d := decision_with({"default_decision": "MODIFY", "patch": patch})
	d.decision == "MODIFY"
	d.patch == patch
}

test_companions_of_other_effects_are_not_taken if {
	findings_with({"default_decision": "ALLOW", "patch": "junk", "approvers": 7}) == {{
		"effect": "ALLOW",
		"policy_id": "catalog",
		"priority": 0,
		"reason": "tool t is catalogued with default decision ALLOW",
	}}
}

test_modify_without_a_valid_patch_fails_closed if {
	every entry in [{"default_decision": "MODIFY"}, {"default_decision": "MODIFY", "patch": "x"}] {
		d := decision_with(entry)
		d.decision == "DENY"
		d.reasons[0].policy_id == "aarm.malformed_finding"
	}
}

test_context_rules_override_the_baseline if {
	d := decision({"action": {"tool": "db.query", "parameters": {"limit": 5000}}})
	d.decision == "MODIFY"
	[r.policy_id | some r in d.reasons] == ["catalog.parameters"]
}

test_the_row_limit_rule_is_now_catalogue_data if {
	not data.aarm.rules.row_limit
	data.aarm.catalog.tools["db.query"].parameters.limit.maximum == 100
}

test_default_decision_step_up_takes_quorum_and_four_eyes if {
	entry := {"default_decision": "STEP_UP", "approvers": ["finance", "security"], "quorum": 2, "four_eyes": true}
	findings_with(entry) == {{
		"approvers": ["finance", "security"],
		"effect": "STEP_UP",
		"four_eyes": true,
		"policy_id": "catalog",
		"priority": 0,
		"quorum": 2,
		"reason": "tool t is catalogued with default decision STEP_UP",
	}}
	d := decision_with(entry)
	d.decision == "STEP_UP"
	d.approvers == ["finance", "security"]
	d.quorum == 2
	d.four_eyes == true
	d.timeout_s == 3600
}

test_default_decision_step_up_without_extras if {
	d := decision_with({"default_decision": "STEP_UP"})
	d.approvers == []
	d.quorum == 1
	d.four_eyes == false
}

test_step_up_extras_not_taken_for_other_effects if {
	findings_with({"default_decision": "ALLOW", "approvers": ["x"], "quorum": 3, "four_eyes": true}) == {{
		"effect": "ALLOW",
		"policy_id": "catalog",
		"priority": 0,
		"reason": "tool t is catalogued with default decision ALLOW",
	}}
}

test_garbled_step_up_extras_fail_closed if {
	every entry in [
		{"default_decision": "STEP_UP", "quorum": 0},
		{"default_decision": "STEP_UP", "quorum": 1.5},
		{"default_decision": "STEP_UP", "quorum": "2"},
		{"default_decision": "STEP_UP", "four_eyes": "yes"},
		{"default_decision": "STEP_UP", "approvers": "finance"},
	] {
		d := decision_with(entry)
		d.decision == "DENY"
		d.reasons[0].policy_id == "aarm.malformed_finding"
	}
}

# --- fail closed ---------------------------------------------------------------------------

deny_garbage := {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog",
	"priority": 0,
	"reason": "tool t has a catalogue entry without a valid default_decision: denied",
	"risk": "HIGH",
}

test_garbage_default_decision_is_a_forbidden_deny if {
	every entry in [
		{},
		{"default_decision": "allow"},
		{"default_decision": "ALLOW "},
		{"default_decision": "PERMIT"},
		{"default_decision": null},
		{"default_decision": true},
		{"default_decision": ["ALLOW"]},
		{"default_decision": {"effect": "ALLOW"}},
		"ALLOW",
		null,
		["ALLOW"],
		true,
	] {
		findings_with(entry) == {deny_garbage}
		d := decision_with(entry)
		d.decision == "DENY"
		d.reasons == [object.remove(deny_garbage, ["forbidden"])]
	}
}

test_garbage_default_decision_beats_a_higher_allow if {
	extra := {"effect": "ALLOW", "policy_id": "override", "reason": "r", "priority": 1000}
	d := data.aarm.decision with input as call("t")
		with data.aarm.catalog as one_tool({"default_decision": "yes"})
		with data.aarm.rules.zz_override.findings as {extra}
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["catalog"]
}

test_garbage_default_decision_beats_a_configured_allow_default if {
	d := data.aarm.decision with input as call("t")
		with data.aarm.catalog as one_tool({"default_decision": "yes"})
		with data.aarm.config.default_decision as "ALLOW"
	d.decision == "DENY"
}

test_unknown_tool_is_default_deny if {
	count(findings(call("shell.exec"))) == 0
	d := decision(call("shell.exec"))
	d.decision == "DENY"
	d["default"] == true
	d.reasons[0].policy_id == "aarm.default"
}

test_near_miss_names_are_not_catalogued if {
	every tool in ["Email.send", "email.send ", "email", "email.send.x", ""] {
		count(findings(call(tool))) == 0
	}
}

test_missing_or_garbled_tool_is_default_deny if {
	every inp in [{}, {"action": {}}, {"action": {"tool": ["email.send"]}}, {"action": "email.send"}] {
		count(findings(inp)) == 0
		decision(inp).decision == "DENY"
	}
}

test_empty_tool_name_is_not_catalogued_even_if_listed if {
	fs := data.aarm.rules.catalog.findings with input as call("") with data.aarm.catalog as {"tools": {"": {"default_decision": "ALLOW"}}}
	count(fs) == 0
}

test_no_catalogue_data_allows_nothing if {
	every catalog in [{}, null, {"tools": null}, {"tools": []}, {"tools": "email.send"}, {"allowed_tools": ["email.send"]}] {
		fs := data.aarm.rules.catalog.findings with input as call("email.send") with data.aarm.catalog as catalog
		count(fs) == 0
		d := data.aarm.decision with input as call("email.send") with data.aarm.catalog as catalog
		d.decision == "DENY"
	}
}

# --- operation -------------------------------------------------------------------------------------

test_operations_and_unions_are_accepted if {
	every op in ["read", "write", "delete", "execute", "send", "grant", "pay", ["read", "send"], ["pay"]] {
		findings_with({"default_decision": "ALLOW", "operation": op}) == {{
			"effect": "ALLOW",
			"policy_id": "catalog",
			"priority": 0,
			"reason": "tool t is catalogued with default decision ALLOW",
		}}
	}
}

test_a_garbled_operation_is_a_forbidden_deny if {
	every op in ["READ", "transfer", "", [], ["read", "admin"], [1], 5, null, {"read": true}] {
		fs := findings_with({"default_decision": "ALLOW", "operation": op})
		{
			"effect": "DENY",
			"forbidden": true,
			"policy_id": "catalog",
			"priority": 0,
			"reason": "tool t has a catalogue entry whose operation is not one of delete, execute, grant, pay, read, send, write or an array of them: denied",
			"risk": "HIGH",
		} in fs
		decision_with({"default_decision": "ALLOW", "operation": op}).decision == "DENY"
	}
}
