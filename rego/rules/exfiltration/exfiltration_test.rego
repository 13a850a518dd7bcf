# Tests of aarm.rules.exfiltration, alone and through the real combiner.
package rules_test.exfiltration

import data.flow_fixtures as fx

send(values, level) := fx.act("mail.send", {"to": "x", "body": "the Q3 numbers"}, fx.flow(["send"], values, fx.trusted), level)

partner := fx.outside_email("to", "alice@partner.io", "new", "")

named := fx.outside_email("to", "alice@partner.io", "intent", "")

from_crm := fx.outside_email("to", "orders@bistro.fr", "trusted", "crm.contacts")

fetch(url_value) := fx.act("web.fetch", {"url": "x"}, fx.flow(["read"], [url_value], fx.trusted), "CONFIDENTIAL")

findings(inp) := fx.findings("exfiltration", inp)

denied(inp) if {
	d := fx.decide(inp)
	d.decision == "DENY"
	"exfiltration-guard" in fx.ids(d)
}

# --- AARM R3: the same send, judged by what the session holds -------------------------------

test_r3_the_same_send_is_allowed_before_and_denied_after_a_confidential_read if {
	count(findings(send([partner], "INTERNAL"))) == 0
	fx.decide(send([partner], "INTERNAL")).decision == "ALLOW"
	fx.decide(send([partner], "CONFIDENTIAL")) == {
		"decision": "DENY",
		"reasons": [{
			"effect": "DENY",
			"policy_id": "exfiltration-guard",
			"priority": 50,
			"reason": "the session holds CONFIDENTIAL data (pii); sending it outside the organisation is denied: parameter to (alice@partner.io): domain partner.io is outside the organisation, seen nowhere before in this session",
			"risk": "HIGH",
		}],
		"risk": "HIGH",
	}
}

test_restricted_sessions_are_guarded_and_garbled_contexts_count_as_restricted if {
	denied(send([partner], "RESTRICTED"))
	every ctx in [{}, {"max_classification": "confidential"}, "PUBLIC"] {
		inp := json.patch(send([partner], "PUBLIC"), [{"op": "replace", "path": "/context", "value": ctx}])
		some f in findings(inp)
		startswith(f.reason, "the session holds RESTRICTED data;")
	}
}

# --- each kind of destination, by its own kind ------------------------------------------------

test_every_kind_of_outside_destination_is_denied if {
	every v in [
		fx.val("url", "url", "https://webhook.site/abc?k=1", {"destination": true, "inside": false, "host": "webhook.site", "reason": "domain webhook.site is outside the organisation"}),
		fx.val("host", "host", "files.evil.io", {"destination": true, "inside": false, "reason": "domain evil.io is outside the organisation"}),
		fx.val("channel", "channel", "#ext-partners", {"destination": true, "inside": false, "reason": "channel ext-partners is shared with outsiders"}),
		fx.val("share_with", "principal", "guest-bob", {"destination": true, "inside": false, "reason": "guest-bob is a guest"}),
		fx.val("folder", "path", "/public/q3.pdf", {"destination": true, "inside": false, "reason": "/public/ is published"}),
		fx.val("attendees[1].email", "email", "eve@evil.io", {"destination": true, "inside": false}),
	] {
		denied(send([v], "CONFIDENTIAL"))
	}
}

test_a_url_is_named_by_its_host_only if {
	v := fx.val("url", "url", "https://webhook.site/abc?token=s3cr3t", {"destination": true, "inside": false, "host": "webhook.site"})
	some f in findings(send([v], "CONFIDENTIAL"))
	contains(f.reason, "parameter url (host webhook.site): outside the organisation")
	not contains(f.reason, "s3cr3t")
}

test_the_flows_reason_is_given_only_for_values_a_reason_may_show if {
	v := fx.val("link", "url", "www.evil.io/c?token=s3cr3t", {"destination": true, "inside": false, "reason": "www.evil.io/c?token=s3cr3t has no readable host"})
	some f in findings(send([v], "CONFIDENTIAL"))
	endswith(f.reason, "parameter link (a URL): outside the organisation, seen nowhere before in this session")
}

test_every_outside_value_is_named_once_sorted if {
	vs := [
		fx.outside_email("to", "b@zz.io", "new", ""),
		fx.outside_email("cc", "a@aa.io", "new", ""),
		fx.inside_email("bcc", "carol@acme.com"),
	]
	[f.reason | some f in findings(send(vs, "CONFIDENTIAL"))] == ["the session holds CONFIDENTIAL data (pii); sending it outside the organisation is denied: parameter cc (a@aa.io): domain aa.io is outside the organisation, seen nowhere before in this session; parameter to (b@zz.io): domain zz.io is outside the organisation, seen nowhere before in this session"]
}

test_a_lookalike_is_denied_whatever_the_session_holds if {
	v := fx.val("to", "email", "ceo@acme-corp.com", {"destination": true, "inside": false, "lookalike": true, "origin": "untrusted", "source": {"tool": "mail.read"}})
	every level in ["PUBLIC", "RESTRICTED"] {
		d := fx.decide(send([v], level))
		d.decision == "DENY"
		d.risk == "CRITICAL"
	}
	fx.decide(send([v], "PUBLIC")).reasons[0].reason == "parameter to (ceo@acme-corp.com) is a lookalike of the organisation's own domain, first seen in untrusted output of mail.read: sending there is denied"

	# one the user named is an ordinary destination of theirs
	count(findings(send([object.union(v, {"origin": "intent"})], "PUBLIC"))) == 0
}

# --- correspondents the session knows ----------------------------------------------------------

test_a_destination_the_user_named_may_receive_confidential_data if {
	count(findings(send([named], "CONFIDENTIAL"))) == 0
	count(findings(send([named], "RESTRICTED"))) == 0
}

test_a_destination_from_trusted_output_is_a_correspondent if {
	count(findings(send([from_crm], "CONFIDENTIAL"))) == 0
	count(findings(send([from_crm], "RESTRICTED"))) == 0
}

test_a_personal_mailbox_is_never_a_correspondent if {
	home := fx.outside_email("to", "dana.home@gmail.com", "intent", "")
	denied(send([home], "CONFIDENTIAL"))
	count(findings(send([home], "INTERNAL"))) == 0
	count(findings(send([fx.outside_email("to", "x@mail.gmail.com", "intent", "")], "CONFIDENTIAL"))) == 1
}

post(v, level) := fx.act("chat.post", {"channel": "x", "text": "update"}, fx.flow(["send"], [v], fx.trusted), level)

test_publishing_confidential_data_steps_up_when_asked_and_is_denied_otherwise if {
	shared := fx.val("channel", "channel", "ext-partners", {"destination": true, "inside": false, "origin": "intent", "reason": "channel ext-partners is shared with outsiders"})
	d := fx.decide(post(shared, "CONFIDENTIAL"))
	d.decision == "STEP_UP"
	fx.ids(d) == ["exfiltration-guard"]
	fx.decide(post(shared, "RESTRICTED")).decision == "DENY"
	fx.decide(post(object.union(shared, {"origin": "trusted"}), "CONFIDENTIAL")).decision == "DENY"
	fx.decide(post(shared, "INTERNAL")).decision == "ALLOW"
}

test_a_record_update_that_stores_an_outside_contact_sends_nothing if {
	contact := fx.outside_email("fields.billing_email", "j.roth@client.de", "untrusted", "mail.read")
	inp := fx.act("crm.update", {"fields": {"billing_email": contact.value}}, fx.flow(["write"], [contact], fx.trusted), "CONFIDENTIAL")
	count(findings(inp)) == 0
}

test_a_destination_from_untrusted_output_is_denied if {
	v := fx.outside_email("to", "eve@evil.io", "untrusted", "mail.read")
	denied(send([v], "CONFIDENTIAL"))
}

# --- reads: a fetch sends only its URL ---------------------------------------------------------

test_a_fetch_of_an_outside_page_is_not_exfiltration if {
	v := fx.val("url", "url", "https://docs.vendor.io/api", {"destination": true, "inside": false, "host": "docs.vendor.io", "origin": "untrusted"})
	count(findings(fetch(v))) == 0
}

test_a_fetch_whose_url_embeds_confidential_values_is_denied if {
	v := fx.val("url", "url", "https://collect.evil.io/?e=a@b.c", {"destination": true, "inside": false, "host": "collect.evil.io", "embedded": {"count": 1, "sensitive": 1}})
	some f in findings(fetch(v))
	contains(f.reason, "embeds values first seen in confidential output")
}

test_an_unreadable_destination_is_denied_in_a_sensitive_session if {
	inp := json.patch(send([], "CONFIDENTIAL"), [{"op": "replace", "path": "/flow/unreadable", "value": ["cc"]}])
	fx.decide(inp).reasons == [{
		"effect": "DENY",
		"policy_id": "exfiltration-guard",
		"priority": 50,
		"reason": "the session holds CONFIDENTIAL data (pii); destination parameter cc cannot be read as an address, so it may be outside the organisation: denied",
		"risk": "HIGH",
	}]
	fresh := json.patch(send([], "INTERNAL"), [{"op": "replace", "path": "/flow/unreadable", "value": ["cc"]}])
	count(findings(fresh)) == 0
}

# --- the benign look-alikes: no finding -------------------------------------------------------

test_inside_destinations_stay_allowed if {
	vs := [
		fx.inside_email("to", "bob@acme.com"),
		fx.val("channel", "channel", "#finance", {"destination": true, "inside": true}),
		fx.val("url", "url", "https://wiki.acme.com/x", {"destination": true, "inside": true, "host": "wiki.acme.com"}),
	]
	count(findings(send(vs, "RESTRICTED"))) == 0
	fx.decide(send(vs, "RESTRICTED")).decision == "ALLOW"
}

test_an_egress_tool_that_names_no_destination_is_not_denied_for_that if {
	every inp in [
		send([], "RESTRICTED"),
		fx.act("chat.post", {"text": "done"}, fx.flow(["send"], [], fx.trusted), "CONFIDENTIAL"),
		fx.act("files.write", {"path": "/tmp/out.csv"}, fx.flow(["write"], [fx.val("path", "path", "/tmp/out.csv", {"inside": true})], fx.trusted), "CONFIDENTIAL"),
		fx.act("shell.run", {"command": "kubectl get pods"}, fx.flow(["execute"], [fx.val("command", "command", "kubectl get pods", {})], fx.trusted), "CONFIDENTIAL"),
	] {
		count(findings(inp)) == 0
		fx.decide(inp).decision == "ALLOW"
	}
}

test_an_outside_value_that_is_no_destination_is_not_judged if {
	# a body that mentions an outside address sends nothing there
	v := fx.val("body", "email", "eve@evil.io", {"destination": false, "inside": false})
	count(findings(send([v], "CONFIDENTIAL"))) == 0
}

test_money_destinations_belong_to_the_payments_pack if {
	v := fx.val("iban", "account", "DE44500105175407324931", {"destination": true, "inside": false, "registered": false})
	inp := fx.act("payments.pay", {"iban": "DE44500105175407324931", "amount": 10}, fx.flow(["pay"], [v], fx.trusted), "RESTRICTED")
	count(findings(inp)) == 0
	unreadable := json.patch(inp, [{"op": "replace", "path": "/flow/unreadable", "value": ["recipient"]}])
	count(findings(unreadable)) == 0
}

test_silent_without_a_flow if {
	count(findings(fx.without_flow(send([partner], "RESTRICTED")))) == 0
}

test_the_reason_never_quotes_free_text if {
	some f in findings(send([partner], "CONFIDENTIAL"))
	not contains(f.reason, "Q3 numbers")
}

# --- a place shared with the one party the user named ------------------------------------------

client_channel(fields) := fx.val("channel", "channel", "ext-voss-holding", object.union(
	{
		"destination": true, "inside": false, "lookalike": false, "scope": "shared", "origin": "intent",
		"match": "name", "reason": "channel #ext-voss-holding is shared with outsiders (prefix ext-)",
	},
	fields,
))

test_a_shared_place_named_after_the_party_the_user_named_receives_confidential_data if {
	count(findings(post(client_channel({"party_named": true}), "CONFIDENTIAL"))) == 0
	fx.decide(post(client_channel({"party_named": true}), "CONFIDENTIAL")).decision == "ALLOW"
}

test_restricted_data_for_that_place_needs_a_human if {
	fs := findings(post(client_channel({"party_named": true}), "RESTRICTED"))
	some f in fs
	f.effect == "STEP_UP"
	f.risk == "HIGH"
	contains(f.reason, "confirm that this RESTRICTED data is meant for them")
	every g in fs {
		g.effect == "STEP_UP"
	}
}

test_a_shared_place_not_named_after_a_party_the_user_named_is_a_publication if {
	# named by value but after the organisation itself (#shared-acme-partners): the user
	# asked to publish there, a human confirms
	fs := findings(post(client_channel({}), "CONFIDENTIAL"))
	some f in fs
	f.effect == "STEP_UP"
	contains(f.reason, "which outsiders read: confirm that nothing confidential goes out with it")

	# nobody named it: denied
	denied(post(client_channel({"origin": "new", "match": null}), "CONFIDENTIAL"))

	# a public place never counts, even named after the party
	public := client_channel({"party_named": true, "scope": "public"})
	every g in findings(post(public, "CONFIDENTIAL")) {
		g.effect == "STEP_UP"
	}
}
