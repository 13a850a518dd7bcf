# Session limits of the organisation (policy_id "catalog.limits.<name>", context
# priority 50, STEP_UP, risk HIGH), from data.aarm.org.limits (docs/detection.md
# section 2):
#
#   "limits": {"paid_per_session": {"USD": 20000}, "paid_per_hour": {"USD": 10000},
#              "external_sends_per_hour": 20, "records_read_before_export": 1000,
#              "approvers": ["finance"]}
#
#   - paid_per_session / paid_per_hour, per currency: a payment (an action whose
#     operations hold "pay") steps up when what the session has paid in that
#     currency (input.flow.session.totals.paid / paid_hour) plus this payment
#     (input.flow.amount) is above the limit. A payment whose currency is not known
#     counts against every currency's limit; a currency without a limit is not
#     limited. A payment whose amount cannot be read steps up too (fail closed).
#   - external_sends_per_hour: a send (operations hold "send") to a destination
#     outside the organisation (or one that could not be read) steps up when
#     totals.external_sends_hour + 1 is above the limit.
#   - records_read_before_export: such a send steps up when the session has read
#     more than the limit of records (totals.records_read).
#
#   The STEP_UP goes to limits.approvers, else ["security"]; the reason quotes the
#   limit and the total. A total that is missing counts as 0; one that cannot be
#   read steps up (fail closed), as does a payment whose amount cannot be read. The totals are the service's
#   (input.flow.session.totals): without input.flow (opa eval, unit tests) the
#   limits say nothing.
#
#   Fail closed: limits that are not an object, one of these limits that is not a
#   number of at least 0 (per currency for the paid limits), approvers that are not
#   an array of strings give a forbidden DENY (policy_id "catalog.limits", risk
#   HIGH) for every action: broken organisation data is a policy bug. (Other keys
#   of limits belong to the threat packs that read them, e.g. payments.)
package aarm.rules.catalog

import data.aarm

findings contains limit_finding("paid_per_session", reason) if {
	some currency, limit in org_limit("paid_per_session")
	reason := paid_reason("paid", currency, limit, "in this session", "per session")
}

findings contains limit_finding("paid_per_hour", reason) if {
	some currency, limit in org_limit("paid_per_hour")
	reason := paid_reason("paid_hour", currency, limit, "in the last hour", "per hour")
}

findings contains limit_finding("external_sends_per_hour", reason) if {
	limit := org_limit("external_sends_per_hour")
	external_send
	reason := sends_reason(limit)
}

findings contains limit_finding("records_read_before_export", reason) if {
	limit := org_limit("records_read_before_export")
	external_send
	reason := records_reason(limit)
}

findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog.limits",
	"priority": aarm.priority.context,
	"reason": concat("", ["the organisation's limits (data.aarm.org.limits) are malformed (", problem, "): denied"]),
	"risk": "HIGH",
} if {
	some problem in limit_problems
}

limit_finding(name, reason) := {
	"approvers": limit_approvers,
	"effect": "STEP_UP",
	"policy_id": concat("", ["catalog.limits.", name]),
	"priority": aarm.priority.context,
	"reason": reason,
	"risk": "HIGH",
}

default limit_approvers := ["security"]

limit_approvers := a if {
	a := data.aarm.org.limits.approvers
	aarm.string_array(a)
}

# org_limit(name): the organisation's limit `name`, when the limits are well formed.
org_limit(name) := data.aarm.org.limits[name] if {
	count(limit_problems) == 0
}

# count_total(name): a count of the session (0 when missing); undefined when it is
# not a number.
count_total(name) := t if {
	t := aarm.flow_session.totals[name]
	is_number(t)
} else := 0 if {
	not aarm.has_key(object.get(aarm.flow_session, "totals", {}), name)
}

unreadable_total(name, limit, per) := concat("", [
	"the session's total ", name, " cannot be read, so the limit of ", num(limit), per, " cannot be checked",
])

# --- sends ---------------------------------------------------------------------------

# external_send: this action sends to a destination outside the organisation, or to
# one that could not be read (the service sent input.flow).
external_send if {
	aarm.has_flow
	"send" in aarm.operations
	count(outside_items) > 0
}

sends_reason(limit) := concat("", [
	"external sends in the last hour would reach ", num(sends + 1), ", above the limit of ", num(limit),
	" per hour (", concat("; ", sort(outside_items)), ")",
]) if {
	sends := count_total("external_sends_hour")
	sends + 1 > limit
} else := unreadable_total("external_sends_hour", limit, " per hour") if {
	not count_total("external_sends_hour")
}

records_reason(limit) := concat("", [
	"the session has read ", num(records), " records, above the limit of ", num(limit),
	" before a send outside the organisation (", concat("; ", sort(outside_items)), ")",
]) if {
	records := count_total("records_read")
	records > limit
} else := unreadable_total("records_read", limit, " before a send outside the organisation") if {
	not count_total("records_read")
}

# --- payments ------------------------------------------------------------------------

# payment: this action pays (the service sent input.flow).
payment if {
	aarm.has_flow
	"pay" in aarm.operations
}

# paid_reason(key, currency, limit, when, per): the reason when this payment takes
# the total `key` in `currency` above `limit`; undefined when it does not.
paid_reason(key, currency, limit, when, per) := concat("", [
	"the amount of this payment cannot be read, so the limit of ", num(limit), " ", currency, " ", per,
	" cannot be checked",
]) if {
	payment
	not aarm.flow_amount
} else := concat("", [
	"payments ", when, " would reach ", num(paid), " ", currency, ", above the limit of ", num(limit), " ",
	currency, " ", per, " (paid so far ", num(so_far), ", this payment ", num(amount), ")",
]) if {
	payment
	counts_in(currency)
	amount := aarm.flow_amount.value
	so_far := paid_so_far(key, currency)
	paid := so_far + amount
	paid > limit
} else := unreadable_total(key, limit, concat("", [" ", currency, " ", per])) if {
	payment
	counts_in(currency)
	not paid_so_far(key, currency)
}

# counts_in(currency): this payment is in `currency`, or its currency is not known.
counts_in(currency) if upper(trim_space(aarm.flow_amount.currency)) == upper(currency)

counts_in(_) if not is_string(aarm.flow_amount.currency)

# paid_so_far(key, currency): what the session has paid in the currency (currency
# names compared case-insensitively); 0 when the total is missing, undefined when
# it cannot be read.
paid_so_far(key, currency) := 0 if {
	not aarm.has_key(object.get(aarm.flow_session, "totals", {}), key)
} else := sum(ns) if {
	by_currency := aarm.flow_session.totals[key]
	is_object(by_currency)
	ns := [n | some c, n in by_currency; upper(c) == upper(currency)]
	every n in ns {
		is_number(n)
	}
}

# --- malformed limits -----------------------------------------------------------

limit_problems contains "limits is not an object" if {
	not is_object(data.aarm.org.limits)
}

limit_problems contains concat("", [name, " is not an object of currency: number of at least 0"]) if {
	some name in ["paid_per_session", "paid_per_hour"]
	aarm.has_key(data.aarm.org.limits, name)
	not currency_limits(data.aarm.org.limits[name])
}

limit_problems contains concat("", [name, " is not a number of at least 0"]) if {
	some name in ["external_sends_per_hour", "records_read_before_export"]
	aarm.has_key(data.aarm.org.limits, name)
	not non_negative(data.aarm.org.limits[name])
}

limit_problems contains "approvers is not an array of strings" if {
	aarm.has_key(data.aarm.org.limits, "approvers")
	not aarm.string_array(data.aarm.org.limits.approvers)
}

currency_limits(x) if {
	is_object(x)
	every _, n in x {
		non_negative(n)
	}
}

non_negative(n) if {
	is_number(n)
	n >= 0
}
