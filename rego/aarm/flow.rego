# Arbiter core library: information flow (input.flow, input.provenance).
#
#   The service analyses every action's parameters and the session's history and sends
#   the result as input.flow (docs/detection.md, section 4):
#
#     "flow": {
#       "operations": ["send"],
#       "values": [{"path": "to", "pointer": "/to", "param": "to", "kind": "email",
#                   "destination": true, "value": "mallory@evil.io", "host": "evil.io",
#                   "inside": false, "lookalike": false, "registered": false,
#                   "reason": "domain evil.io is outside the organisation",
#                   "origin": "untrusted", "source": {"tool": "mail.read"}, "flags": []}],
#       "unreadable": ["cc"],
#       "amount": {"value": 1200.5, "currency": "EUR"},
#       "session": {"integrity": "untrusted", "untrusted_sources": ["mail.read"],
#                   "last_untrusted": {"tool": "mail.read", "actions_ago": 1},
#                   "injection": {"score": 0.93, "tool": "mail.read", "features": ["override"]},
#                   "facts": {"change_freeze": true}, "memory_tainted": false,
#                   "totals": {"payments_to_payee_hour": {"count": 1, "amount": 300}, ...}}
#     }
#
#   These helpers read it for the threat rule packs (rego/rules/<threat>/; the
#   action's operations are aarm.operations, decision.rego). Each is defined whatever
#   the input (an empty set, 0, {} or false when input.flow is absent or garbled;
#   only flow_amount is then undefined), so a rule built on them is silent without a
#   flow: it fires on a conjunction of facts the flow states, never on a fact it does
#   not state. The fields of one value may be missing: a rule compares them
#   (v.inside == false), so a missing field makes no finding.
#
#   They also build the parts of a reason an approver needs: which value (never free
#   text, SQL, a command line or a secret; an account masked), where it came from,
#   and what data the session holds.
package aarm

# has_flow: the service sent input.flow (an object).
has_flow if is_object(input.flow)

# flow_values: the analysed parameter values (input.flow.values), each an object;
# [] without a flow.
flow_values := [v | some v in input.flow.values; is_object(v)] if {
	is_array(input.flow.values)
} else := []

# flow_session: input.flow.session when it is an object, else {}.
flow_session := s if {
	s := input.flow.session
	is_object(s)
} else := {}

# flow_facts: the facts outcomes reported in this session (flow.session.facts), {} when none.
flow_facts := f if {
	f := flow_session.facts
	is_object(f)
} else := {}

# flow_unreadable: the destination parameters whose value could not be read as their
# kind (flow.unreadable, strings only), a set.
flow_unreadable := {p | some p in input.flow.unreadable; is_string(p)} if {
	is_array(input.flow.unreadable)
} else := set()

# flow_amount: this action's amount {"value": number, "currency": string or null}
# (flow.amount); undefined when the flow names no numeric amount.
flow_amount := {"value": a.value, "currency": object.get(a, "currency", null)} if {
	a := input.flow.amount
	is_object(a)
	is_number(a.value)
}

# folded(pointer): the compatibility form of the parameter string at a JSON pointer
# (input.flow.folded: NFKC, without control or format characters), when it differs from
# what was sent; undefined otherwise. Rules that compare names test both forms, so
# "prod\u200buction" or a fullwidth "ｐｒｏｄ" is still "prod".
folded(pointer) := f if {
	f := input.flow.folded[pointer]
	is_string(f)
}

# param_forms(name): the top-level parameter's value and, when it differs, its folded form.
param_forms(name) := {param(name)} | folded_forms(concat("", ["/", name]))

folded_forms(pointer) := {f} if {
	f := folded(pointer)
} else := set()

# payment_label: "a payment of 1200.5 EUR" (the flow's amount), else "a payment".
payment_label := concat("", ["a payment of ", sprintf("%v", [a.value]), currency_part(a.currency)]) if {
	a := flow_amount
} else := "a payment"

currency_part(c) := concat("", [" ", c]) if is_string(c)

else := ""

# read_only: the action only reads (its operations are known and all "read").
read_only if {
	count(operations) > 0
	every o in operations {
		o == "read"
	}
}

# memory_save: the catalogue marks the tool as writing the agent's long-term memory
# ("memory": "save"), or the service inferred it from the tool's name (flow.memory).
memory_save if catalog_entry.memory == "save"

memory_save if input.flow.memory == "save"

# blocking_facts: the facts that hold actions back while an outcome reports them,
# data.aarm.org.blocking_facts (an object) or the defaults below; each
# {"operations": [...], "effect": "DEFER" | "STEP_UP" | "DENY", "equals": value
# (default true), "approvers": [...] (STEP_UP)}. Read here, not in the environment
# pack: its keys are the organisation's, and a pack's documents are walked.
default blocking_facts := {
	"change_freeze": {"operations": ["write", "delete", "execute"], "effect": "DEFER"},
	"incident_active": {"operations": ["delete", "grant"], "effect": "DEFER"},
}

blocking_facts := b if {
	b := data.aarm.org.blocking_facts
	is_object(b)
}

# destinations: the values that say where data, money or access goes (destination true).
destinations := {v | some v in flow_values; v.destination == true}

# outside_destinations: the destinations the flow found outside the organisation
# (inside false: an outside domain, a shared or public channel, a guest, a published
# folder, an unregistered account or payee).
outside_destinations := {v | some v in destinations; v.inside == false}

# intent_actions: the kinds of action the session's intent asks for (flow.intent.actions:
# "delete", "send", "pay", "grant", "execute", "write", "credentials"); empty when the
# session has no intent or the flow says nothing.
intent_actions := {a | some a in input.flow.intent.actions; is_string(a)} if {
	is_array(input.flow.intent.actions)
} else := set()

# intended(category): the user's intent asks for this kind of action ("delete", ...).
intended(category) if category in intent_actions

# named_by_user(v): the value, or its host, was named in the session's intent.
named_by_user(v) if v.origin == "intent"

# correspondent(v): a destination the session already knows from the user or from
# trusted output (a CRM contact, a colleague's record), never one from untrusted content.
correspondent(v) if named_by_user(v)

correspondent(v) if v.origin == "trusted"

# personal(v): the value's host is a consumer mailbox or file host
# (data.aarm.org.personal_domains, default the big free-mail providers): a company's
# confidential data, or its payees' contacts, have no business there.
personal(v) if {
	host := lower(v.host)
	some d in personal_domains
	host_in(host, lower(d))
}

host_in(host, d) if host == d

host_in(host, d) if endswith(host, concat("", [".", d]))

default personal_domains := [
	"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
	"icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "web.de",
	"mail.com", "yandex.ru", "qq.com", "163.com", "zoho.com", "fastmail.com", "tutanota.com",
]

personal_domains := d if {
	d := data.aarm.org.personal_domains
	string_array(d)
}

# carries_sensitive(v): the value embeds entities (addresses, account numbers, ids) that
# the session first saw in CONFIDENTIAL or RESTRICTED output (flow values' embedded.sensitive).
carries_sensitive(v) if v.embedded.sensitive > 0

# carries_untrusted_outside(v): the value embeds outside or unregistered destinations
# (addresses, URLs, IBANs) that first appeared in untrusted content.
carries_untrusted_outside(v) if v.embedded.untrusted_outside > 0

# money_kinds: destination kinds that carry money, not data (judged by the payments pack).
money_kinds := {"account", "payee"}

# high_impact_operations: operations that act on the world beyond reading or writing
# the agent's own workspace.
high_impact_operations := {"send", "pay", "grant", "delete", "execute"}

# high_impact: the action can cause harm if an attacker steers it: one of the
# high_impact_operations, a save to long-term memory, or a destination outside the
# organisation. A read that sends nothing anywhere is never high impact.
high_impact if {
	some o in operations
	o in high_impact_operations
}

high_impact if memory_save

high_impact if count(outside_destinations) > 0

# destructive_values: the values the flow flagged destructive (an SQL statement or a
# command line that drops, truncates, deletes without WHERE, removes recursively,
# force-pushes, ...).
destructive_values := {v | some v in flow_values; "destructive" in v.flags}

# bulk_delete_parameters: for a delete, the (top-level) parameters that widen it to
# many items: one named recursive, recurse, all, delete_all, purge, everything or
# cascade that is true ("true", "yes", 1), or any string in it that is a wildcard
# ("*", "%", "all", or holding "*"). Empty for an action that does not delete.
bulk_names := {"recursive", "recurse", "all", "delete_all", "purge", "everything", "cascade"}

bulk_delete_parameters contains name if {
	"delete" in operations
	some name, x in params
	bulk_value(name, x)
}

bulk_value(name, x) if {
	lower(name) in bulk_names
	truthy(x)
}

# A wildcard counts only in a value that names what to delete (a path, a pattern, a
# list of ids), not in an SQL statement or free text ("select *" is no bulk delete).
bulk_value(name, x) if {
	not lower(name) in text_names
	walk(x, [_, s])
	is_string(s)
	wildcard(s)
}

text_names := {"sql", "query", "statement", "command", "cmd", "script", "body", "text", "message", "comment", "note", "description", "reason", "subject"}

truthy(true)

truthy(1)

truthy(x) if {
	is_string(x)
	lower(trim_space(x)) in {"true", "yes", "1"}
}

wildcard(s) if trim_space(lower(s)) in {"*", "%", "all"}

wildcard(s) if contains(s, "*")

# session_untrusted: the session has read untrusted content (flow.session.integrity).
session_untrusted if flow_session.integrity == "untrusted"

# recent_untrusted(n): the last untrusted content was read at most n actions ago
# (flow.session.last_untrusted.actions_ago).
recent_untrusted(n) if {
	ago := flow_session.last_untrusted.actions_ago
	is_number(ago)
	ago <= n
}

# recent_untrusted_actions: how many actions after untrusted content still count as
# "right after" it: data.aarm.config.recent_untrusted_actions (a whole number of at
# least 1), else 3.
default recent_untrusted_actions := 3

recent_untrusted_actions := n if {
	n := data.aarm.config.recent_untrusted_actions
	whole(n)
	n >= 1
}

# untrusted_source: the tool the session last read untrusted content from ("an unnamed
# source" when the flow does not say).
untrusted_source := t if {
	t := flow_session.last_untrusted.tool
	is_string(t)
} else := concat(", ", sort({t | some t in flow_session.untrusted_sources; is_string(t)})) if {
	is_array(flow_session.untrusted_sources)
} else := "an unnamed source"

# scanner_score: the injection score of the most suspicious content the session has
# read (flow.session.injection.score), null when none.
scanner_score := s if {
	s := flow_session.injection.score
	is_number(s)
} else := null

# scanner_copy: input.signals.injection_score is not the caller's but the service's
# copy of the scanner's score (made when the caller sent none): the service marks it
# (signals.injection_source == "scanner") and drops that mark from a caller's signals, so
# a caller's score never passes for a measured one, even when the two are equal.
scanner_copy if signal("injection_source") == "scanner"

# injection_score: the highest prompt-injection score known for this action: the
# session's content (scanner_score) or the caller's signal; 0 when neither is a number.
injection_score := max({s | some s in [scanner_score, signal("injection_score")]; is_number(s)} | {0})

# injection_deny_at / injection_step_up_at: the injection scores from which the
# threat packs deny / step up a high-impact action: data.aarm.config.injection
# {"deny_at": 0.8, "step_up_at": 0.5} (numbers between 0 and 1; else the defaults).
default injection_deny_at := 0.8

injection_deny_at := t if {
	t := data.aarm.config.injection.deny_at
	unit_number(t)
}

default injection_step_up_at := 0.5

injection_step_up_at := t if {
	t := data.aarm.config.injection.step_up_at
	unit_number(t)
}

unit_number(x) if {
	is_number(x)
	x >= 0
	x <= 1
}

# sensitive_session: the session holds CONFIDENTIAL or RESTRICTED data (what earlier
# outcomes reported; see session_classification).
sensitive_session if classification_rank[session_classification] >= classification_rank.CONFIDENTIAL

# lets_through: the tool is catalogued with a baseline that lets the call run
# (default_decision ALLOW or MODIFY). A rule that adds a STEP_UP, DEFER or MODIFY
# requires it: at the context priority such a finding would replace a stricter
# baseline (DENY, a catalogued STEP_UP with its approvers, a DEFER) or the default
# DENY of an unknown tool. DENY findings need no such guard.
lets_through if catalog_entry.default_decision in {"ALLOW", "MODIFY"}

# catalog_approvers(fallback): the tool's own approver groups (the catalogue entry's
# "approvers", a non-empty array of strings), else fallback.
catalog_approvers(fallback) := a if {
	a := catalog_entry.approvers
	string_array(a)
	count(a) > 0
} else := fallback

# glob_match(glob, s): s matches glob, where "*" stands for any run of characters
# (dots included) and "?" for one; everything else is literal.
#   glob_match("mail.*", "mail.x.y"), glob_match("release/*", "release/1.2")
glob_match(glob, s) if regex.match(glob_regex(glob), s)

glob_regex(glob) := concat("", ["^", concat("", [glob_char(c) | some c in split(glob, "")]), "$"])

glob_char("*") := ".*"

glob_char("?") := "."

glob_char(c) := concat("", [`\`, c]) if {
	not c in {"*", "?"}
	regex.match(`[.+()\[\]{}^$|\\]`, c)
} else := c if {
	not c in {"*", "?"}
}

# ---------------------------------------------------------------------------
# Building reasons.
# ---------------------------------------------------------------------------

# short(s): s cut to 80 characters ("..." added when cut).
short(s) := concat("", [substring(s, 0, 77), "..."]) if {
	count(s) > 80
} else := s

# mask_account(a): an account number as banks show it: its first four and last four
# characters ("DE89...3000"); shorter numbers keep only their last two.
mask_account(a) := concat("", [substring(n, 0, 4), "...", substring(n, count(n) - 4, 4)]) if {
	n := upper(replace(a, " ", ""))
	count(n) >= 8
} else := concat("", ["...", substring(n, count(n) - 2, 2)]) if {
	n := upper(replace(a, " ", ""))
	count(n) >= 2
} else := "..."

# shown_kinds: kinds whose value a reason may quote (an approver needs to see it).
shown_kinds := {"email", "principal", "channel", "payee", "host", "path"}

# kind_names: how a reason names a value it does not quote.
kind_names := {
	"url": "a URL", "account": "an account", "amount": "an amount", "currency": "a currency",
	"sql": "an SQL statement", "command": "a command line", "text": "free text",
}

# shown(v): what a reason says of the value v: the value itself for shown_kinds, the
# host of a URL, an account masked; a description (never the text) for anything else.
shown(v) := short(v.value) if {
	v.kind in shown_kinds
	is_string(v.value)
} else := concat("", ["host ", short(v.host)]) if {
	v.kind == "url"
	is_string(v.host)
} else := mask_account(v.value) if {
	v.kind == "account"
	is_string(v.value)
} else := kind_names[v.kind] if {
	is_string(v.kind)
} else := "a value"

# value_path(v): where the value sits ("attendees[1].email"), "?" when unknown.
value_path(v) := p if {
	p := v.path
	is_string(p)
} else := p if {
	p := v.param
	is_string(p)
} else := "?"

# value_label(v): "parameter to (mallory@evil.io)".
value_label(v) := concat("", ["parameter ", value_path(v), " (", shown(v), ")"])

# value_labels(vs): the labels of a set of values, sorted and joined with "; ".
value_labels(vs) := concat("; ", sort({value_label(v) | some v in vs}))

# source_tool(v): the tool whose output the value first appeared in, "" when unknown.
source_tool(v) := t if {
	t := v.source.tool
	is_string(t)
} else := ""

# origin_label(v): where the value came from, for a reason.
origin_label(v) := concat("", ["first seen in untrusted output of ", source_tool(v)]) if {
	v.origin == "untrusted"
	source_tool(v) != ""
} else := "first seen in untrusted content" if {
	v.origin == "untrusted"
} else := "named by the user" if {
	v.origin == "intent"
} else := concat("", ["seen in trusted output of ", source_tool(v)]) if {
	v.origin == "trusted"
	source_tool(v) != ""
} else := "seen nowhere before in this session" if {
	v.origin == "new"
} else := "of unknown origin"

# session_data_label: what data the session holds: "the session holds CONFIDENTIAL
# data (financial, pii)" (the labels from input.context.data_classes, when any).
session_data_label := concat("", ["the session holds ", session_classification, " data (", concat(", ", classes), ")"]) if {
	classes := sort({c | some c in input.context.data_classes; is_string(c)})
	count(classes) > 0
} else := concat("", ["the session holds ", session_classification, " data"])

# injection_label: the injection evidence: "content from mail.read scored 0.93 as a
# prompt injection (addressed_to_ai, override)".
injection_label := concat("", [
	"content ", injection_origin, "scored ", sprintf("%.2f", [injection_score]),
	" as a prompt injection", injection_features,
])

injection_origin := concat("", ["from ", t, " "]) if {
	injection_score == scanner_score
	t := flow_session.injection.tool
	is_string(t)
} else := "read in this session " if {
	injection_score == scanner_score
} else := "reported by the caller "

injection_features := concat("", [" (", concat(", ", fs), ")"]) if {
	injection_score == scanner_score
	fs := sort({f | some f in flow_session.injection.features; is_string(f)})
	count(fs) > 0
} else := ""
