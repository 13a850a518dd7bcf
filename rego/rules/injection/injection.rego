# METADATA
# title: Prompt-injection guard
# description: |
#   Any action whose input.signals.injection_score is above 0.8 is denied at the
#   compositional priority 80, above every context rule (policy_id
#   "injection-guard", risk HIGH). Fail closed: an injection_score that is present
#   but not a number (a string, null, ...) is denied the same way. A missing score
#   means no detector spoke, and this rule says nothing.
package aarm.rules.injection

import data.aarm

threshold := 0.8

findings contains {
	"effect": "DENY",
	"policy_id": "injection-guard",
	"priority": aarm.priority.compositional,
	"reason": "prompt-injection score above 0.8",
	"risk": "HIGH",
} if {
	score := aarm.signals.injection_score
	is_number(score)
	score > threshold
}

findings contains {
	"effect": "DENY",
	"policy_id": "injection-guard",
	"priority": aarm.priority.compositional,
	"reason": "injection_score is not a number",
	"risk": "HIGH",
} if {
	aarm.has_key(aarm.signals, "injection_score")
	not is_number(aarm.signal("injection_score"))
}
