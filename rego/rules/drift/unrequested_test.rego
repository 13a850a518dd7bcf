# Tests of the unrequested-action rule of aarm.rules.drift (unrequested.rego).
package rules_test.drift_unrequested

import data.flow_fixtures as fx

# act(tool, ops, actions, amount): an action whose flow says the intent asks for `actions`.
act(tool, ops, actions, amount) := fx.act(
	tool, {},
	object.union(fx.flow(ops, [], fx.trusted), object.union(
		{"intent": {"present": true, "actions": actions}},
		amount,
	)),
	"INTERNAL",
)

unrequested(inp) := {f |
	some f in fx.findings("drift", inp)
	f.policy_id == "intent-drift.unrequested"
}

test_a_payment_the_user_did_not_ask_for_steps_up if {
	inp := act("payments.pay", ["pay"], [], {"amount": {"value": 4235, "currency": "EUR"}})
	unrequested(inp) == {{
		"approvers": ["finance"],
		"effect": "STEP_UP",
		"policy_id": "intent-drift.unrequested",
		"priority": 50,
		"reason": "payments.pay makes a payment of 4235 EUR although the user's request asks for no payment: confirm that the user wants it",
		"risk": "HIGH",
	}}
	fx.decide(inp).decision == "STEP_UP"
}

test_a_deletion_the_user_did_not_ask_for_steps_up if {
	inp := act("files.delete", ["delete"], ["send"], {})
	some f in unrequested(inp)
	f.approvers == ["owners"]
	f.risk == "MEDIUM"
	f.reason == "files.delete deletes although the user's request asks for no deletion: confirm that the user wants it"
}

test_what_the_user_asked_for_passes if {
	count(unrequested(act("payments.pay", ["pay"], ["pay"], {}))) == 0
	count(unrequested(act("files.delete", ["delete"], ["delete"], {}))) == 0
	fx.decide(act("files.delete", ["delete"], ["delete"], {})).decision == "ALLOW"
}

test_a_tool_that_may_also_write_is_not_judged_as_a_deletion if {
	count(unrequested(act("files.write", ["read", "write", "delete"], [], {}))) == 0
}

test_no_intent_no_finding if {
	inp := json.patch(act("payments.pay", ["pay"], [], {}), [{"op": "replace", "path": "/flow/intent/present", "value": false}])
	count(unrequested(inp)) == 0
	no_flow := fx.without_flow(act("payments.pay", ["pay"], [], {}))
	count(unrequested(no_flow)) == 0
}

test_a_tool_whose_baseline_stops_it_is_left_to_the_baseline if {
	count(unrequested(act("blocked.tool", ["pay"], [], {}))) == 0
}

test_a_statement_that_changes_rows_when_the_user_asked_a_question_steps_up if {
	inp := json.patch(act("files.write", ["read", "write"], [], {}), [{"op": "add", "path": "/flow/operations_from", "value": "statement"}])
	some f in unrequested(inp)
	f.reason == "files.write changes data with its statement although the user's request asks for no change: confirm that the user wants it"
	asked := json.patch(act("files.write", ["read", "write"], ["write"], {}), [{"op": "add", "path": "/flow/operations_from", "value": "statement"}])
	count(unrequested(asked)) == 0
	from_catalog := act("files.write", ["read", "write"], [], {})
	count(unrequested(from_catalog)) == 0
}
