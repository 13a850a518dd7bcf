# METADATA
# title: Exfiltration chains (AARM T3)
# description: |
#   Once the session holds CONFIDENTIAL or RESTRICTED data (aarm.sensitive_session:
#   what earlier outcomes reported), no value may carry data to a destination outside
#   the organisation. policy_id "exfiltration-guard", context priority 50.
#
#   Judged per destination by its own kind, as the flow found it (input.flow.values
#   with destination true; silent without a flow):
#     - a destination outside the organisation (inside false: an e-mail address or URL
#       or host of an outside domain, a channel shared with outsiders or public, a
#       guest or outside principal, a published folder) -> DENY, risk HIGH; the reason
#       names the session's data, each outside value and why it is outside;
#     - the same to a lookalike of the organisation's domains (lookalike true) while
#       the session holds RESTRICTED data -> DENY, risk CRITICAL, worded as forbidden;
#     - a destination parameter the flow could not read as its kind (flow.unreadable)
#       -> DENY, risk HIGH: an address nobody can read may be outside.
#   Money destinations (kinds account and payee, and unreadable destinations of a
#   payment) are the payments pack's. An action without a destination value is not
#   judged at all: the former guard denied every egress tool that named no destination
#   it could read, and stopped file writes, chat posts and payments to registered
#   payees by the dozen.
# custom:
#   threat: T3
#   aarm_control: R2 classification on read + R3 context-dependent DENY (destination allowlist per kind)
package aarm.rules.exfiltration

import data.aarm

restricted if aarm.session_classification == "RESTRICTED"

# data_destination(v): v, one of aarm.outside_destinations, carries data (not money).
data_destination(v) if not v.kind in aarm.money_kinds

# forbidden_lookalike(v): a lookalike destination while the session holds RESTRICTED data.
forbidden_lookalike(v) if {
	data_destination(v)
	restricted
	v.lookalike == true
}

# outside_label(v): the value and why it is outside: "parameter to (mallory@evil.io):
# domain evil.io is outside the organisation". The flow's reason quotes the value, so
# it is given only for the kinds whose value a reason may show (never a URL's path or
# query, which may hold a token).
outside_label(v) := concat("", [aarm.value_label(v), ": ", aarm.short(v.reason)]) if {
	v.kind in aarm.shown_kinds
	is_string(v.reason)
} else := concat("", [aarm.value_label(v), ": outside the organisation"])

findings contains {
	"effect": "DENY",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.session_data_label, "; sending it outside the organisation is denied: ",
		concat("; ", sort(labels)),
	]),
	"risk": "HIGH",
} if {
	aarm.sensitive_session
	labels := {outside_label(v) |
		some v in aarm.outside_destinations
		data_destination(v)
		not forbidden_lookalike(v)
	}
	count(labels) > 0
}

findings contains {
	"effect": "DENY",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.session_data_label, "; ", aarm.value_label(v),
		" is a lookalike of the organisation's own domain: sending RESTRICTED data there is forbidden",
	]),
	"risk": "CRITICAL",
} if {
	some v in aarm.outside_destinations
	forbidden_lookalike(v)
}

findings contains {
	"effect": "DENY",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.session_data_label, "; destination parameter ", p,
		" cannot be read as an address, so it may be outside the organisation: denied",
	]),
	"risk": "HIGH",
} if {
	aarm.sensitive_session
	not "pay" in aarm.operations
	some p in aarm.flow_unreadable
}
