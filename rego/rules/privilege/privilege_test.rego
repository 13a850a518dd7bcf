# Tests of aarm.rules.privilege, alone and through the real combiner.
package rules_test.privilege

import data.flow_fixtures as fx

findings(inp) := fx.findings("privilege", inp)

grantee(value, fields) := fx.val("grantee", "principal", value, object.union({"destination": true, "origin": "intent"}, fields))

share(v, role) := fx.act("drive.share", {"grantee": v.value, "role": role}, fx.flow(["grant"], [v], fx.trusted), "INTERNAL")

test_a_grant_to_a_guest_steps_up_for_security if {
	d := fx.decide(share(grantee("guest-bob", {"inside": false, "reason": "guest-bob is a guest", "origin": "new"}), "reader"))
	d.decision == "STEP_UP"
	d.approvers == ["security"]
	d.reasons == [{
		"effect": "STEP_UP",
		"policy_id": "grant-outside",
		"priority": 50,
		"reason": "a grant of access to parameter grantee (guest-bob), guest-bob is a guest: confirm that this outsider should get access",
		"risk": "HIGH",
	}]
}

test_a_grant_the_user_asked_for_is_not_stepped_up if {
	# the user named the outsider, or asked to share with a client from trusted records
	count(findings(share(grantee("h.brandt@brandt.de", {"kind": "email", "inside": false}), "reader"))) == 0
	crm := grantee("h.brandt@brandt.de", {"kind": "email", "inside": false, "origin": "trusted"})
	asked := json.patch(share(crm, "reader"), [{"op": "add", "path": "/flow/intent", "value": {"present": true, "actions": ["grant"]}}])
	count(findings(asked)) == 0
	some f in findings(share(crm, "reader"))
	f.policy_id == "grant-outside"
}

test_a_grant_to_a_lookalike_is_denied if {
	d := fx.decide(share(grantee("cfo@acme-corp.com", {"kind": "email", "inside": false, "lookalike": true}), "reader"))
	d.decision == "DENY"
	d.reasons == [{
		"effect": "DENY",
		"policy_id": "grant-lookalike",
		"priority": 50,
		"reason": "a grant of access to parameter grantee (cfo@acme-corp.com), a lookalike of the organisation's own domain: denied",
		"risk": "CRITICAL",
	}]
}

test_a_privileged_role_steps_up if {
	every role in ["admin", " Owner ", ["reader", "superuser"]] {
		inp := share(grantee("bob@acme.com", {"inside": true}), role)
		some f in findings(inp)
		f.policy_id == "grant-privileged-role"
	}
	some f in findings(share(grantee("bob@acme.com", {"inside": true}), "admin"))
	f.reason == "drive.share grants the privileged role role=admin: confirm that this principal needs it"
}

test_privileged_roles_come_from_org_data if {
	inp := share(grantee("bob@acme.com", {"inside": true}), "billing-admin")
	fs := data.aarm.rules.privilege.findings with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.org.privileged_roles as ["*-admin"]
	count(fs) == 1
	count(findings(inp)) == 0
}

test_a_privileged_role_is_judged_without_a_flow if {
	some f in findings(fx.without_flow(share(grantee("bob@acme.com", {"inside": true}), "admin")))
	f.policy_id == "grant-privileged-role"
}

# --- the benign look-alikes -------------------------------------------------------------------

test_an_ordinary_grant_to_a_colleague_is_allowed if {
	inp := share(grantee("bob@acme.com", {"inside": true}), "reader")
	count(findings(inp)) == 0
	fx.decide(inp).decision == "ALLOW"
}

test_a_role_outside_a_grant_is_not_judged if {
	inp := fx.act("files.write", {"role": "admin"}, fx.flow(["write"], [], fx.trusted), "INTERNAL")
	count(findings(inp)) == 0
}

test_grants_from_untrusted_content_are_left_to_the_confused_deputy_pack if {
	inp := share(grantee("eve@evil.io", {"inside": false, "origin": "untrusted"}), "reader")
	count(findings(inp)) == 0
	fx.ids(fx.decide(inp)) == ["confused-deputy"]
}
