# METADATA
# title: Exfiltration guard
# description: |
#   A context-dependent rule (AARM R3: the same action is fine or not depending
#   on what the session has already done). Once the session has seen
#   CONFIDENTIAL or RESTRICTED data (aarm.session_classification), a tool that
#   sends data outside the organisation (catalogue entry "egress": true) may
#   only send to the organisation's own domains (data.aarm.egress.allowed_domains,
#   a subdomain of one counts as inside). Otherwise: DENY, policy_id
#   "exfiltration-guard", context priority 50, risk HIGH, the reason naming the
#   session classification.
#
#   Destinations are read from the action parameters:
#     - "to", "cc", "bcc": an e-mail address or an array of them; the domain is
#       what follows the "@", compared lower-case;
#     - "url": a URL; the destination is its host.
#
#   Fail closed, once the session has seen CONFIDENTIAL+ data:
#     - a destination field that is present but not a string or an array of
#       strings, or holds something that is not a single plain address / an
#       absolute URL with a plain host name ("Bob <b@x.io>", "a@x.io, b@y.io",
#       "b@[10.0.0.1]", "https://[::1]/", "https://evil.io\@example.com/",
#       "//host/x", "", null, ...) -> DENY: an address we cannot read may be
#       outside;
#     - an egress tool that names no destination at all -> DENY: we cannot tell
#       where the data goes;
#     - a catalogue entry whose "egress" is missing or not a boolean counts as
#       egress; a missing or garbled allowed_domains list means no domain is
#       inside; a garbled session classification counts as RESTRICTED (see
#       aarm.session_classification).
#   Unknown tools are left to the default posture (DENY).
package aarm.rules.exfiltration

import data.aarm

# egress: the tool is catalogued and its entry does not say "egress": false.
egress if {
	entry := aarm.catalog_entry
	not stays_inside(entry)
}

stays_inside(entry) if entry.egress == false

# sensitive: the session has already seen CONFIDENTIAL or RESTRICTED data.
sensitive if aarm.classification_rank[aarm.session_classification] >= aarm.classification_rank.CONFIDENTIAL

# allowed_domains: the organisation's domains, lower-case; empty when the list
# is missing or not an array (then every destination is outside).
default allowed_domains := set()

allowed_domains := {lower(trim_space(d)) |
	some d in data.aarm.egress.allowed_domains
	is_string(d)
	trim_space(d) != ""
} if {
	is_array(data.aarm.egress.allowed_domains)
}

# inside(domain): domain is one of the allowed domains or a subdomain of one.
inside(domain) if domain in allowed_domains

inside(domain) if {
	some a in allowed_domains
	endswith(domain, concat("", [".", a]))
}

# The destination fields and how each is read.
fields := {"to": "email", "cc": "email", "bcc": "email", "url": "url"}

# A host name: dot-separated labels of letters, digits and inner hyphens.
host_pattern := `[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*`

# One plain address: a local part without "@", blanks, separators, quotes or
# brackets, "@", a host name (an optional final dot is dropped).
email_pattern := concat("", [`^[^@\s,;<>"'()\[\]\\]+@(`, host_pattern, `)\.?$`])

# An absolute URL: scheme "://" [userinfo "@"] host [":" port] [path, query, fragment].
url_pattern := concat("", [
	`^[a-z][a-z0-9+.-]*://(?:[a-z0-9._~%!$&'()*+,;=:-]*@)?(`,
	host_pattern,
	`)\.?(?::[0-9]*)?(?:[/?#].*)?$`,
])

# destination(kind, value): the domain / host of one value, undefined when it
# cannot be read.
destination("email", v) := match_host(email_pattern, v)

destination("url", v) := match_host(url_pattern, v)

match_host(pattern, v) := m[0][1] if {
	is_string(v)
	m := regex.find_all_string_submatch_n(pattern, lower(trim_space(v)), 1)
	count(m) == 1
}

# values(x): the values of a destination field: a string is one, an array holds several.
values(x) := [x] if is_string(x)

values(x) := x if is_array(x)

# present: the destination fields the action has.
present contains field if {
	some field, _ in fields
	aarm.has_key(aarm.params, field)
}

# domains: every destination that could be read.
domains contains d if {
	some field in present
	some v in values(aarm.params[field])
	d := destination(fields[field], v)
}

# unreadable: the present fields holding anything that cannot be read.
unreadable contains field if {
	some field in present
	not readable(fields[field], aarm.params[field])
}

readable(kind, x) if {
	vs := values(x)
	every v in vs {
		destination(kind, v)
	}
}

outside := {d | some d in domains; not inside(d)}

deny(reason) := {
	"effect": "DENY",
	"policy_id": "exfiltration-guard",
	"priority": aarm.priority.context,
	"reason": concat("", ["session has seen ", aarm.session_classification, " data: ", reason]),
	"risk": "HIGH",
}

findings contains deny(concat("", [
	"sending to a destination outside the organisation (",
	concat(", ", sort(outside)),
	") is denied",
])) if {
	egress
	sensitive
	count(outside) > 0
}

# What a readable value of each kind of field looks like (for the reasons).
readable_as := {"email": "an e-mail address or a list of them", "url": "a URL with a plain host name or a list of them"}

findings contains deny(concat("", [
	"destination field ", field, " is not ", readable_as[fields[field]],
	", so it may be outside the organisation: denied",
])) if {
	egress
	sensitive
	some field in unreadable
}

findings contains deny(concat("", [
	"tool ", aarm.tool,
	" sends data outside the organisation and names no destination (to, cc, bcc, url): denied",
])) if {
	egress
	sensitive
	count(domains) == 0
	count(unreadable) == 0
}
