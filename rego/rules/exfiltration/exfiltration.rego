# METADATA
# title: Exfiltration chains (AARM T3)
# description: |
#   Once the session holds CONFIDENTIAL or RESTRICTED data (aarm.sensitive_session:
#   what earlier outcomes reported, or the catalog level of an action whose outcome has
#   not arrived), data may leave the organisation only towards destinations the session
#   already knows. policy_id "exfiltration-guard", context priority 50.
#
#   Judged per destination by its own kind, as the flow found it (input.flow.values
#   with destination true; silent without a flow), for actions that can carry data out
#   (any operation but a pure read):
#     - a destination outside the organisation (inside false: an e-mail address, URL or
#       host of an outside domain, a channel shared with outsiders or public, a guest or
#       outside principal, a published folder) that the user did not name in the intent
#       and that no trusted output gave (origin "new" or "untrusted") -> DENY, risk HIGH.
#       A customer taken from the CRM, or a partner the user named, is a correspondent:
#       business sends them confidential data every day. Two exceptions: a broadcast
#       destination (a shared or public channel, a published folder) is never a
#       correspondent (the user naming it -> STEP_UP, "summary laundering" needs a human;
#       otherwise DENY; with RESTRICTED data always DENY), except a place shared with one
#       outside party (scope "shared": a shared channel, a client's folder) named after
#       a party the intent names (party_named): a correspondent (RESTRICTED data there
#       -> STEP_UP, risk HIGH), and neither is a personal
#       mailbox (data.aarm.org.personal_domains, default the free-mail providers). Only
#       an action that delivers data counts: it sends, grants or executes, the tool is
#       catalogued egress, or the destination holds what is written (channel, folder,
#       URL); a record update that stores an outside contact sends nothing. The reason
#       names the session's data, each outside value, why it is outside and where it
#       came from;
#     - a lookalike of the organisation's domains (lookalike true) that the user did not
#       name -> DENY whatever the session holds, risk CRITICAL;
#     - a destination parameter the flow could not read as its kind (flow.unreadable)
#       -> DENY, risk HIGH: an address nobody can read may be outside;
#     - a read (web.fetch, a search) whose URL embeds values the session first saw in
#       CONFIDENTIAL or RESTRICTED output (embedded.sensitive) and goes outside -> DENY:
#       a query string is a channel out.
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

# lookalike(v): a lookalike of the organisation's own domains that the user did not name.
lookalike(v) if {
	data_destination(v)
	v.lookalike == true
	not aarm.named_by_user(v)
}

# broadcast(v): a destination many outsiders read (a shared or public channel, a
# published folder): what lands there is published, whoever asked.
broadcast(v) if v.kind in {"channel", "path"}

# targeted(v): a place shared with one particular outside party (a shared channel, a
# client's folder: scope "shared"), named after a party the user's intent names ("our
# channel with Voss Holding" and #ext-voss-holding; the service's party_named, never for
# a place named after the organisation itself, such as #shared-acme-partners): a
# correspondent like that party's address.
targeted(v) if {
	v.scope == "shared"
	v.party_named == true
}

# acceptable(v): an outside person or endpoint the session already knows, named by the
# user or given by trusted output (a customer from the CRM): business sends them
# confidential data every day. Never a personal mailbox, nor a broadcast destination
# other than a place shared with the party the user named; RESTRICTED data goes to such
# a place only with a human's yes (shared_restricted).
acceptable(v) if {
	aarm.correspondent(v)
	not broadcast(v)
	not aarm.personal(v)
}

acceptable(v) if {
	targeted(v)
	not restricted
}

# shared_restricted(v): RESTRICTED data for a place shared with the party the user named.
shared_restricted(v) if {
	targeted(v)
	restricted
}

# carries_out: the action can move data (anything but a pure read).
carries_out if not aarm.read_only

# transmits(v): the action delivers data to v now: it sends, grants, executes or is an
# egress tool, or v is a place that holds what is written to it (a channel, a folder,
# a URL). A record update that stores an outside address (a billing contact) sends
# nothing yet.
transmits(_) if {
	some o in aarm.operations
	o in {"send", "grant", "execute"}
}

transmits(_) if aarm.catalog_entry.egress == true

transmits(v) if v.kind in {"channel", "path", "url", "host"}

# outside_label(v): the value and why it is outside: "parameter to (mallory@evil.io):
# domain evil.io is outside the organisation". The flow's reason quotes the value, so
# it is given only for the kinds whose value a reason may show (never a URL's path or
# query, which may hold a token).
outside_label(v) := concat("", [aarm.value_label(v), ": ", aarm.short(v.reason), ", ", aarm.origin_label(v)]) if {
	v.kind in aarm.shown_kinds
	is_string(v.reason)
} else := concat("", [aarm.value_label(v), ": outside the organisation, ", aarm.origin_label(v)])

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
	carries_out
	labels := {outside_label(v) |
		some v in aarm.outside_destinations
		data_destination(v)
		transmits(v)
		not lookalike(v)
		not acceptable(v)
		not asked_to_publish(v)
		not shared_restricted(v)
	}
	count(labels) > 0
}

findings contains {
	"approvers": aarm.catalog_approvers(["security"]),
	"effect": "STEP_UP",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.session_data_label, "; the user asked to share with ", aarm.value_labels(targets),
		", which outsiders read: confirm that this RESTRICTED data is meant for them",
	]),
	"risk": "HIGH",
} if {
	aarm.sensitive_session
	carries_out
	targets := {v | some v in aarm.outside_destinations; shared_restricted(v)}
	count(targets) > 0
}

# asked_to_publish(v): the user named this channel or folder: still a publication of
# confidential data, so a human confirms it rather than a flat refusal (RESTRICTED data
# is never published).
asked_to_publish(v) if {
	broadcast(v)
	not targeted(v)
	aarm.named_by_user(v)
	not restricted
}

findings contains {
	"approvers": aarm.catalog_approvers(["security"]),
	"effect": "STEP_UP",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.session_data_label, "; the user asked to publish to ", aarm.value_labels(targets),
		", which outsiders read: confirm that nothing confidential goes out with it",
	]),
	"risk": "MEDIUM",
} if {
	aarm.sensitive_session
	carries_out
	targets := {v | some v in aarm.outside_destinations; asked_to_publish(v)}
	count(targets) > 0
}

findings contains {
	"effect": "DENY",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.value_label(v), " is a lookalike of the organisation's own domain, ", aarm.origin_label(v),
		": sending there is denied",
	]),
	"risk": "CRITICAL",
} if {
	carries_out
	some v in aarm.outside_destinations
	lookalike(v)
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
	carries_out
	not "pay" in aarm.operations
	some p in aarm.flow_unreadable
}

findings contains {
	"effect": "DENY",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.session_data_label, "; ", aarm.value_label(v),
		" embeds values first seen in confidential output and goes outside the organisation: denied",
	]),
	"risk": "HIGH",
} if {
	aarm.read_only
	some v in aarm.flow_values
	v.kind == "url"
	v.inside == false
	aarm.carries_sensitive(v)
}
