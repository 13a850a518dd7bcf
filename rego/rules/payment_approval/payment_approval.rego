# METADATA
# title: Approval for large payments
# description: |
#   A payments.transfer of more than 1000 needs the approval of "finance"
#   (STEP_UP, policy_id "payment-approval", context priority 50, risk HIGH,
#   timeout_s 3600). Fail closed: an amount that is missing, not a number or
#   negative steps up the same way instead of falling through to the catalogue's
#   ALLOW.
package aarm.rules.payment_approval

import data.aarm

threshold := 1000

step_up(reason) := {
	"approvers": ["finance"],
	"effect": "STEP_UP",
	"policy_id": "payment-approval",
	"priority": aarm.priority.context,
	"reason": reason,
	"risk": "HIGH",
	"timeout_s": 3600,
}

findings contains step_up("transfers above 1000 need the approval of finance") if {
	aarm.tool == "payments.transfer"
	amount := aarm.param("amount")
	is_number(amount)
	amount > threshold
}

findings contains step_up("transfer amount missing or not a number: needs the approval of finance") if {
	aarm.tool == "payments.transfer"
	not is_number(aarm.param("amount"))
}

findings contains step_up("negative transfer amount: needs the approval of finance") if {
	aarm.tool == "payments.transfer"
	amount := aarm.param("amount")
	is_number(amount)
	amount < 0
}
