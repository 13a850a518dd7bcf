# METADATA
# title: Malicious tool output (AARM T11)
# description: |
#   A value the agent took from tool output an outsider could write must not decide
#   where data, money or access goes, or what gets destroyed. policy_id
#   "malicious-output", context priority 50. Reads input.flow.values (silent without
#   a flow); a value whose origin is "intent" (the user named it), "trusted" or
#   "new" is never flagged.
#
#   Flagged values (origin "untrusted": the value first appeared in untrusted content):
#     - a destination (destination true, or any account, payee, URL or host)
#       outside the organisation or, for an account or payee, not registered
#       (inside false);
#     - the path of a delete (operation delete, kind path), wherever it points;
#     - an SQL statement or command line flagged destructive or remote_code.
#   Left to other packs (no double findings): the principal of a grant, and SQL or
#   commands flagged privilege (confused_deputy, T2); the account or payee of a
#   payment (payments).
#
#   The decision:
#     - DENY (risk HIGH) when the session holds CONFIDENTIAL or RESTRICTED data, when
#       an injection score >= aarm.injection_step_up_at (0.5) is known, or when the
#       action pays or grants: then a wrong approval costs too much;
#     - otherwise STEP_UP (approvers ["security"], risk MEDIUM), on a tool whose
#       baseline lets the call through; except for correspondence: when the flagged
#       values are all e-mail addresses or channels, the action answers or invites the
#       correspondents of what it read (the sender of a mail, the colleague a partner
#       asked to add, the channel a message came from), which is ordinary work when
#       nothing else is at stake.
#   A pure read (web.fetch of a search result) is never judged: following a link is
#   what reading the web is; a URL that carries data out is the exfiltration pack's.
#   Except bank details stored by a record write (no send, pay, grant or execute) in a
#   session without instruction-like content: STEP_UP (the tool's approvers, else
#   ["finance"]), risk HIGH, with call-back advice, whatever the session holds: the
#   change may be what the user asked for, the account's holder is what a human checks.
#   The reason names each value (never free text, SQL or a command line), the tool
#   whose output it came from, and why the decision is a DENY.
# custom:
#   threat: T11
#   aarm_control: R2 value provenance (context accumulation) + R3 context-dependent DENY / R4 STEP_UP
package aarm.rules.malicious_output

import data.aarm

code_flags := {"destructive", "remote_code"}

# flagged(v): a value of this action that came from untrusted content and matters.
flagged(v) if {
	v.origin == "untrusted"
	target(v)
	not owned_elsewhere(v)
}

flagged(v) if {
	v.origin == "untrusted"
	code(v)
}

target(v) if {
	key_value(v)
	outside(v)
}

target(v) if {
	v.kind == "path"
	"delete" in aarm.operations
}

key_value(v) if v.destination == true

# Where money goes, and network endpoints, count even when the catalog does not call
# them destinations (a payroll IBAN in an HR update, a webhook host).
key_value(v) if v.kind in {"account", "payee", "url", "host"}

# outside(v): outside the organisation; for an account or payee, not registered (the
# flow sets inside false for both).
outside(v) if v.inside == false

code(v) if {
	v.kind in {"sql", "command"}
	some f in v.flags
	f in code_flags
}

owned_elsewhere(v) if {
	"grant" in aarm.operations
	v.kind in {"principal", "email"}
}

owned_elsewhere(v) if {
	"pay" in aarm.operations
	v.kind in aarm.money_kinds
}

# what(v): what makes the value matter, for the reason.
what(v) := concat("", ["flagged ", concat(", ", sort({f | some f in v.flags; f in code_flags}))]) if {
	code(v)
} else := "the target of a delete" if {
	v.kind == "path"
	"delete" in aarm.operations
} else := "not in the payee register" if {
	v.kind in aarm.money_kinds
} else := "outside the organisation"

label(v) := concat("", [aarm.value_label(v), ", ", aarm.origin_label(v), ", ", what(v)])

# Why a wrong approval would cost too much.
severe contains aarm.session_data_label if aarm.sensitive_session

severe contains aarm.injection_label if aarm.injection_score >= aarm.injection_step_up_at

severe contains concat("", ["the action can ", concat(" and ", sort(ops))]) if {
	ops := aarm.operations & {"pay", "grant"}
	count(ops) > 0
}

findings contains {
	"effect": "DENY",
	"policy_id": "malicious-output",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"values from untrusted tool output steer this action: ", concat("; ", sort(labels)),
		"; ", concat("; ", sort(severe)), ": denied",
	]),
	"risk": "HIGH",
} if {
	not aarm.read_only
	not stored_contact
	not stored_account
	count(severe) > 0
	labels := {label(v) | some v in aarm.flow_values; flagged(v)}
	count(labels) > 0
}

# stored_account: a record write (nothing is sent, paid, granted or run now) that stores
# bank details taken from what the agent read (an employee's new salary account from
# their e-mail), with no instruction-like content in the session. The change itself may
# be what the user asked for; whether the account is the holder's is what a human settles
# by calling back. After instruction-like content it stays a DENY.
stored_account if {
	count(aarm.operations & {"send", "grant", "pay", "execute"}) == 0
	aarm.injection_score < aarm.injection_step_up_at
	some v in aarm.flow_values
	flagged(v)
	v.kind == "account"
	every w in aarm.flow_values {
		account_or_unflagged(w)
	}
}

account_or_unflagged(v) if not flagged(v)

account_or_unflagged(v) if v.kind == "account"

findings contains {
	"approvers": aarm.catalog_approvers(["finance"]),
	"effect": "STEP_UP",
	"policy_id": "malicious-output",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.tool, " stores bank details taken from untrusted tool output: ", concat("; ", sort(labels)),
		": bank details that arrive in content are how payroll and invoice fraud work; call the account holder back on a number you already have before approving",
	]),
	"risk": "HIGH",
} if {
	aarm.lets_through
	stored_account
	labels := {label(v) | some v in aarm.flow_values; flagged(v)}
}

# reply: the action only sends, and every flagged value is a correspondent (an e-mail
# address or a channel).
reply if {
	every v in aarm.flow_values {
		correspondent_or_unflagged(v)
	}
}

# stored_contact: a record write (nothing is sent, paid or granted now) that stores
# contacts taken from what the agent read: a client's new billing contact from their
# e-mail. Not when a contact is a lookalike or a personal mailbox.
stored_contact if {
	count(aarm.operations & {"send", "grant", "pay", "execute"}) == 0
	every v in aarm.flow_values {
		plain_contact_or_unflagged(v)
	}
}

plain_contact_or_unflagged(v) if not flagged(v)

plain_contact_or_unflagged(v) if {
	v.kind in {"email", "principal"}
	not v.lookalike == true
	not aarm.personal(v)
}

correspondent_or_unflagged(v) if v.kind in {"email", "channel"}

correspondent_or_unflagged(v) if not flagged(v)

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "malicious-output",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"values from untrusted tool output steer this action: ", concat("; ", sort(labels)),
		": confirm with the user that they want these values, which someone outside may have written",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	not aarm.read_only
	not stored_contact
	not stored_account
	count(severe) == 0
	labels := {label(v) | some v in aarm.flow_values; flagged(v)}
	count(labels) > 0
	not reply
}
