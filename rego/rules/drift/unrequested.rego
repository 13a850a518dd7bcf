package aarm.rules.drift

import data.aarm

# METADATA
# title: Actions the user did not ask for (AARM T6, intent drift)
# description: |
#   Asked whether an invoice was paid, the agent pays it; asked to tidy a report, it
#   deletes the source. The session's intent says which kinds of action the user asked
#   for (input.flow.intent.actions, read from the intent by the service); a payment or a
#   deletion outside them needs a human. policy_id "intent-drift.unrequested", context
#   priority 50, STEP_UP, only on tools whose baseline lets the call through
#   (aarm.lets_through) and only when the session has an intent (flow.intent.present):
#     - the action pays ("pay" among its operations) and the intent asks for no
#       payment -> approvers: the tool's, else ["finance"]; risk HIGH;
#     - the action only deletes (its operations are "delete", with or without "read":
#       a tool that may also write or execute is judged by the destructive pack) and the
#       intent asks for no deletion -> approvers: the tool's, else ["owners"]; risk MEDIUM;
#     - the action's SQL changes rows (operations narrowed by the statement,
#       flow.operations_from "statement", to include "write") and the intent asks for no
#       change (no write, delete or execute) -> approvers: the tool's, else ["owners"];
#       risk MEDIUM.
#   A request the lexicon does not read as asking ("handle the AP queue") gets a human's
#   yes once; a status question ("has it been paid?") asks for nothing.
# custom:
#   threat: T6
#   aarm_control: R7 intent alignment (requested kinds of action); R4 STEP_UP
findings contains {
	"approvers": aarm.catalog_approvers(approvers),
	"effect": "STEP_UP",
	"policy_id": "intent-drift.unrequested",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " ", what, " although the user's request asks for no ", noun,
		": confirm that the user wants it",
	]),
	"risk": risk,
} if {
	aarm.lets_through
	input.flow.intent.present == true
	some [category, what, noun, approvers, risk] in unrequested
	not aarm.intended(category)
}

unrequested contains ["pay", concat("", ["makes ", aarm.payment_label]), "payment", ["finance"], "HIGH"] if {
	"pay" in aarm.operations
}

# A statement that changes rows, when the intent asks to change nothing: the question
# "how many orders are stuck?" answered with an UPDATE.
unrequested contains ["write", "changes data with its statement", "change", ["owners"], "MEDIUM"] if {
	input.flow.operations_from == "statement"
	"write" in aarm.operations
	not aarm.intended("delete")
	not aarm.intended("execute")
}

unrequested contains ["delete", "deletes", "deletion", ["owners"], "MEDIUM"] if {
	"delete" in aarm.operations
	every o in aarm.operations {
		o in {"read", "delete"}
	}
}
