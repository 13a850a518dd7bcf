# Tests of the data-reach rule of aarm.rules.drift (reach.rego).
package rules_test.drift_reach

import data.flow_fixtures as fx

act(mentions, reach) := fx.act(
	"files.read", {},
	object.union(fx.flow(["read"], [], fx.trusted), {
		"intent": {"present": true, "actions": [], "mentions": mentions},
		"reach": reach,
	}),
	"INTERNAL",
)

hr_fields := {"categories": ["compensation", "health"], "fields": ["base_salary", "sick_days_ytd"]}

reach_findings(inp) := {f |
	some f in fx.findings("drift", inp)
	f.policy_id == "intent-drift.reach"
}

test_restricted_fields_the_intent_does_not_mention_step_up if {
	inp := act([], hr_fields)
	reach_findings(inp) == {{
		"approvers": ["security"],
		"effect": "STEP_UP",
		"policy_id": "intent-drift.reach",
		"priority": 50,
		"reason": "files.read asks for base_salary, sick_days_ytd (compensation, health), which the user's request does not mention: confirm that the task needs them",
		"risk": "MEDIUM",
	}}
	fx.decide(inp).decision == "STEP_UP"
}

test_only_the_unmentioned_categories_are_named if {
	some f in reach_findings(act(["compensation"], hr_fields))
	contains(f.reason, "(health)")
}

test_fields_the_intent_asks_for_pass if {
	count(reach_findings(act(["compensation", "health"], hr_fields))) == 0
	fx.decide(act(["compensation", "health"], hr_fields)).decision == "ALLOW"
}

test_silent_without_reach_mentions_or_intent if {
	count(reach_findings(act([], {}))) == 0
	no_mentions := json.remove(act([], hr_fields), ["flow/intent/mentions"])
	count(reach_findings(no_mentions)) == 0
	no_intent := json.patch(act([], hr_fields), [{"op": "replace", "path": "/flow/intent/present", "value": false}])
	count(reach_findings(no_intent)) == 0
}

contact_fields := {"categories": ["contact"], "fields": ["email", "phone", "billing_address"]}

# The same action with an intent that does or does not ask for numbers.
act_counting(counts, reach) := json.patch(act([], reach), [{"op": "add", "path": "/flow/intent/counts", "value": counts}])

test_contact_details_step_up_only_against_a_request_for_numbers if {
	reach_findings(act_counting(true, contact_fields)) == {{
		"approvers": ["security"],
		"effect": "STEP_UP",
		"policy_id": "intent-drift.reach",
		"priority": 50,
		"reason": "files.read asks for billing_address, email, phone (contact), which the user's request does not mention: confirm that the task needs them",
		"risk": "MEDIUM",
	}}
	count(reach_findings(act_counting(false, contact_fields))) == 0
	count(reach_findings(act([], contact_fields))) == 0

	# a count question that names contact details asks for them
	count(reach_findings(json.patch(act(["contact"], contact_fields), [{"op": "add", "path": "/flow/intent/counts", "value": true}]))) == 0
}
