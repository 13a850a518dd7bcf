# METADATA
# title: Side-channel leakage (AARM T9)
# description: |
#   Secrets and card numbers are cut out of what leaves the organisation or goes to
#   telemetry, and the rest of the call goes through: MODIFY, policy_id
#   "redact-secrets", context priority 50, risk MEDIUM, each finding replacing one
#   value with "[REDACTED]" (an RFC 6902 "replace" at the value's pointer). Never a
#   DENY: redaction is the fix. Only on tools whose baseline lets the call through
#   (aarm.lets_through): on any other a MODIFY would replace a stricter baseline.
#
#   With input.flow:
#     - a free-text value (kind "text") flagged secret, or holding a payment card
#       number, in an action that has a destination outside the organisation, sends
#       (operation send), or goes to telemetry (the catalogue entry says
#       "telemetry": true) -> its pointer is redacted
#       ([{"op": "replace", "path": "/attendees/1/note", "value": "[REDACTED]"}]).
#   Always (the former aarm.rules.redact_secrets):
#     - a tool that can carry data outside (catalogue "egress" not false) with a card
#       number anywhere in its "body" parameter -> the body is redacted.
#   A card number is 13 to 19 digits that pass the Luhn check, a run of digits
#   alone or grouped by single spaces or hyphens ("4111 1111 1111 1111"), not glued
#   to other digits; a grouped number followed by more grouped digits is one longer
#   run and not found. This catches accidental leaks, not an agent that spells the
#   digits out. The reason names the parameter, never the value.
# custom:
#   threat: T9
#   aarm_control: R4 MODIFY (redact) before execution
package aarm.rules.side_channel

import data.aarm

# --- the flow's free-text values ----------------------------------------------------------------

# leaving: what this action writes may be read outside, or by a telemetry pipeline.
leaving if count(aarm.outside_destinations) > 0

leaving if "send" in aarm.operations

leaving if aarm.catalog_entry.telemetry == true

# what_leaks(v): what the free-text value v holds (undefined when nothing).
what_leaks(v) := "a secret" if {
	"secret" in v.flags
} else := "a payment card number" if {
	is_string(v.value)
	card_number(v.value)
}

# exposed(v): a free-text value where people read it: a prose field (a comment, a
# message, a post) of any write, wherever it lands; secrets do not belong in tickets.
# A credential the call itself presents (an Authorization header, an api_key member) is
# used as intended, except in telemetry, where it is only a copy that leaks.
exposed(v) if {
	leaving
	not presented(v)
}

exposed(_) if aarm.catalog_entry.telemetry == true

presented(v) if "headers" in {lower(s) | some s in split(aarm.value_path(v), ".")}

presented(v) if last_segment(aarm.value_path(v)) in credential_names

credential_names := {
	"authorization", "auth", "token", "access_token", "refresh_token", "api_key", "apikey", "x-api-key",
	"secret", "client_secret", "password", "passwd", "pwd", "private_key", "cookie", "dsn", "connection_string",
}

exposed(v) if {
	"write" in aarm.operations
	last_segment(aarm.value_path(v)) in prose_names
}

prose_names := {"body", "comment", "message", "text", "note", "notes", "description", "summary", "reply"}

last_segment(path) := lower(split(parts[count(parts) - 1], "[")[0]) if {
	parts := split(path, ".")
}

findings contains {
	"effect": "MODIFY",
	"patch": [{"op": "replace", "path": v.pointer, "value": aarm.redacted}],
	"policy_id": "redact-secrets",
	"priority": aarm.priority.context,
	"reason": concat("", ["tool ", aarm.tool, ": parameter ", aarm.value_path(v), " holds ", what, ": redacted"]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	some v in aarm.flow_values
	v.kind == "text"
	exposed(v)
	is_string(v.pointer)
	what := what_leaks(v)
	not body_redacted(v.pointer)
}

# body_redacted(pointer): the rule below already redacts it.
body_redacted("/body") if body_card

# --- the body of an egress tool (without a flow too) ----------------------------------------

egress if {
	entry := aarm.catalog_entry
	not stays_inside(entry)
}

stays_inside(entry) if entry.egress == false

body_card if {
	aarm.lets_through
	egress
	holds_card(aarm.param("body"))
}

findings contains {
	"effect": "MODIFY",
	"patch": aarm.redact(["body"]),
	"policy_id": "redact-secrets",
	"priority": aarm.priority.context,
	"reason": concat("", ["tool ", aarm.tool, ": parameter body holds a payment card number: redacted"]),
	"risk": "MEDIUM",
} if {
	body_card
}

# --- card numbers ----------------------------------------------------------------------------

# The candidates: maximal runs of digits with single space or hyphen separators
# ("4111 1111 1111 1111"), and maximal runs of digits alone (so that a number is
# found even when a separator glues it to other digits: "1234 4111111111111111").
digit_runs := [`[0-9](?:[ -]?[0-9])*`, `[0-9]+`]

# Luhn: the value of a digit at an odd position counted from the right, doubled.
doubled := [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]

digit_value := {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9}

# card_number(s): the string s holds a card number.
card_number(s) if {
	some pattern in digit_runs
	some m in regex.find_all_string_submatch_n(pattern, s, -1)
	digits := replace(replace(m[0], " ", ""), "-", "")
	count(digits) >= 13
	count(digits) <= 19
	luhn(digits)
}

# luhn(digits): the string of digits passes the Luhn check.
luhn(digits) if {
	ds := [digit_value[c] | some c in split(digits, "")]
	n := count(ds)
	total := sum([luhn_value(d, (n - 1) - i) | some i, d in ds])
	total % 10 == 0
}

luhn_value(d, from_right) := d if from_right % 2 == 0

luhn_value(d, from_right) := doubled[d] if from_right % 2 == 1

# holds_card(x): a string or number somewhere in x holds a card number.
holds_card(x) if {
	walk(x, [_, v])
	is_string(v)
	card_number(v)
}

holds_card(x) if {
	walk(x, [_, v])
	is_number(v)
	card_number(json.marshal(v))
}

# Side channel by query: a search query, a URL or a free-text field sent to a third
# party (a web tool, an egress tool, an outside destination) that embeds values the
# session first saw in CONFIDENTIAL or RESTRICTED output (a client's tax id typed into
# a web search). The value is redacted; the rest of the call goes through.
third_party if aarm.catalog_entry.egress == true

third_party if aarm.catalog_entry.result_trust == "untrusted"

third_party if count(aarm.outside_destinations) > 0

third_party if split(lower(aarm.tool), ".")[0] in {"web", "search", "browser", "internet"}

findings contains {
	"effect": "MODIFY",
	"patch": [{"op": "replace", "path": v.pointer, "value": aarm.redacted}],
	"policy_id": "redact-sensitive-values",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"tool ", aarm.tool, " reaches a third party: parameter ", aarm.value_path(v),
		" embeds values first seen in confidential output: redacted",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	third_party
	some v in aarm.flow_values
	v.kind in {"text", "url"}
	not v.destination == true
	aarm.carries_sensitive(v)
	is_string(v.pointer)
}
