# METADATA
# title: Prompt injection (AARM T1)
# description: |
#   Untrusted content that carries instructions must not steer an action that acts on
#   the world. policy_id "injection-guard" for every finding.
#
#   The caller's signal (unchanged from the former aarm.rules.injection):
#     - input.signals.injection_score above 0.8 -> DENY at the compositional priority
#       80, above every context rule, whatever the action, risk HIGH;
#     - an injection_score that is present but not a number -> the same DENY (fail
#       closed); a missing one says nothing.
#     The service's copy of the scanner's score into signals (made when the caller sent
#     none; see aarm.scanner_copy) is not the caller's signal and is judged below.
#
#   The session's content (input.flow; silent without it):
#     - aarm.injection_score (the most suspicious content read in this session, or the
#       caller's score) >= aarm.injection_deny_at (0.8) and a high-impact action
#       (aarm.high_impact: operation send, pay, grant, delete or execute, a save to
#       long-term memory, or a destination outside the organisation) -> DENY, context
#       priority 50, risk HIGH;
#     - >= aarm.injection_step_up_at (0.5) and below the deny level, a high-impact
#       action -> STEP_UP (approvers ["security"]), risk HIGH, on a tool whose baseline
#       lets the call through (aarm.lets_through);
#     - >= aarm.injection_step_up_at, a write that is not high-impact -> STEP_UP
#       (approvers ["security"]), risk MEDIUM: a change (a DNS record, a flag, a
#       record) is what injected text asks for as often as a send;
#     - a read-only action is never stopped: reading cannot act, and stopping the
#       reads would stop the agent from finishing any task once it met a bad page.
#   The reason names the content's tool, its score and the scanner's features, and
#   what the action would do (its operations, its outside destinations).
# custom:
#   threat: T1
#   aarm_control: R3 compositional-risk DENY (precedence 2) over R2 accumulated context; R4 STEP_UP
package aarm.rules.prompt_injection

import data.aarm

findings contains {
	"effect": "DENY",
	"policy_id": "injection-guard",
	"priority": aarm.priority.compositional,
	"reason": "prompt-injection score above 0.8",
	"risk": "HIGH",
} if {
	not aarm.scanner_copy
	score := aarm.signals.injection_score
	is_number(score)
	score > 0.8
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

findings contains {
	"effect": "DENY",
	"policy_id": "injection-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [aarm.injection_label, "; this action ", impact, ": denied"]),
	"risk": "HIGH",
} if {
	aarm.has_flow
	aarm.injection_score >= aarm.injection_deny_at
	aarm.high_impact
}

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "injection-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.injection_label, "; this action ", impact,
		": confirm that the user asked for it, not the content",
	]),
	"risk": "HIGH",
} if {
	aarm.has_flow
	aarm.lets_through
	aarm.injection_score >= aarm.injection_step_up_at
	aarm.injection_score < aarm.injection_deny_at
	aarm.high_impact
}

# impact: what the action would do, for the reason ("can send; goes outside the
# organisation: parameter to (mallory@evil.io)").
# A bulk write (records chosen by a query or a filter: "close every ticket tagged X")
# after suspicious content: what injected text asks for, and many records at once, so a
# human confirms.
findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "injection-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.injection_label, "; this action writes with ", aarm.tool, " to every record a query selects",
		": confirm that the user asked for it, not the content",
	]),
	"risk": "MEDIUM",
} if {
	aarm.has_flow
	aarm.lets_through
	aarm.injection_score >= aarm.injection_step_up_at
	"write" in aarm.operations
	not aarm.high_impact
	bulk_write
}

bulk_selectors := {"query", "filter", "where", "selector", "search", "all", "match", "criteria"}

bulk_write if {
	some name, x in aarm.params
	lower(name) in bulk_selectors
	x != null
}

# Any other change after instruction-like content (a DNS record, a feature flag, a
# customer record): injected text asks for changes as often as for sends, and the
# content's author gains from a change nobody asked for. A human confirms; reads stay
# free, and a save to memory is the memory pack's.
findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "injection-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.injection_label, "; now ", aarm.tool, " changes something",
		": confirm that the user asked for this change, not the content",
	]),
	"risk": "MEDIUM",
} if {
	aarm.has_flow
	aarm.lets_through
	aarm.injection_score >= aarm.injection_step_up_at
	"write" in aarm.operations
	not aarm.high_impact
	not bulk_write
}

impact := concat("; ", [s | some s in [operations_part, memory_part, outside_part]; s != ""])

operations_part := concat("", ["can ", concat(", ", sort(ops))]) if {
	ops := aarm.operations & aarm.high_impact_operations
	count(ops) > 0
} else := ""

memory_part := "saves to long-term memory" if aarm.memory_save

else := ""

outside_part := concat("", ["goes outside the organisation: ", aarm.value_labels(aarm.outside_destinations)]) if {
	count(aarm.outside_destinations) > 0
} else := ""
