# Tests of aarm.rules.payment_approval, alone and through the real combiner.
package rules_test.payment_approval

transfer(amount) := {"action": {"tool": "payments.transfer", "operation": "write", "parameters": {"amount": amount, "to": "acct-1"}}}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

test_large_transfer_steps_up if {
	decision(transfer(5000)) == {
		"decision": "STEP_UP",
		"reasons": [{
			"effect": "STEP_UP",
			"policy_id": "payment-approval",
			"priority": 50,
			"reason": "transfers above 1000 need the approval of finance",
			"risk": "HIGH",
		}],
		"approvers": ["finance"],
		"four_eyes": false,
		"quorum": 1,
		"timeout_s": 3600,
		"risk": "HIGH",
	}
}

test_small_transfer_is_allowed if {
	every amount in [0, 1, 999.99, 1000] {
		fs := data.aarm.rules.payment_approval.findings with input as transfer(amount)
		count(fs) == 0
		decision(transfer(amount)).decision == "ALLOW"
	}
}

test_just_above_threshold_steps_up if {
	decision(transfer(1000.01)).decision == "STEP_UP"
}

test_garbled_amount_steps_up_not_allow if {
	every amount in ["5000", null, true, [5000], {"value": 5000}] {
		d := decision(transfer(amount))
		d.decision == "STEP_UP"
		d.approvers == ["finance"]
		d.reasons[0].reason == "transfer amount missing or not a number: needs the approval of finance"
	}
}

test_missing_amount_steps_up if {
	d := decision({"action": {"tool": "payments.transfer", "parameters": {"to": "acct-1"}}})
	d.decision == "STEP_UP"
	e := decision({"action": {"tool": "payments.transfer"}})
	e.decision == "STEP_UP"
}

test_negative_amount_steps_up if {
	d := decision(transfer(-50))
	d.decision == "STEP_UP"
	d.reasons[0].reason == "negative transfer amount: needs the approval of finance"
}

test_other_tools_are_not_touched if {
	fs := data.aarm.rules.payment_approval.findings with input as {"action": {"tool": "email.send", "parameters": {"amount": 1000000}}}
	count(fs) == 0
}

test_injection_beats_the_step_up if {
	inp := object.union(transfer(5000), {"signals": {"injection_score": 0.95}})
	d := decision(inp)
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["injection-guard"]
}
