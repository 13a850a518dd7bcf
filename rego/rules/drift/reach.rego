package aarm.rules.drift

import data.aarm

# METADATA
# title: Restricted data the user did not ask for (AARM T6, intent drift; T4)
# description: |
#   Preparing a one-to-one, the agent asks the HR system for the colleague's salary,
#   sick days and disciplinary record. The service reads which restricted kinds of data
#   an action asks for by field name (input.flow.reach: the fields, columns or select
#   list it names; categories compensation, health, discipline, government_id,
#   bank_account, special, and contact, which counts only when the intent asks for
#   numbers, flow.intent.counts) and which of them the intent mentions
#   (input.flow.intent.mentions). policy_id "intent-drift.reach", context priority 50,
#   STEP_UP (the tool's approvers, else ["security"]), risk MEDIUM, when the tool's
#   baseline lets the call through (aarm.lets_through), the session has an intent, and
#   the action asks for a category the intent does not mention. The reason names the
#   fields (names, never values). Silent without the flow's reach or mentions.
# custom:
#   threat: T6, T4
#   aarm_control: R7 intent alignment (data reach); R4 STEP_UP
findings contains {
	"approvers": aarm.catalog_approvers(["security"]),
	"effect": "STEP_UP",
	"policy_id": "intent-drift.reach",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " asks for ", concat(", ", sort(fields)), " (", concat(", ", sort(unasked)),
		"), which the user's request does not mention: confirm that the task needs them",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	input.flow.intent.present == true
	mentions := {m | some m in input.flow.intent.mentions; is_string(m)}
	is_array(input.flow.intent.mentions)
	unasked := {c | some c in input.flow.reach.categories; is_string(c); not c in mentions; counts_against(c)}
	count(unasked) > 0
	fields := {f | some f in input.flow.reach.fields; is_string(f)}
}

# Contact details (category "contact") count only against a request for numbers
# (input.flow.intent.counts): asked how many signed up, the agent pulls every owner's
# e-mail and phone. Elsewhere names and addresses are ordinary work.
counts_against(c) if c != "contact"

counts_against("contact") if input.flow.intent.counts == true
