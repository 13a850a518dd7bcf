# METADATA
# title: Confused deputy (AARM T2)
# description: |
#   The agent holds privileges its requester may not: content an outsider wrote (a
#   ticket, an e-mail, an error message) must not get it to grant access or run
#   privileged or destructive statements on that outsider's behalf. policy_id
#   "confused-deputy", context priority 50. Reads input.flow (silent without it).
#
#     - a grant (operation grant) whose principal (a value of kind principal or
#       email, or any destination) first appeared in untrusted content
#       (origin "untrusted"):
#         outside the organisation or a lookalike -> DENY, risk HIGH;
#         inside -> STEP_UP (approvers ["security"]), risk HIGH: a colleague named in
#         a ticket may be right, but a human must check who asked;
#     - an SQL statement or command line flagged privilege (GRANT, REVOKE, CREATE
#       USER, ALTER ROLE, ...) whose text first appeared in untrusted content, or
#       that comes with a principal value that did -> DENY, risk HIGH;
#     - a destructive action (a value flagged destructive, or a delete widened by a
#       recursive / all / wildcard parameter, aarm.bulk_delete_parameters) within
#       aarm.recent_untrusted_actions (3) actions after the session read untrusted
#       content -> STEP_UP (approvers ["security"]), risk HIGH; not when the
#       destructive value itself came from that content (malicious_output judges
#       it, with its origin).
#   Privilege grants to outsiders that no untrusted content asked for are the
#   privilege pack's; destructive operations on their own are the destructive pack's.
# custom:
#   threat: T2
#   aarm_control: R2 value provenance + R3 context-dependent DENY; R4 STEP_UP
package aarm.rules.confused_deputy

import data.aarm

# untrusted_principal(v): a value of this grant that says who receives access and
# came from untrusted content.
untrusted_principal(v) if {
	v.origin == "untrusted"
	principal(v)
}

principal(v) if v.kind in {"principal", "email"}

principal(v) if v.destination == true

outsider(v) if v.inside == false

outsider(v) if v.lookalike == true

findings contains {
	"effect": "DENY",
	"policy_id": "confused-deputy",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"a grant of access to ", aarm.value_label(v), ", ", aarm.origin_label(v),
		", outside the organisation: content someone outside wrote cannot hand out access: denied",
	]),
	"risk": "HIGH",
} if {
	"grant" in aarm.operations
	some v in aarm.flow_values
	untrusted_principal(v)
	outsider(v)
}

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "confused-deputy",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"a grant of access to ", aarm.value_label(v), ", ", aarm.origin_label(v),
		": confirm that the requester, not the content, asked for this access",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	"grant" in aarm.operations
	aarm.injection_score >= aarm.injection_step_up_at
	some v in aarm.flow_values
	untrusted_principal(v)
	not outsider(v)
}

# privileged_code(v): an SQL statement or command line flagged privilege.
privileged_code(v) if {
	v.kind in {"sql", "command"}
	"privilege" in v.flags
}

findings contains {
	"effect": "DENY",
	"policy_id": "confused-deputy",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.value_label(v), " changes privileges and ", aarm.origin_label(v),
		": content someone outside wrote cannot change privileges: denied",
	]),
	"risk": "HIGH",
} if {
	some v in aarm.flow_values
	privileged_code(v)
	v.origin == "untrusted"
}

findings contains {
	"effect": "DENY",
	"policy_id": "confused-deputy",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.value_label(v), " changes privileges for ", aarm.value_label(p), ", ", aarm.origin_label(p),
		": content someone outside wrote cannot change privileges: denied",
	]),
	"risk": "HIGH",
} if {
	some v in aarm.flow_values
	privileged_code(v)
	v.origin != "untrusted"
	some p in aarm.flow_values
	untrusted_principal(p)
}

# destructive: what makes this action destructive, for the reason (undefined when
# nothing does, or when the destructive value itself came from untrusted content).
destructive := concat("; ", sort(parts)) if {
	not untrusted_destructive_value
	parts := {concat("", [aarm.value_label(v), " is destructive"]) | some v in aarm.destructive_values} | {concat("", ["the delete covers many items (parameter ", n, ")"]) | some n in aarm.bulk_delete_parameters}
	count(parts) > 0
}

untrusted_destructive_value if {
	some v in aarm.destructive_values
	v.origin == "untrusted"
}

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "confused-deputy",
	"priority": aarm.priority.context,
	"reason": concat("", [
		destructive, "; requested right after the session read untrusted content from ", aarm.untrusted_source,
		": confirm that the requester, not that content, asked for it",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	aarm.session_untrusted
	aarm.recent_untrusted(aarm.recent_untrusted_actions)
	not asked_for
	destructive
}

# asked_for: the user's intent asks for a deletion and nothing read since looks like
# an injection: the agent is doing what it was told, not what the content said.
asked_for if {
	aarm.intended("delete")
	aarm.injection_score < aarm.injection_step_up_at
}
