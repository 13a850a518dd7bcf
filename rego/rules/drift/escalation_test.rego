# Tests of the classification-escalation rule of aarm.rules.drift (escalation.rego).
package rules_test.drift_escalation

import data.flow_fixtures as fx

act(tool, intent, level) := json.patch(
	fx.act(tool, {}, fx.flow(["read"], [], fx.trusted), level),
	[{"op": "replace", "path": "/session/intent", "value": intent}],
)

escalations(inp) := escalations_with(inp, fx.tools)

escalations_with(inp, tools) := {f |
	some f in data.aarm.rules.drift.findings with input as inp with data.aarm.catalog.tools as tools
	f.policy_id == "intent-drift.escalation"
}

test_a_restricted_tool_the_intent_does_not_name_steps_up if {
	inp := act("payroll.export", "prepare the weekly meeting agenda", "INTERNAL")
	escalations(inp) == {{
		"approvers": ["security"],
		"effect": "STEP_UP",
		"policy_id": "intent-drift.escalation",
		"priority": 50,
		"reason": "the session so far held at most INTERNAL data; payroll.export returns RESTRICTED data and the session's intent shares no word with it: confirm that the task needs it",
		"risk": "MEDIUM",
	}}
	d := fx.decide(inp)
	d.decision == "STEP_UP"
	fx.ids(d) == ["intent-drift.escalation"]
}

test_the_tools_approvers_are_asked if {
	tools := object.union(fx.tools, {"payroll.export": {"approvers": ["hr"]}})
	fs := data.aarm.rules.drift.findings with input as act("payroll.export", "book a flight", "PUBLIC") with data.aarm.catalog.tools as tools
	some f in fs
	f.approvers == ["hr"]
}

# --- the benign look-alikes -------------------------------------------------------------------

test_an_intent_that_names_the_tool_is_not_judged if {
	every intent in [
		"export the payroll for March",
		"check the PAYROLL totals",
		"reconcile ledgers",
		"rotate the vault secret for billing",
	] {
		tools := object.union(fx.tools, {"payroll.export": {"description": "export the payroll ledger and vault secrets"}})
		count(escalations_with(act("payroll.export", intent, "INTERNAL"), tools)) == 0
	}
}

test_a_session_that_already_held_restricted_data_is_not_judged if {
	count(escalations(act("payroll.export", "prepare the weekly meeting agenda", "RESTRICTED"))) == 0
	count(escalations(act("payroll.export", "prepare the weekly meeting agenda", "CONFIDENTIAL"))) == 1
}

test_no_intent_or_an_empty_one_is_not_judged if {
	every intent in [null, "", "do it", "please help me now"] {
		count(escalations(act("payroll.export", intent, "INTERNAL"))) == 0
	}
}

test_tools_below_restricted_are_not_judged if {
	count(escalations(act("files.read", "prepare the weekly meeting agenda", "PUBLIC"))) == 0
}

test_silent_without_a_flow if {
	count(escalations(fx.without_flow(act("payroll.export", "prepare the weekly meeting agenda", "INTERNAL")))) == 0
}

test_stems if {
	data.aarm.rules.drift.stems("Rotate the DB credentials, now!") == {"rotat", "crede", "db"} with input as {}
}

test_an_acronym_in_the_intent_names_the_tool if {
	tools := object.union(fx.tools, {"hr.employees.search": {"operation": "read", "classification": "RESTRICTED", "default_decision": "ALLOW"}})
	count(escalations_with(act("hr.employees.search", "what address does HR hold for me?", "INTERNAL"), tools)) == 0
	count(escalations_with(act("hr.employees.search", "what address do we hold for me?", "INTERNAL"), tools)) == 1
}
